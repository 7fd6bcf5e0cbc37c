/** JobQueue manifests for the end-to-end scenarios: short timings, small snapshots. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export async function jobQueueYaml(dir: string, name: string, replicas: number, extra = ""): Promise<string> {
  const path = join(dir, `${name}-${replicas}.yaml`);
  await writeFile(
    path,
    [
      "apiVersion: raftq.io/v1alpha1",
      "kind: JobQueue",
      "metadata:",
      `  name: ${name}`,
      "spec:",
      `  replicas: ${replicas}`,
      "  snapshotThreshold: 300",
      "  livenessWindowMs: 3000",
      "  logLevel: warn",
      extra,
    ].join("\n"),
  );
  return path;
}

/** `raftq dev` and `raftq start` run in-process: they spawn real nodes, print where to look, and stop them. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runDev, runStart, runStatus } from "../../src/cli/commands/index.js";
import { isPortFree } from "../../src/cli/ports.js";
import { capture, parseTable, until } from "./capture.js";

const dirs: string[] = [];

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "raftq-dev-"));
  dirs.push(d);
  return d;
}

describe("raftq dev / start", () => {
  it("dev starts 3 nodes, prints endpoints and metrics URLs, and stops them on Ctrl-C", async () => {
    const dir = await tempDir();
    const c = capture();
    const done = runDev(["--data-dir", dir, "--base-port", "0", "--base-http-port", "0", "-o", "json"], c.io);
    await until(
      () => c.stdout().includes('"event":"ready"') || c.stderr().includes("error"),
      40_000,
      "dev ready",
    );
    const ready = JSON.parse(c.stdout().trim().split("\n")[0]!) as {
      endpoints: string[];
      nodes: { id: string; metricsUrl: string; grpcPort: number }[];
    };
    expect(ready.endpoints).toHaveLength(3);
    const metrics = await fetch(ready.nodes[0]!.metricsUrl).then((r) => r.text());
    expect(metrics).toMatch(/raftq_raft_term/);
    const s = capture({ RAFTQ_ENDPOINTS: ready.endpoints.join(",") });
    expect(await runStatus([], s.io)).toBe(0);
    expect(parseTable(s.stdout()).filter((r) => r[9] === "*")).toHaveLength(1);
    c.stop();
    expect(await done).toBe(0);
    for (const n of ready.nodes) expect(await isPortFree(n.grpcPort)).toBe(true);
  });

  it("start runs a cluster, a demo worker and demo jobs, and prints what to look at next", async () => {
    const dir = await tempDir();
    const c = capture();
    const done = runStart(
      ["--data-dir", dir, "--base-port", "0", "--base-http-port", "0", "--demo-jobs", "3"],
      c.io,
    );
    await until(() => (c.stdout().match(/\[demo-worker\] job/g) ?? []).length >= 3, 40_000, "demo jobs ran");
    const out = c.stdout();
    expect(out).toMatch(/submitted 3 demo jobs/);
    expect(out).toMatch(/Next:/);
    expect(out).toMatch(/metrics: http:\/\/127\.0\.0\.1:[0-9]+\/metrics/);
    c.stop();
    expect(await done).toBe(0);
    expect(c.stdout()).toMatch(/stopped/);
  });
});

import { afterAll, describe, expect, it } from "vitest";
import { jobSpec, ProcCluster, sleep } from "./harness.js";

/** Crash-fail-safe: a failed storage write makes the node exit non-zero at once. */
describe("storage failure", () => {
  let c: ProcCluster | undefined;
  afterAll(async () => {
    await c?.stopAll();
  });

  it("exits non-zero when a write fails", async () => {
    c = await ProcCluster.start({ size: 1, env: { RAFTQ_FAULT_STORAGE_FAIL_AFTER_WRITES: "30" } });
    const n = c.nodes[0]!;
    for (let i = 0; i < 200 && n.proc !== null; i++) {
      await c
        .call(n.id, "JobService", "SubmitJob", { job: jobSpec("q", `k${i}`) }, 2000)
        .catch(() => undefined);
    }
    for (let i = 0; i < 50 && n.exitCode === null; i++) await sleep(100);
    expect(n.exitCode).toBe(1);
    expect(n.stderr).toMatch(/fatal/i);
  });
});

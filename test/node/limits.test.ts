import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobSpec, ProcCluster } from "./harness.js";

/**
 * Bounded answers: the 257th concurrent pending proposal is refused with
 * RESOURCE_EXHAUSTED, and with quorum lost a submit answers
 * DEADLINE_EXCEEDED after about 5 s instead of hanging.
 */
describe("proposal limits", () => {
  let c: ProcCluster;
  beforeAll(async () => {
    // A long election timeout keeps the leader in office while its followers
    // are paused, so its proposals stay pending instead of failing over.
    c = await ProcCluster.start({
      size: 3,
      extraArgs: ["--election-timeout-min-ms", "15000", "--election-timeout-max-ms", "20000"],
    });
  });
  afterAll(async () => {
    for (const n of c?.nodes ?? []) n.proc?.kill("SIGCONT");
    await c?.stopAll();
  });

  it("refuses the 257th pending proposal, then times the pending ones out with DEADLINE_EXCEEDED", async () => {
    const leader = await c.waitForLeader(40_000);
    await c.call(leader, "JobService", "SubmitJob", { job: jobSpec("warm", "warm") });
    const followers = c.nodes.filter((n) => n.id !== leader);
    for (const f of followers) f.proc!.kill("SIGSTOP"); // quorum lost, leader unaware
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        c.call(leader, "JobService", "SubmitJob", { job: jobSpec("limits", `k${i}`) }, 20_000).then(
          () => ({ code: 0, ms: Date.now() - t0, reason: "" }),
          (e: grpc.ServiceError) => ({
            code: e.code,
            ms: Date.now() - t0,
            reason: String(e.metadata.get("raftq-reason")[0] ?? ""),
          }),
        ),
      ),
    );
    for (const f of followers) f.proc!.kill("SIGCONT");
    const exhausted = results.filter((r) => r.code === grpc.status.RESOURCE_EXHAUSTED);
    const timedOut = results.filter((r) => r.code === grpc.status.DEADLINE_EXCEEDED);
    expect(exhausted.length).toBe(300 - 256);
    expect(exhausted.every((r) => r.reason === "PROPOSAL_QUEUE_FULL")).toBe(true);
    // Refused at once, not after waiting.
    expect(Math.max(...exhausted.map((r) => r.ms))).toBeLessThan(3000);
    expect(timedOut.length).toBe(256);
    const ms = timedOut.map((r) => r.ms);
    expect(Math.min(...ms)).toBeGreaterThan(4500);
    expect(Math.max(...ms)).toBeLessThan(12_000);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobSpec, ProcCluster, sleep } from "./harness.js";

/** A follower that was down while more than 1000 entries committed catches up through InstallSnapshot. */
describe("snapshot catch-up", () => {
  let c: ProcCluster;
  beforeAll(async () => {
    c = await ProcCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("installs a snapshot on a follower that fell behind the compacted log", async () => {
    const leader = await c.waitForLeader();
    const lagger = c.nodes.find((n) => n.id !== leader)!.id;
    await c.kill(lagger);
    const ids: string[] = [];
    // 1,300 entries: one submit each, 32 in flight.
    for (let i = 0; i < 1300; i += 32) {
      const batch = await Promise.all(
        Array.from({ length: 32 }, (_, k) =>
          c.call<{ jobId: string }>(leader, "JobService", "SubmitJob", { job: jobSpec("snap", `s${i + k}`) }),
        ),
      );
      ids.push(...batch.map((b) => b.jobId));
    }
    // The leader snapshots in its turn (at most two 1 s turns away with three voters).
    let snapshots = 0;
    for (let i = 0; i < 60 && snapshots < 1; i++) {
      snapshots = (await c.metric(leader, "raftq_snapshots_total")) ?? 0;
      if (snapshots < 1) await sleep(100);
    }
    expect(snapshots).toBeGreaterThanOrEqual(1);
    await c.startNode(lagger);
    const leaderCommit = (await c.localStatus(leader)).commitIndex;
    let applied = 0;
    for (let i = 0; i < 200 && applied < leaderCommit; i++) {
      const st = await c.localStatus(lagger).catch(() => null);
      applied = st?.members.find((m) => m.id === lagger)?.appliedIndex ?? 0;
      if (applied < leaderCommit) await sleep(100);
    }
    expect(applied).toBeGreaterThanOrEqual(leaderCommit);
    await sleep(1100);
    expect(await c.metric(lagger, "raftq_snapshots_installed_total")).toBeGreaterThanOrEqual(1);
    // The lagging node now serves every job from its own state.
    for (const id of [ids[0]!, ids[700]!, ids[ids.length - 1]!]) {
      const job = await c.call<{ id: string }>(lagger, "JobService", "GetJob", { jobId: id });
      expect(job.id).toBe(id);
    }
  });
});

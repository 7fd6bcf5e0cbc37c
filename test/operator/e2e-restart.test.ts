/**
 * End to end with real processes: a rolling restart (the raftq.io/restartedAt
 * annotation, set with kubectl) under load restarts one member at a time,
 * followers first and the leader last after a leadership transfer, each after
 * the previous one is Ready and caught up; no job lost, quorum never lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { World } from "./e2e-harness.js";
import { jobQueueYaml } from "./e2e-manifests.js";

describe("operator end to end: rolling restart under load", () => {
  let w: World;
  beforeAll(async () => {
    w = await World.create("restart");
    await w.kubectl("apply", "-f", "deploy/10-crd.yaml");
    await w.startOperator();
    await w.kubectl("apply", "-f", await jobQueueYaml(w.dir, "jobs", 3));
    await w.until("3 voters", async () => (await w.members())?.voters.length === 3, 90_000);
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  }, 60_000);

  it("restarts every member once, the leader last, keeping quorum", async () => {
    w.startPolling();
    w.startLoad("r");
    await w.until("jobs acknowledged", () => w.acked.size >= 20);
    const t0 = Date.now();
    const uids = new Map(w.pods().map((p) => [p.metadata.name!, p.metadata.uid!]));
    await w.kubectl("annotate", "jobqueue", "jobs", `raftq.io/restartedAt=${new Date().toISOString()}`);
    await w.until(
      "every pod replaced and Ready, nothing left to do",
      async () => {
        const pods = w.pods();
        const st = w.jobQueue("jobs").status as
          { conditions?: { type: string; status: string }[] } | undefined;
        const progressing = st?.conditions?.find((c) => c.type === "Progressing")?.status;
        return (
          pods.length === 3 &&
          pods.every((p) => p.metadata.uid !== uids.get(p.metadata.name!) && !p.metadata.deletionTimestamp) &&
          progressing === "False" &&
          (await w.members())?.voters.length === 3
        );
      },
      150_000,
    );
    const took = Date.now() - t0;
    const steps = w.steps.filter((s) => s.at >= t0).map((s) => s.step);
    const deletes = steps.filter((s) => s.kind === "delete-pod");
    expect(deletes).toHaveLength(3);
    // The leader goes last, and only after leadership moved away from it.
    const transfer = steps.findIndex((s) => s.kind === "transfer-leadership");
    expect(transfer).toBeGreaterThanOrEqual(0);
    const from = (steps[transfer] as { from: string }).from;
    expect(steps.findIndex((s) => s.kind === "delete-pod" && s.name === from)).toBe(steps.length - 1);
    expect(steps.slice(0, transfer).filter((s) => s.kind === "delete-pod")).toHaveLength(2);
    await w.until("more jobs after the restart", () => w.acked.size >= 40);
    await w.stopTraffic();
    expect(await w.lostJobs()).toEqual([]);
    expect(w.leaderAnswers().length).toBeGreaterThan(10);
    expect(w.quorumLost(), w.timeline(t0)).toEqual([]);
    console.log(
      `restart: ${took} ms for 3 members; ${w.acked.size} jobs acknowledged, ${w.leaderAnswers().length} status answers from the leader, ${w.nonLeaderAnswers()} from a former leader ` +
        `(${w.samples.filter((s) => !s.ok).length} unanswered), ${w.submitFailures} retried submits`,
    );
  }, 180_000);
});

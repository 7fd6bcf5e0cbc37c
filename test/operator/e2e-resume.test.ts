/**
 * End to end with real processes: the operator is killed right after "member
 * added" (before the learner is promoted and the StatefulSet grows again) and
 * right after "member removed" (before the StatefulSet shrinks); a new replica
 * takes the Lease over once it expires and finishes the job without losing
 * quorum or jobs. Also 3 -> 1 goes one member at a time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepAction } from "../../operator/src/actions.js";
import { World } from "./e2e-harness.js";
import { jobQueueYaml } from "./e2e-manifests.js";

describe("operator end to end: killed mid-scale, restarted", () => {
  let w: World;
  beforeAll(async () => {
    w = await World.create("resume");
    await w.kubectl("apply", "-f", "deploy/10-crd.yaml");
    await w.startOperator();
    await w.kubectl("apply", "-f", await jobQueueYaml(w.dir, "jobs", 1));
    await w.until("1 voter", async () => (await w.members())?.voters.length === 1, 90_000);
    w.startPolling();
    w.startLoad("k");
    await w.until("jobs acknowledged", () => w.acked.size >= 10);
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  }, 60_000);

  async function killAfter(pred: (s: StepAction) => boolean, change: () => Promise<void>): Promise<void> {
    await w.operator!.stop();
    let killed = false;
    await w.startOperator((_key, step) => {
      if (!killed && pred(step)) {
        killed = true;
        void w.operator!.kill();
      }
    });
    await change();
    await w.until("the operator to be killed at the step", () => killed, 60_000);
    // A new replica; it must wait for the dead one's Lease to expire.
    await w.startOperator();
  }

  it("1 -> 3, killed after a member was added", async () => {
    const t0 = Date.now();
    await killAfter(
      (s) => s.kind === "add-learner",
      () =>
        w
          .kubectl("patch", "jobqueue", "jobs", "--type", "merge", "-p", '{"spec":{"replicas":3}}')
          .then(() => undefined),
    );
    await w.until("3 voters", async () => (await w.members())?.voters.length === 3, 120_000);
    const steps = w.steps
      .filter((s) => s.at >= t0)
      .map((s) => `${s.step.kind}:${"id" in s.step ? s.step.id : "to" in s.step ? s.step.to : ""}`);
    // The first replica added jobs-1 and died; the second promoted it and went on.
    expect(steps).toEqual([
      "scale-statefulset:2",
      "add-learner:jobs-1",
      "promote:jobs-1",
      "scale-statefulset:3",
      "add-learner:jobs-2",
      "promote:jobs-2",
    ]);
    console.log(`resume 1->3 with a kill: ${Date.now() - t0} ms`);
  }, 150_000);

  it("3 -> 1 one member at a time, killed after a member was removed", async () => {
    const t0 = Date.now();
    await killAfter(
      (s) => s.kind === "remove-member",
      () =>
        w
          .kubectl("patch", "jobqueue", "jobs", "--type", "merge", "-p", '{"spec":{"replicas":1}}')
          .then(() => undefined),
    );
    await w.until(
      "1 voter, 1 pod, 1 volume",
      async () => {
        const pvcs = w.api.store.list(w.api.store.resource("", "persistentvolumeclaims"), "default");
        return (await w.members())?.voters.length === 1 && w.pods().length === 1 && pvcs.length === 1;
      },
      120_000,
    );
    const steps = w.steps.filter((s) => s.at >= t0).map((s) => s.step);
    const removes = steps.filter((s) => s.kind === "remove-member").map((s) => (s as { id: string }).id);
    expect(removes).toEqual(["jobs-2", "jobs-1"]);
    const shrinks = steps.filter((s) => s.kind === "scale-statefulset").map((s) => (s as { to: number }).to);
    expect(shrinks).toEqual([2, 1]);
    // Each shrink comes after its member left.
    expect(steps.findIndex((s) => s.kind === "scale-statefulset" && s.to === 2)).toBeGreaterThan(
      steps.findIndex((s) => s.kind === "remove-member" && s.id === "jobs-2"),
    );
    const st = w.jobQueue("jobs").status as { bootstrapReplicas?: number; phase?: string };
    expect(st.bootstrapReplicas).toBe(1);
    await w.stopTraffic();
    expect(await w.lostJobs()).toEqual([]);
    expect(w.leaderAnswers().length).toBeGreaterThan(10);
    expect(w.quorumLost(), w.timeline(t0)).toEqual([]);
    console.log(
      `resume 3->1 with a kill: ${Date.now() - t0} ms; ${w.acked.size} jobs, ${w.leaderAnswers().length} leader status answers, ${w.nonLeaderAnswers()} from a former leader`,
    );
  }, 150_000);
});

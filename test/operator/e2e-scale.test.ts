/**
 * End to end with real processes: kubectl apply of a JobQueue gives a 3-node
 * cluster that serves jobs; scaled to 5 and back to 3 under load, one member
 * at a time, no acknowledged job lost, quorum never lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { World } from "./e2e-harness.js";
import { jobQueueYaml } from "./e2e-manifests.js";

describe("operator end to end: create, scale 3 -> 5 -> 3 under load", () => {
  let w: World;
  const timings: Record<string, number> = {};
  beforeAll(async () => {
    w = await World.create("scale");
    await w.kubectl("apply", "-f", "deploy/10-crd.yaml");
    await w.startOperator();
  }, 60_000);
  afterAll(async () => {
    console.log("scale scenario timings (ms):", JSON.stringify(timings));
    await w?.close();
  }, 60_000);

  it("kubectl apply of a JobQueue gives a 3-node cluster serving jobs", async () => {
    const t0 = Date.now();
    await w.kubectl("apply", "-f", await jobQueueYaml(w.dir, "jobs", 3));
    await w.until("3 voters", async () => (await w.members())?.voters.length === 3, 90_000);
    w.startPolling();
    w.startLoad("a");
    await w.until("jobs acknowledged", () => w.acked.size >= 20);
    await w.until("status Running with 3 ready", () => {
      const st = w.jobQueue("jobs").status as { phase?: string; readyReplicas?: number } | undefined;
      return st?.phase === "Running" && st.readyReplicas === 3;
    });
    timings["create"] = Date.now() - t0;
    const out = await w.kubectl("get", "jobqueue", "jobs", "-o", "jsonpath={.status.phase} {.status.leader}");
    expect(out).toMatch(/^Running jobs-[0-2]$/);
  }, 150_000);

  it("scales to 5 one member at a time, learners promoted once caught up", async () => {
    const t0 = Date.now();
    await w.kubectl("patch", "jobqueue", "jobs", "--type", "merge", "-p", '{"spec":{"replicas":5}}');
    await w.until("5 voters", async () => (await w.members())?.voters.length === 5, 120_000);
    timings["scaleUp"] = Date.now() - t0;
    const order = w.steps.filter((s) => s.at >= t0).map((s) => s.step);
    expect(order).toEqual([
      { kind: "scale-statefulset", from: 3, to: 4, bootstrapReplicas: 3 },
      { kind: "add-learner", id: "jobs-3" },
      { kind: "promote", id: "jobs-3" },
      { kind: "scale-statefulset", from: 4, to: 5, bootstrapReplicas: 3 },
      { kind: "add-learner", id: "jobs-4" },
      { kind: "promote", id: "jobs-4" },
    ]);
  }, 150_000);

  it("scales back to 3: leaves the configuration first, then the pod, then its volume", async () => {
    const t0 = Date.now();
    await w.kubectl("patch", "jobqueue", "jobs", "--type", "merge", "-p", '{"spec":{"replicas":3}}');
    await w.until(
      "3 voters and 3 pods",
      async () => {
        const m = await w.members();
        return m?.voters.length === 3 && w.pods().length === 3;
      },
      120_000,
    );
    await w.until("volumes of jobs-3 and jobs-4 deleted", () => {
      const pvcs = w.api.store.list(w.api.store.resource("", "persistentvolumeclaims"), "default");
      return pvcs.length === 3;
    });
    timings["scaleDown"] = Date.now() - t0;
    const order = w.steps.filter((s) => s.at >= t0).map((s) => s.step);
    const idx = (pred: (s: (typeof order)[number]) => boolean) => order.findIndex(pred);
    for (const id of ["jobs-4", "jobs-3"]) {
      const removed = idx((s) => s.kind === "remove-member" && s.id === id);
      const shrunk = idx((s) => s.kind === "scale-statefulset" && s.to === Number(id.slice(-1)));
      const pvc = idx((s) => s.kind === "delete-pvc" && s.name === `data-${id}`);
      expect(removed).toBeGreaterThanOrEqual(0);
      expect(shrunk).toBeGreaterThan(removed);
      expect(pvc).toBeGreaterThan(shrunk);
    }
    await w.stopTraffic();
    expect(await w.lostJobs()).toEqual([]);
    expect(w.leaderAnswers().length).toBeGreaterThan(10);
    expect(w.quorumLost(), w.timeline(t0)).toEqual([]);
    console.log(
      `scale: ${w.acked.size} jobs acknowledged, ${w.leaderAnswers().length} leader status answers (${w.nonLeaderAnswers()} from a former leader), ${w.submitFailures} retried submits`,
    );
  }, 150_000);
});

import { describe, expect, it } from "vitest";
import { findExpiredLeases, pickAssignments, WorkerLiveness } from "../../src/jobs/index.js";
import { Harness } from "./harness.js";

const allLive = () => true;

describe("pickAssignments", () => {
  it("picks highest priority first, FIFO within a priority, across queues", () => {
    const h = new Harness();
    h.register("w", ["a", "b"], 10);
    const low = h.submit({ queue: "a", priority: 1 });
    const high1 = h.submit({ queue: "b", priority: 9 });
    const mid = h.submit({ queue: "a", priority: 5 });
    const high2 = h.submit({ queue: "a", priority: 9 });
    const picked = pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: allLive, maxAssignments: 10 });
    expect(picked.map((p) => p.jobId)).toEqual([high1, high2, mid, low]);
  });

  it("only picks jobs whose run-at has passed (including due ones not promoted yet)", () => {
    const h = new Harness({ maxPromotionsPerApply: 0 });
    h.register("w", ["q"], 10);
    const soon = h.submit({ runAtMs: h.nowMs + 100, priority: 3 });
    const later = h.submit({ runAtMs: h.nowMs + 1000 });
    const now = h.submit();
    expect(
      pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: allLive, maxAssignments: 10 }).map(
        (p) => p.jobId,
      ),
    ).toEqual([now]);
    const picked = pickAssignments(h.state, {
      nowMs: h.nowMs + 100,
      isWorkerLive: allLive,
      maxAssignments: 10,
    });
    expect(picked.map((p) => p.jobId)).toEqual([soon, now]);
    expect(picked.map((p) => p.jobId)).not.toContain(later);
    // The picks apply cleanly.
    const result = h.apply({ kind: "AssignJobs", nowMs: h.nowMs + 100, assignments: picked });
    expect(result.items.every((i) => i.ok)).toBe(true);
  });

  it("sends each job to the least loaded live worker with room, spreading the batch", () => {
    const h = new Harness();
    h.register("big", ["q"], 4);
    h.register("small", ["q"], 2);
    h.register("dead", ["q"], 100);
    h.register("other", ["elsewhere"], 100);
    for (let i = 0; i < 10; i++) h.submit();
    const live = (id: string) => id !== "dead";
    const picked = pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: live, maxAssignments: 100 });
    // Capacity 4 + 2: six picks, loads kept even (big gets twice as many as small).
    expect(picked).toHaveLength(6);
    const perWorker = new Map<string, number>();
    for (const p of picked) perWorker.set(p.workerId, (perWorker.get(p.workerId) ?? 0) + 1);
    expect(Object.fromEntries(perWorker)).toEqual({ big: 4, small: 2 });
    // The first picks alternate: the batch spreads rather than filling one worker.
    expect(
      picked
        .slice(0, 2)
        .map((p) => p.workerId)
        .sort(),
    ).toEqual(["big", "small"]);
    const result = h.apply({ kind: "AssignJobs", nowMs: h.nowMs, assignments: picked });
    expect(result.items.every((i) => i.ok)).toBe(true);
    expect(pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: live, maxAssignments: 100 })).toEqual([]);
  });

  it("counts running jobs in the load, and handles workers shared between queues", () => {
    const h = new Harness();
    h.register("shared", ["a", "b"], 2);
    h.register("onlyB", ["b"], 2);
    h.assign(h.submit({ queue: "b" }), "onlyB");
    const a1 = h.submit({ queue: "a", priority: 5 });
    const b1 = h.submit({ queue: "b", priority: 4 });
    const b2 = h.submit({ queue: "b", priority: 3 });
    const b3 = h.submit({ queue: "b", priority: 2 });
    const picked = pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: allLive, maxAssignments: 10 });
    expect(picked).toEqual([
      { jobId: a1, workerId: "shared" },
      { jobId: b1, workerId: "onlyB" }, // shared 1/2 vs onlyB 1/2: tie broken by id... "onlyB" < "shared"
      { jobId: b2, workerId: "shared" },
    ]);
    expect(picked.map((p) => p.jobId)).not.toContain(b3);
  });

  it("respects maxAssignments and returns nothing without workers", () => {
    const h = new Harness();
    for (let i = 0; i < 5; i++) h.submit();
    expect(pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: allLive, maxAssignments: 3 })).toEqual(
      [],
    );
    h.register("w", ["q"], 10);
    expect(
      pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: allLive, maxAssignments: 3 }),
    ).toHaveLength(3);
    expect(pickAssignments(h.state, { nowMs: h.nowMs, isWorkerLive: allLive, maxAssignments: 0 })).toEqual(
      [],
    );
  });
});

describe("findExpiredLeases", () => {
  it("lists running jobs past their deadline, earliest first, bounded", () => {
    const h = new Harness();
    h.register("w", ["q"], 10);
    const a = h.submit({ leaseMs: 300 });
    const b = h.submit({ leaseMs: 100 });
    const c = h.submit({ leaseMs: 200 });
    const tokens = [a, b, c].map((id) => h.assign(id, "w"));
    expect(findExpiredLeases(h.state, h.nowMs + 99, 10)).toEqual([]);
    expect(findExpiredLeases(h.state, h.nowMs + 250, 10)).toEqual([
      { jobId: b, workerId: "w", token: tokens[1], leaseDeadlineMs: h.nowMs + 100 },
      { jobId: c, workerId: "w", token: tokens[2], leaseDeadlineMs: h.nowMs + 200 },
    ]);
    expect(findExpiredLeases(h.state, h.nowMs + 1000, 1).map((l) => l.jobId)).toEqual([b]);
  });
});

describe("WorkerLiveness", () => {
  it("declares a worker lost only when not heard within the window, and only on the leader", () => {
    const h = new Harness();
    h.register("w1");
    h.register("w2");
    const t0 = h.nowMs;
    const liveness = new WorkerLiveness(h.state, 3000);
    expect(liveness.lostWorkers(t0 + 10_000)).toEqual([]); // not leader
    liveness.onBecameLeader(t0 + 10_000);
    // A new leader gives every registered worker a full window.
    expect(liveness.lostWorkers(t0 + 13_000)).toEqual([]);
    liveness.heard("w1", t0 + 12_000);
    expect(liveness.lostWorkers(t0 + 13_001)).toEqual(["w2"]);
    expect(liveness.isLive("w1", t0 + 13_001)).toBe(true);
    expect(liveness.isLive("w2", t0 + 13_001)).toBe(false);
    expect(liveness.lostWorkers(t0 + 15_001)).toEqual(["w1", "w2"]);
    liveness.onLostLeadership();
    expect(liveness.lostWorkers(t0 + 20_000)).toEqual([]);
  });

  it("counts registration as being heard and ignores unregistered workers", () => {
    const h = new Harness();
    const liveness = new WorkerLiveness(h.state);
    liveness.onBecameLeader(0);
    liveness.heard("ghost", h.nowMs);
    expect(liveness.isLive("ghost", h.nowMs)).toBe(false);
    h.register("w1");
    expect(liveness.lostWorkers(h.nowMs + 3000)).toEqual([]);
    expect(liveness.lostWorkers(h.nowMs + 3001)).toEqual(["w1"]);
  });
});

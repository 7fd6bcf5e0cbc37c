import { describe, expect, it } from "vitest";
import {
  backoffMs,
  jitterFor,
  JobQueueState,
  nominalBackoffMs,
  type JobCommand,
} from "../../src/jobs/index.js";
import { bytes, expectRejected, Harness, spec_ } from "./harness.js";

describe("apply envelope", () => {
  it("refuses a log index that does not increase", () => {
    const state = new JobQueueState();
    state.apply(5, { kind: "ExpireFinished", nowMs: 1, maxItems: 1 });
    expect(() => state.apply(5, { kind: "ExpireFinished", nowMs: 1, maxItems: 1 })).toThrow(/log index 5/);
  });

  it("rejects a command with a bad nowMs, an unknown kind or a bad jitter seed, changing nothing", () => {
    const h = new Harness();
    const bad = [
      { kind: "SubmitJob", nowMs: -1, job: spec_() },
      { kind: "SubmitJob", nowMs: 1.5, job: spec_() },
      { kind: "Explode", nowMs: 1 },
      { kind: "RequeueJobs", nowMs: 1, jitterSeed: -3, reason: "lease_expired", jobs: [] },
    ] as unknown as JobCommand[];
    for (const cmd of bad) expectRejected(h.one(cmd), "INVALID_ARGUMENT", "INVALID_COMMAND");
    expect(h.state.stats().jobs).toBe(0);
  });

  it("rejects a batch above maxBatchItems as a whole", () => {
    const h = new Harness({ maxBatchItems: 2 });
    const result = h.apply({ kind: "SubmitJobBatch", nowMs: 1, jobs: [spec_(), spec_(), spec_()] });
    expect(result.items).toHaveLength(1);
    expect(expectRejected(result.items[0], "INVALID_ARGUMENT", "INVALID_COMMAND")).toMatch(
      /3 items; the limit is 2/,
    );
    expect(h.state.stats().jobs).toBe(0);
  });
});

describe("SubmitJob", () => {
  it("creates a pending job with sequential string ids and defaults from the limits", () => {
    const h = new Harness();
    expect(h.submit()).toBe("1");
    expect(h.submit({ priority: 5, maxAttempts: 3, leaseMs: 1000 })).toBe("2");
    const job = h.job("1");
    expect(job).toMatchObject({
      id: "1",
      queue: "q",
      type: "t",
      state: "pending",
      priority: 0,
      maxAttempts: 25,
      attempts: 0,
      workerId: null,
      token: 0,
      submittedAtMs: h.nowMs,
      leaseDeadlineMs: null,
      finishedAtMs: null,
    });
    expect(new TextDecoder().decode(job.payload)).toBe("payload");
    expect(h.job("2")).toMatchObject({ priority: 5, maxAttempts: 3, leaseMs: 1000 });
  });

  it("makes a job with a future run-at Scheduled, and one with a past run-at Pending", () => {
    const h = new Harness();
    const later = h.submit({ runAtMs: h.nowMs + 500 });
    const past = h.submit({ runAtMs: h.nowMs - 500 });
    expect(h.job(later).state).toBe("scheduled");
    expect(h.job(past).state).toBe("pending");
    expect(h.state.nextRunAtMs()).toBe(h.nowMs + 500);
  });

  it("promotes a delayed job when a later command's time reaches its run-at", () => {
    const h = new Harness();
    const id = h.submit({ runAtMs: h.nowMs + 500 });
    h.nowMs += 499;
    h.apply({ kind: "ExpireFinished", nowMs: h.nowMs, maxItems: 1 });
    expect(h.job(id).state).toBe("scheduled");
    h.nowMs += 1;
    h.apply({ kind: "ExpireFinished", nowMs: h.nowMs, maxItems: 1 });
    expect(h.job(id).state).toBe("pending");
  });

  it("promotes at most maxPromotionsPerApply delayed jobs per command", () => {
    const h = new Harness({ maxPromotionsPerApply: 2 });
    for (let i = 0; i < 5; i++) h.submit({ runAtMs: h.nowMs + 10 });
    h.nowMs += 10;
    h.apply({ kind: "ExpireFinished", nowMs: h.nowMs, maxItems: 1 });
    expect(h.state.stats().byState).toMatchObject({ pending: 2, scheduled: 3 });
  });

  it("rejects invalid submits with INVALID_ARGUMENT and a message naming the limit", () => {
    const h = new Harness();
    const cases: [Partial<Parameters<typeof spec_>[0]>, RegExp][] = [
      [{ payload: new Uint8Array(2_000_000) }, /payload is 2000000 bytes; the limit is 1048576/],
      [{ queue: "" }, /queue must not be empty/],
      [{ queue: "x".repeat(129) }, /queue is 129 characters; the limit is 128/],
      [{ type: "a\nb" }, /type must not contain control characters/],
      [{ priority: 1.5 }, /priority must be an integer/],
      [{ priority: 2_000_000 }, /priority is 2000000; it must be between -1000000 and 1000000/],
      [{ maxAttempts: 0 }, /maxAttempts is 0/],
      [{ leaseMs: 5 }, /leaseMs is 5/],
      [
        { backoffInitialMs: 100, backoffMaxMs: 50 },
        /backoffMaxMs \(50\) must not be below backoffInitialMs \(100\)/,
      ],
      [{ backoffMultiplier: 0.5 }, /backoffMultiplier is 0.5/],
      [{ runAtMs: h.nowMs + 400 * 24 * 3600_000 }, /in the future; the limit is/],
      [{ idempotencyKey: "" }, /idempotencyKey must not be empty/],
    ];
    for (const [spec, message] of cases) {
      const outcome = h.one({ kind: "SubmitJob", nowMs: h.nowMs, job: spec_(spec) });
      expect(expectRejected(outcome, "INVALID_ARGUMENT", "INVALID_COMMAND")).toMatch(message);
    }
    expect(h.state.stats().jobs).toBe(0);
  });

  it("returns the original id for a repeated idempotency key within the window, and creates nothing", () => {
    const h = new Harness({ idempotencyRetentionMs: 1000 });
    const first = h.submit({ idempotencyKey: "k1" });
    const again = h.one({ kind: "SubmitJob", nowMs: h.nowMs + 999, job: spec_({ idempotencyKey: "k1" }) });
    expect(again).toEqual({ ok: true, jobId: first, duplicate: true });
    expect(h.state.stats().jobs).toBe(1);
    // Past the window the key is free again.
    h.nowMs += 1000;
    const fresh = h.submit({ idempotencyKey: "k1" });
    expect(fresh).not.toBe(first);
    expect(h.state.stats().idempotencyKeys).toBe(1);
  });

  it("deduplicates within one batch", () => {
    const h = new Harness();
    const result = h.apply({
      kind: "SubmitJobBatch",
      nowMs: 1,
      jobs: [spec_({ idempotencyKey: "a" }), spec_({ idempotencyKey: "a" }), spec_({ queue: "" })],
    });
    expect(result.items[0]).toEqual({ ok: true, jobId: "1" });
    expect(result.items[1]).toEqual({ ok: true, jobId: "1", duplicate: true });
    expectRejected(result.items[2], "INVALID_ARGUMENT", "INVALID_COMMAND");
  });

  it("enforces the bounds on jobs, queues, payload bytes and idempotency keys", () => {
    const h = new Harness({ maxJobs: 2, maxQueues: 1, maxTotalPayloadBytes: 20, maxIdempotencyKeys: 1 });
    h.submit({ idempotencyKey: "a" });
    const submit = (spec: Parameters<typeof spec_>[0]) =>
      h.one({ kind: "SubmitJob", nowMs: 1, job: spec_(spec) });
    expectRejected(submit({ idempotencyKey: "b" }), "RESOURCE_EXHAUSTED", "TOO_MANY_IDEMPOTENCY_KEYS");
    expectRejected(submit({ queue: "other" }), "RESOURCE_EXHAUSTED", "TOO_MANY_QUEUES");
    expectRejected(submit({ payload: new Uint8Array(14) }), "RESOURCE_EXHAUSTED", "TOO_MUCH_PAYLOAD");
    h.submit();
    expect(expectRejected(submit({}), "RESOURCE_EXHAUSTED", "TOO_MANY_JOBS")).toMatch(
      /2 jobs; the limit is 2/,
    );
  });
});

describe("AssignJobs", () => {
  it("starts an attempt: Running, a fresh token, the lease deadline and an assigned event", () => {
    const h = new Harness();
    const id = h.submit({ leaseMs: 5000 });
    h.register("w1");
    const result = h.apply({
      kind: "AssignJobs",
      nowMs: h.nowMs,
      assignments: [{ jobId: id, workerId: "w1" }],
    });
    expect(result.items).toEqual([{ ok: true, jobId: id }]);
    expect(result.events).toEqual([
      { type: "assigned", jobId: id, workerId: "w1", token: 1, attempt: 1, leaseDeadlineMs: h.nowMs + 5000 },
    ]);
    expect(h.job(id)).toMatchObject({ state: "running", workerId: "w1", token: 1, attempts: 1 });
    expect(h.state.runningJobsOfWorker("w1").map((j) => j.id)).toEqual([id]);
    expect(h.state.workers()[0]).toMatchObject({ id: "w1", running: 1, concurrency: 1 });
  });

  it("skips stale assignments with a reason each, and applies the valid ones of the batch", () => {
    const h = new Harness();
    const a = h.submit();
    const b = h.submit();
    const c = h.submit({ queue: "other" });
    const later = h.submit({ runAtMs: h.nowMs + 100 });
    h.register("w1", ["q"], 1);
    h.register("w2", ["q", "other"], 5);
    const result = h.apply({
      kind: "AssignJobs",
      nowMs: h.nowMs,
      assignments: [
        { jobId: a, workerId: "w1" },
        { jobId: a, workerId: "w2" }, // already running
        { jobId: b, workerId: "w1" }, // w1 full now
        { jobId: c, workerId: "w1" }, // w1 does not serve "other"
        { jobId: b, workerId: "ghost" },
        { jobId: "999", workerId: "w2" },
        { jobId: later, workerId: "w2" },
        { jobId: b, workerId: "w2" },
      ],
    });
    const items = result.items;
    expect(items[0]!.ok).toBe(true);
    expectRejected(items[1], "FAILED_PRECONDITION", "JOB_NOT_PENDING");
    expectRejected(items[2], "RESOURCE_EXHAUSTED", "WORKER_FULL");
    expectRejected(items[3], "FAILED_PRECONDITION", "WORKER_NOT_SERVING_QUEUE");
    expectRejected(items[4], "NOT_FOUND", "WORKER_NOT_FOUND");
    expectRejected(items[5], "NOT_FOUND", "JOB_NOT_FOUND");
    expectRejected(items[6], "FAILED_PRECONDITION", "JOB_NOT_DUE");
    expect(items[7]!.ok).toBe(true);
    expect(result.events.map((e) => e.type)).toEqual(["assigned", "assigned"]);
  });

  it("assigns a delayed job that is due but not yet promoted", () => {
    const h = new Harness({ maxPromotionsPerApply: 0 });
    const id = h.submit({ runAtMs: h.nowMs + 100 });
    h.register("w1");
    h.nowMs += 100;
    expect(h.assign(id, "w1")).toBe(1);
  });

  it("rejects an assignment to a job that was cancelled meanwhile", () => {
    const h = new Harness();
    const id = h.submit();
    h.register("w1");
    h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: id, reason: "" });
    const out = h.one({ kind: "AssignJobs", nowMs: h.nowMs, assignments: [{ jobId: id, workerId: "w1" }] });
    expect(expectRejected(out, "FAILED_PRECONDITION", "JOB_NOT_PENDING")).toMatch(/cancelled/);
  });
});

describe("RegisterWorker and DeregisterWorker", () => {
  it("registers, and re-registers with new queues and concurrency", () => {
    const h = new Harness();
    h.register("w1", ["a", "b"], 2);
    expect(h.state.workers()).toEqual([
      { id: "w1", queues: ["a", "b"], concurrency: 2, running: 0, registeredAtMs: h.nowMs },
    ]);
    const again = h.one({
      kind: "RegisterWorker",
      nowMs: h.nowMs + 5,
      workerId: "w1",
      queues: ["c"],
      concurrency: 3,
    });
    expect(again).toEqual({ ok: true, duplicate: true });
    expect(h.state.workers()[0]).toMatchObject({ queues: ["c"], concurrency: 3 });
    // Queues nothing refers to any more are forgotten.
    expect(h.state.countsByStateAndQueue().map((q) => q.queue)).toEqual(["c"]);
  });

  it("refuses to lower concurrency below the running jobs", () => {
    const h = new Harness();
    h.register("w1", ["q"], 2);
    h.assign(h.submit(), "w1");
    h.assign(h.submit(), "w1");
    const out = h.one({
      kind: "RegisterWorker",
      nowMs: h.nowMs,
      workerId: "w1",
      queues: ["q"],
      concurrency: 1,
    });
    expectRejected(out, "FAILED_PRECONDITION", "CONCURRENCY_BELOW_RUNNING");
  });

  it("rejects invalid registrations and enforces the worker and queue limits", () => {
    const h = new Harness({ maxWorkers: 1, maxQueues: 2 });
    const reg = (workerId: string, queues: string[], concurrency: number) =>
      h.one({ kind: "RegisterWorker", nowMs: 1, workerId, queues, concurrency });
    expectRejected(reg("w", [], 1), "INVALID_ARGUMENT", "INVALID_COMMAND");
    expectRejected(reg("w", ["q"], 0), "INVALID_ARGUMENT", "INVALID_COMMAND");
    expect(expectRejected(reg("w", ["q", "q"], 1), "INVALID_ARGUMENT", "INVALID_COMMAND")).toMatch(
      /listed twice/,
    );
    expectRejected(reg("w", ["a", "b", "c"], 1), "RESOURCE_EXHAUSTED", "TOO_MANY_QUEUES");
    expect(reg("w", ["a"], 1).ok).toBe(true);
    expectRejected(reg("w2", ["a"], 1), "RESOURCE_EXHAUSTED", "TOO_MANY_WORKERS");
  });

  it("deregistering requeues the worker's running jobs with backoff; unknown workers are NOT_FOUND", () => {
    const h = new Harness();
    h.register("w1", ["q"], 2);
    const a = h.submit({ backoffInitialMs: 1000 });
    const b = h.submit({ maxAttempts: 1 });
    h.assign(a, "w1");
    h.assign(b, "w1");
    const result = h.apply({
      kind: "DeregisterWorker",
      nowMs: h.nowMs,
      jitterSeed: 1,
      workerId: "w1",
      reason: "lost",
    });
    expect(result.items).toEqual([{ ok: true }]);
    expect(result.events).toEqual([
      expect.objectContaining({ type: "requeued", jobId: a, workerId: "w1", cause: "lost", attempts: 1 }),
      { type: "finished", jobId: b, state: "failed", workerId: "w1" },
    ]);
    const jobA = h.job(a);
    expect(jobA.state).toBe("scheduled");
    expect(jobA.runAtMs - h.nowMs).toBeGreaterThanOrEqual(500);
    expect(jobA.runAtMs - h.nowMs).toBeLessThan(1000);
    expect(h.job(b)).toMatchObject({ state: "failed", lastError: "worker w1 was lost" });
    expect(h.state.workers()).toEqual([]);
    const again = h.one({
      kind: "DeregisterWorker",
      nowMs: h.nowMs,
      jitterSeed: 1,
      workerId: "w1",
      reason: "lost",
    });
    expectRejected(again, "NOT_FOUND", "WORKER_NOT_FOUND");
  });
});

describe("UpdateJobStatus", () => {
  const setup = () => {
    const h = new Harness();
    h.register("w1", ["q"], 1);
    h.register("w2", ["q"], 1);
    const id = h.submit({ maxAttempts: 2, backoffInitialMs: 0 });
    const token = h.assign(id, "w1");
    return { h, id, token };
  };

  it("completes a running job: result kept, slot freed, finished event", () => {
    const { h, id, token } = setup();
    const result = h.apply({
      kind: "UpdateJobStatus",
      nowMs: h.nowMs + 10,
      jitterSeed: 0,
      update: { jobId: id, workerId: "w1", token, outcome: "completed", result: bytes("42") },
    });
    expect(result.items).toEqual([{ ok: true, jobId: id }]);
    expect(result.events).toEqual([{ type: "finished", jobId: id, state: "completed", workerId: "w1" }]);
    const job = h.job(id);
    expect(job).toMatchObject({ state: "completed", finishedAtMs: h.nowMs + 10, workerId: "w1" });
    expect(new TextDecoder().decode(job.result!)).toBe("42");
    expect(h.state.runningJobsOfWorker("w1")).toEqual([]);
  });

  it("accepts a repeated report of the same outcome as a duplicate", () => {
    const { h, id, token } = setup();
    h.complete(id, "w1", token);
    expect(h.complete(id, "w1", token)).toEqual({ ok: true, jobId: id, duplicate: true });
    const failAfter = h.fail(id, "w1", token).items[0];
    expectRejected(failAfter, "FAILED_PRECONDITION", "JOB_FINISHED");
  });

  it("a retryable failure requeues with backoff; the last attempt's failure dead-letters", () => {
    const { h, id, token } = setup();
    const first = h.fail(id, "w1", token, true, "flaky");
    expect(first.events).toEqual([
      { type: "requeued", jobId: id, workerId: "w1", cause: "failed", attempts: 1, runAtMs: h.nowMs },
    ]);
    expect(h.job(id)).toMatchObject({ state: "pending", lastError: "flaky", workerId: null });
    const token2 = h.assign(id, "w2");
    const second = h.fail(id, "w2", token2, true, "flaky again");
    expect(second.events).toEqual([{ type: "finished", jobId: id, state: "failed", workerId: "w2" }]);
    expect(h.job(id)).toMatchObject({ state: "failed", attempts: 2, lastError: "flaky again" });
  });

  it("a non-retryable failure dead-letters at once", () => {
    const { h, id, token } = setup();
    h.fail(id, "w1", token, false, "bad input");
    expect(h.job(id)).toMatchObject({ state: "failed", attempts: 1 });
  });

  it("truncates long error messages to maxErrorChars", () => {
    const h = new Harness({ maxErrorChars: 10 });
    h.register("w1");
    const id = h.submit({ maxAttempts: 1 });
    h.fail(id, "w1", h.assign(id, "w1"), true, "x".repeat(100));
    expect(h.job(id).lastError).toBe("x".repeat(10));
  });

  it("rejects a stale token (requeued and assigned again since) without changing anything", () => {
    const { h, id, token } = setup();
    h.apply({
      kind: "RequeueJobs",
      nowMs: h.nowMs,
      jitterSeed: 0,
      reason: "worker_lost",
      jobs: [{ jobId: id, token }],
    });
    // Requeued but not yet reassigned: the old token is answered with JOB_NOT_RUNNING.
    expectRejected(h.complete(id, "w1", token), "FAILED_PRECONDITION", "JOB_NOT_RUNNING");
    const token2 = h.assign(id, "w2");
    const before = h.state.stateHash();
    const out = h.apply({
      kind: "UpdateJobStatus",
      nowMs: h.nowMs,
      jitterSeed: 0,
      update: { jobId: id, workerId: "w1", token, outcome: "completed", result: bytes("") },
    });
    expectRejected(out.items[0], "FAILED_PRECONDITION", "STALE_TOKEN");
    expect(out.events).toEqual([]);
    expect(h.job(id)).toMatchObject({ state: "running", workerId: "w2", token: token2 });
    // Only the log index moved.
    expect(before).not.toBe(h.state.stateHash());
    expect(h.state.stats().byState.running).toBe(1);
  });

  it("rejects the wrong worker, an unknown job, an oversized result and a cancelled job", () => {
    const { h, id, token } = setup();
    expectRejected(h.complete(id, "w2", token), "FAILED_PRECONDITION", "WRONG_WORKER");
    expectRejected(h.complete("12345", "w1", token), "NOT_FOUND", "JOB_NOT_FOUND");
    expectRejected(h.complete("abc", "w1", token), "NOT_FOUND", "JOB_NOT_FOUND");
    const big = h.complete(id, "w1", token, new Uint8Array(2 * 1024 * 1024));
    expect(expectRejected(big, "INVALID_ARGUMENT", "INVALID_COMMAND")).toMatch(/result is 2097152 bytes/);
    h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: id, reason: "user" });
    expect(expectRejected(h.complete(id, "w1", token), "FAILED_PRECONDITION", "JOB_FINISHED")).toMatch(
      /cancelled/,
    );
  });

  it("BatchUpdateJobStatus handles each update on its own", () => {
    const h = new Harness();
    h.register("w1", ["q"], 3);
    const ids = [h.submit(), h.submit()];
    const tokens = ids.map((id) => h.assign(id, "w1"));
    const result = h.apply({
      kind: "BatchUpdateJobStatus",
      nowMs: h.nowMs,
      jitterSeed: 3,
      updates: [
        { jobId: ids[0]!, workerId: "w1", token: tokens[0]!, outcome: "completed", result: bytes("a") },
        { jobId: ids[1]!, workerId: "w1", token: 999, outcome: "completed", result: bytes("b") },
        {
          jobId: ids[1]!,
          workerId: "w1",
          token: tokens[1]!,
          outcome: "failed",
          error: "e",
          retryable: false,
        },
      ],
    });
    expect(result.items.map((i) => i.ok)).toEqual([true, false, true]);
    expect(h.state.stats().byState).toMatchObject({ completed: 1, failed: 1, running: 0 });
  });
});

describe("CancelJob", () => {
  it("cancels pending and scheduled jobs, and a running one (telling its worker)", () => {
    const h = new Harness();
    h.register("w1");
    const pending = h.submit();
    const scheduled = h.submit({ runAtMs: h.nowMs + 1000 });
    const running = h.submit();
    h.assign(running, "w1");
    for (const id of [pending, scheduled]) {
      const result = h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: id, reason: "" });
      expect(result.events).toEqual([{ type: "finished", jobId: id, state: "cancelled", workerId: null }]);
    }
    const result = h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: running, reason: "no longer needed" });
    expect(result.events).toEqual([{ type: "finished", jobId: running, state: "cancelled", workerId: "w1" }]);
    expect(h.job(running)).toMatchObject({ state: "cancelled", lastError: "cancelled: no longer needed" });
    expect(h.state.workers()[0]!.running).toBe(0);
  });

  it("accepts a second cancel as a duplicate, refuses finished jobs and unknown ids", () => {
    const h = new Harness();
    h.register("w1");
    const id = h.submit();
    h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: id, reason: "" });
    expect(h.one({ kind: "CancelJob", nowMs: h.nowMs, jobId: id, reason: "" })).toEqual({
      ok: true,
      jobId: id,
      duplicate: true,
    });
    const done = h.submit();
    h.complete(done, "w1", h.assign(done, "w1"));
    expectRejected(
      h.one({ kind: "CancelJob", nowMs: 1, jobId: done, reason: "" }),
      "FAILED_PRECONDITION",
      "JOB_FINISHED",
    );
    expectRejected(
      h.one({ kind: "CancelJob", nowMs: 1, jobId: "77", reason: "" }),
      "NOT_FOUND",
      "JOB_NOT_FOUND",
    );
  });
});

describe("RequeueJobs", () => {
  it("requeues a job whose lease ran out, counting the attempt and applying the backoff", () => {
    const h = new Harness();
    h.register("w1");
    const id = h.submit({ leaseMs: 1000, backoffInitialMs: 200 });
    const token = h.assign(id, "w1");
    const early = h.one({
      kind: "RequeueJobs",
      nowMs: h.nowMs + 999,
      jitterSeed: 0,
      reason: "lease_expired",
      jobs: [{ jobId: id, token }],
    });
    expectRejected(early, "FAILED_PRECONDITION", "LEASE_NOT_EXPIRED");
    const nowMs = h.nowMs + 1000;
    const result = h.apply({
      kind: "RequeueJobs",
      nowMs,
      jitterSeed: 0,
      reason: "lease_expired",
      jobs: [{ jobId: id, token }],
    });
    expect(result.items).toEqual([{ ok: true, jobId: id }]);
    expect(result.events[0]).toMatchObject({ type: "requeued", cause: "lease_expired", attempts: 1 });
    const job = h.job(id);
    expect(job.state).toBe("scheduled");
    const options = {
      maxAttempts: 25,
      leaseMs: 1000,
      backoffInitialMs: 200,
      backoffMaxMs: 3600_000,
      backoffMultiplier: 2,
    };
    expect(job.runAtMs - nowMs).toBe(backoffMs(options, 1, jitterFor(0, Number(id))));
    expect(job.runAtMs - nowMs).toBeGreaterThanOrEqual(100);
    expect(job.runAtMs - nowMs).toBeLessThan(200);
    expect(job.lastError).toMatch(/timed out after 1000 ms on worker w1/);
  });

  it("skips stale tokens, jobs not running and unknown jobs", () => {
    const h = new Harness();
    h.register("w1");
    const id = h.submit();
    const token = h.assign(id, "w1");
    const pending = h.submit();
    const result = h.apply({
      kind: "RequeueJobs",
      nowMs: h.nowMs,
      jitterSeed: 0,
      reason: "worker_lost",
      jobs: [
        { jobId: id, token: token + 1 },
        { jobId: pending, token: 0 },
        { jobId: "404", token: 1 },
        { jobId: id, token },
      ],
    });
    expectRejected(result.items[0], "FAILED_PRECONDITION", "STALE_TOKEN");
    expectRejected(result.items[1], "FAILED_PRECONDITION", "JOB_NOT_RUNNING");
    expectRejected(result.items[2], "NOT_FOUND", "JOB_NOT_FOUND");
    expect(result.items[3]).toEqual({ ok: true, jobId: id });
  });
});

describe("RetryJob", () => {
  it("sends a failed job back to Pending with fresh attempts; other states are refused", () => {
    const h = new Harness();
    h.register("w1");
    const id = h.submit({ maxAttempts: 1 });
    h.fail(id, "w1", h.assign(id, "w1"), false);
    expect(h.one({ kind: "RetryJob", nowMs: h.nowMs, jobId: id })).toEqual({ ok: true, jobId: id });
    expect(h.job(id)).toMatchObject({ state: "pending", attempts: 0, finishedAtMs: null, workerId: null });
    expectRejected(
      h.one({ kind: "RetryJob", nowMs: h.nowMs, jobId: id }),
      "FAILED_PRECONDITION",
      "JOB_NOT_FAILED",
    );
    expectRejected(h.one({ kind: "RetryJob", nowMs: h.nowMs, jobId: "9" }), "NOT_FOUND", "JOB_NOT_FOUND");
  });
});

describe("ExpireFinished", () => {
  it("drops finished jobs past the retention, oldest first, at most maxItems, and expired keys", () => {
    const h = new Harness({ finishedRetentionMs: 1000, idempotencyRetentionMs: 500 });
    const ids = [h.submit({ idempotencyKey: "k" }), h.submit(), h.submit(), h.submit({ queue: "gone" })];
    for (const id of [ids[0]!, ids[1]!, ids[3]!])
      h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: id, reason: "" });
    const early = h.one({ kind: "ExpireFinished", nowMs: h.nowMs + 999, maxItems: 10 });
    expect(early).toEqual({ ok: true, expiredJobs: 0, expiredKeys: 1 });
    const first = h.one({ kind: "ExpireFinished", nowMs: h.nowMs + 1000, maxItems: 1 });
    expect(first).toEqual({ ok: true, expiredJobs: 1, expiredKeys: 0 });
    expect(h.state.getJob(ids[0]!)).toBeUndefined();
    h.one({ kind: "ExpireFinished", nowMs: h.nowMs + 1000, maxItems: 10 });
    expect(h.state.stats()).toMatchObject({ jobs: 1, idempotencyKeys: 0, queues: 1 });
    expect(h.job(ids[2]!).state).toBe("pending");
  });
});

describe("backoff", () => {
  const options = {
    maxAttempts: 25,
    leaseMs: 1000,
    backoffInitialMs: 100,
    backoffMaxMs: 1000,
    backoffMultiplier: 2,
  };
  it("grows exponentially up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => nominalBackoffMs(options, n))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });
  it("jitters between half and all of the nominal delay", () => {
    expect(backoffMs(options, 3, 0)).toBe(200);
    expect(backoffMs(options, 3, 0.999999)).toBe(399);
  });
});

describe("queries", () => {
  it("lists jobs by state and queue, in pages, with a bounded scan", () => {
    const h = new Harness({ maxListScan: 4 });
    for (let i = 0; i < 6; i++) h.submit({ queue: i % 2 === 0 ? "even" : "odd" });
    h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: "3", reason: "" });
    const all: string[] = [];
    let page = h.state.listJobs({ limit: 2 });
    for (;;) {
      all.push(...page.jobs.map((j) => j.id));
      if (page.nextPageToken === undefined) break;
      page = h.state.listJobs({ limit: 2, pageToken: page.nextPageToken });
    }
    expect(all).toEqual(["1", "2", "3", "4", "5", "6"]);
    const even: string[] = [];
    page = h.state.listJobs({ limit: 10, queue: "even", state: "pending" });
    even.push(...page.jobs.map((j) => j.id));
    expect(page.nextPageToken).toBe("5"); // the scan budget of 4 ran out
    page = h.state.listJobs({ limit: 10, queue: "even", state: "pending", pageToken: page.nextPageToken! });
    even.push(...page.jobs.map((j) => j.id));
    expect(even).toEqual(["1", "5"]);
    expect(page.nextPageToken).toBeUndefined();
  });

  it("counts by state and queue, and reports stats", () => {
    const h = new Harness();
    h.submit({ queue: "a" });
    h.submit({ queue: "a", runAtMs: h.nowMs + 10 });
    h.submit({ queue: "b", payload: new Uint8Array(10) });
    expect(h.state.countsByStateAndQueue()).toEqual([
      {
        queue: "a",
        workers: 0,
        counts: { pending: 1, scheduled: 1, running: 0, completed: 0, failed: 0, cancelled: 0 },
      },
      {
        queue: "b",
        workers: 0,
        counts: { pending: 1, scheduled: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
      },
    ]);
    expect(h.state.stats()).toMatchObject({
      jobs: 3,
      queues: 2,
      payloadBytes: 7 + 7 + 10,
      nextJobId: 4,
      lastAppliedIndex: 3,
    });
  });
});

/**
 * Property-based tests: random command sequences (mostly sensible, some stale
 * or invalid) must keep every invariant (checked in full after each command
 * by Harness.apply), and a replica fed the same log through the codec, and
 * restored from snapshots along the way, must stay identical.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeCommand,
  encodeCommand,
  findExpiredLeases,
  JobQueueState,
  pickAssignments,
  restore,
  serialize,
  type JobCommand,
  type SubmitJobSpec,
} from "../../src/jobs/index.js";
import { Harness } from "./harness.js";

const QUEUES = ["a", "b", "c", "d"];
const WORKERS = ["w0", "w1", "w2", "w3"];

const submitOp = fc.record({
  queue: fc.constantFrom(0, 0, 0, 1, 1, 2, 3),
  priority: fc.integer({ min: -2, max: 2 }),
  delayMs: fc.constantFrom(0, 0, 0, 30, 200),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  key: fc.option(fc.integer({ min: 0, max: 6 })),
  payloadBytes: fc.integer({ min: 0, max: 20 }),
  leaseMs: fc.constantFrom(100, 150, 300),
  backoffInitialMs: fc.constantFrom(0, 10, 50),
});

const op = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("submit" as const), spec: submitOp }), weight: 5 },
  {
    arbitrary: fc.record({ op: fc.constant("batch" as const), specs: fc.array(submitOp, { maxLength: 4 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("register" as const),
      worker: fc.integer({ min: 0, max: 3 }),
      queues: fc.subarray(QUEUES.slice(0, 3), { minLength: 1 }),
      concurrency: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("deregister" as const),
      worker: fc.integer({ min: 0, max: 3 }),
      lost: fc.boolean(),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("pick" as const),
      max: fc.integer({ min: 1, max: 6 }),
      deadWorker: fc.integer({ min: 0, max: 5 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("assignRaw" as const),
      job: fc.integer({ min: 1, max: 40 }),
      worker: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("report" as const),
      nth: fc.nat(10),
      outcome: fc.constantFrom("completed", "failed", "fatal"),
      tokenSkew: fc.constantFrom(0, 0, 0, 1, -1),
      wrongWorker: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant("cancel" as const), job: fc.integer({ min: 1, max: 40 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant("expireLeases" as const), max: fc.integer({ min: 1, max: 5 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("requeueRaw" as const),
      job: fc.integer({ min: 1, max: 40 }),
      token: fc.integer({ min: 0, max: 40 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant("retry" as const), job: fc.integer({ min: 1, max: 40 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant("expire" as const), max: fc.integer({ min: 0, max: 5 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 200 }) }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant("snapshot" as const) }), weight: 1 },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function toSpec(
  spec: Op & { op: "submit" } extends { spec: infer S } ? S : never,
  nowMs: number,
): SubmitJobSpec {
  return {
    queue: QUEUES[spec.queue]!,
    type: "t",
    payload: new Uint8Array(spec.payloadBytes).fill(spec.payloadBytes),
    priority: spec.priority,
    maxAttempts: spec.maxAttempts,
    leaseMs: spec.leaseMs,
    backoffInitialMs: spec.backoffInitialMs,
    ...(spec.delayMs > 0 ? { runAtMs: nowMs + spec.delayMs } : {}),
    ...(spec.key !== null ? { idempotencyKey: `key${spec.key}` } : {}),
  };
}

/** Turns an op into a command against the current state (null: nothing to do). */
function toCommand(state: JobQueueState, o: Op, nowMs: number, seed: number): JobCommand | null {
  switch (o.op) {
    case "submit":
      return { kind: "SubmitJob", nowMs, job: toSpec(o.spec, nowMs) };
    case "batch":
      return { kind: "SubmitJobBatch", nowMs, jobs: o.specs.map((s) => toSpec(s, nowMs)) };
    case "register":
      return {
        kind: "RegisterWorker",
        nowMs,
        workerId: WORKERS[o.worker]!,
        queues: o.queues,
        concurrency: o.concurrency,
      };
    case "deregister":
      return {
        kind: "DeregisterWorker",
        nowMs,
        jitterSeed: seed,
        workerId: WORKERS[o.worker]!,
        reason: o.lost ? "lost" : "shutdown",
      };
    case "pick": {
      const dead = WORKERS[o.deadWorker];
      const assignments = pickAssignments(state, {
        nowMs,
        isWorkerLive: (id) => id !== dead,
        maxAssignments: o.max,
      });
      return assignments.length === 0 ? null : { kind: "AssignJobs", nowMs, assignments };
    }
    case "assignRaw":
      return {
        kind: "AssignJobs",
        nowMs,
        assignments: [{ jobId: String(o.job), workerId: WORKERS[o.worker]! }],
      };
    case "report": {
      const running = state.listJobs({ state: "running", limit: 100 }).jobs;
      const job = running[o.nth % Math.max(1, running.length)];
      if (job === undefined) return null;
      const workerId = o.wrongWorker ? "w9" : job.workerId!;
      const base = { jobId: job.id, workerId, token: Math.max(1, job.token + o.tokenSkew) };
      const update =
        o.outcome === "completed"
          ? { ...base, outcome: "completed" as const, result: Uint8Array.of(1, 2, 3) }
          : { ...base, outcome: "failed" as const, error: "e", retryable: o.outcome === "failed" };
      return { kind: "UpdateJobStatus", nowMs, jitterSeed: seed, update };
    }
    case "cancel":
      return { kind: "CancelJob", nowMs, jobId: String(o.job), reason: "" };
    case "expireLeases": {
      const expired = findExpiredLeases(state, nowMs, o.max);
      if (expired.length === 0) return null;
      return { kind: "RequeueJobs", nowMs, jitterSeed: seed, reason: "lease_expired", jobs: expired };
    }
    case "requeueRaw": {
      // Sometimes a running job with its real token, too early for a lease expiry.
      const running = state.listJobs({ state: "running", limit: 50 }).jobs;
      const job = running[o.job % Math.max(1, running.length)];
      const item =
        job !== undefined && o.token % 2 === 0
          ? { jobId: job.id, token: job.token }
          : { jobId: String(o.job), token: o.token };
      const reason = o.token % 3 === 0 ? "lease_expired" : "worker_lost";
      return { kind: "RequeueJobs", nowMs, jitterSeed: seed, reason, jobs: [item] };
    }
    case "retry": {
      // Mostly a dead-lettered job, sometimes any id.
      const failed = state.listJobs({ state: "failed", limit: 50 }).jobs;
      const jobId = failed.length > 0 && o.job % 4 !== 0 ? failed[o.job % failed.length]!.id : String(o.job);
      return { kind: "RetryJob", nowMs, jobId };
    }
    case "expire":
      return { kind: "ExpireFinished", nowMs, maxItems: o.max };
    case "advance":
    case "snapshot":
      return null;
  }
}

/** Everything observable except the applied index. */
function observable(state: JobQueueState): unknown {
  const { lastAppliedIndex: _ignored, ...stats } = state.stats();
  return { jobs: state.listJobs({ limit: 1000 }), workers: state.workers(), stats };
}

const LIMITS = {
  maxJobs: 25,
  maxWorkers: 3,
  maxQueues: 3,
  maxIdempotencyKeys: 4,
  finishedRetentionMs: 300,
  idempotencyRetentionMs: 500,
  maxPromotionsPerApply: 2,
};

describe("random command sequences", () => {
  it("keep the invariants, and replicas (via codec and snapshots) stay identical", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 10, maxLength: 80, size: "max" }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (ops, seed) => {
          const h = new Harness(LIMITS);
          let replica = new JobQueueState(h.state.limits);
          let nowMs = 1000;
          let index = 0;
          for (const o of ops) {
            if (o.op === "advance") nowMs += o.ms;
            if (o.op === "snapshot") {
              const data = serialize(replica);
              replica = restore(data);
              expect(serialize(replica)).toEqual(data);
              continue;
            }
            const cmd = toCommand(h.state, o, nowMs, seed);
            if (cmd === null) continue;
            const nothingDue = (h.state.nextRunAtMs() ?? Infinity) > nowMs;
            const before = nothingDue ? observable(h.state) : undefined;
            const result = h.apply(cmd); // checks every invariant
            index++;
            const replicaResult = replica.apply(index, decodeCommand(encodeCommand(cmd)));
            expect(replicaResult).toEqual(result);
            // A command whose items were all rejected changes nothing.
            if (before !== undefined && result.items.every((item) => !item.ok)) {
              expect(observable(h.state)).toEqual(before);
              expect(result.events).toEqual([]);
            }
          }
          replica.checkInvariants();
          expect(replica.stateHash()).toBe(h.state.stateHash());
          const copy = restore(serialize(h.state));
          expect(copy.stateHash()).toBe(h.state.stateHash());
        },
      ),
      { numRuns: 100, endOnFailure: true },
    );
  });
});

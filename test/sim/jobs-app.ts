import {
  JobQueueState,
  makeLimits,
  pickAssignments,
  restore,
  serialize,
  type JobCommand,
} from "../../src/jobs/index.js";
import type { Entry } from "../../src/raft/index.js";
import type { SimApp } from "./app.js";
import { Prng } from "./prng.js";

const QUEUES = ["q0", "q1"];
/** Full state hash and invariant check at command indexes divisible by this. */
const FULL_CHECK_EVERY = 4;

/**
 * InstallSnapshot chunk sizes for runs with this app: its snapshots are
 * kilobytes (the hash chain's are 8 bytes), and at 3-byte chunks a follower
 * would need longer than the run to catch up.
 */
export const JOBS_SNAPSHOT_CHUNK_BYTES = [64, 512, 4096] as const;
const WORKERS = ["w0", "w1", "w2"];

/**
 * The job queue state machine as the simulator's application: every non-empty
 * entry becomes one job command, derived from the entry's bytes and index and
 * the state it is applied to (the same on every replica, or the hashes differ).
 * Job ids, tokens and workers are drawn with some misses, so stale tokens,
 * unknown jobs and full workers are rejected along the way, as they are when a
 * leader's decision commits after the state moved on. Time is the entry index,
 * so apply never reads a clock.
 */
export class JobsApp implements SimApp {
  private state = JobsApp.fresh();
  applied = 0;

  private static fresh(): JobQueueState {
    return new JobQueueState(makeLimits({ finishedRetentionMs: 500 }));
  }

  apply(entry: Entry): void {
    if (entry.data.byteLength === 0) return;
    const cmd = this.commandFor(entry);
    this.state.apply(entry.index, cmd);
    if (entry.index % FULL_CHECK_EVERY === 0) this.state.checkInvariants();
    this.applied++;
  }

  snapshot(): Uint8Array {
    return serialize(this.state);
  }

  restore(data: Uint8Array): void {
    this.state = data.byteLength === 0 ? JobsApp.fresh() : restore(data);
  }

  /**
   * The full state hash (a serialization) at every FULL_CHECK_EVERY-th command
   * index, else the index of the last command applied: every replica computes
   * the same function of the same log prefix, restored from a snapshot or not,
   * and a full hash per entry made a seed take seconds.
   */
  hash(): string {
    const last = this.state.stats().lastAppliedIndex;
    return last % FULL_CHECK_EVERY === 0 ? this.state.stateHash() : `@${last}`;
  }

  /** Jobs by state, for the test to see that the run exercised the queue. */
  counts(): Record<string, number> {
    return { ...this.state.stats().byState };
  }

  private commandFor(entry: Entry): JobCommand {
    let seed = entry.index;
    for (const b of entry.data) seed = Math.imul(seed ^ b, 0x01000193) >>> 0;
    const r = new Prng(seed);
    const nowMs = 1_000_000 + entry.index * 10;
    const jobId = String(r.int(1, Math.max(1, this.state.nextJobId + 1)));
    const roll = r.int(0, 99);
    if (roll < 35)
      return {
        kind: "SubmitJob",
        nowMs,
        job: {
          queue: r.pick(QUEUES),
          type: "sim",
          payload: entry.data,
          priority: r.int(0, 2),
          maxAttempts: r.int(1, 3),
          leaseMs: r.pick([50, 500, 5000]),
          ...(r.chance(0.3) ? { idempotencyKey: `k${r.int(0, 20)}` } : {}),
          ...(r.chance(0.1) ? { runAtMs: nowMs + r.int(0, 200) } : {}),
        },
      };
    if (roll < 42)
      return {
        kind: "RegisterWorker",
        nowMs,
        workerId: r.pick(WORKERS),
        queues: r.chance(0.5) ? QUEUES : [r.pick(QUEUES)],
        concurrency: r.int(1, 4),
      };
    if (roll < 60) {
      const picked = pickAssignments(this.state, { nowMs, isWorkerLive: () => true, maxAssignments: 4 });
      // Now and then one to a worker that may be gone or full: the command must skip it.
      const extra = r.chance(0.2) ? [{ jobId, workerId: r.pick(WORKERS) }] : [];
      return { kind: "AssignJobs", nowMs, assignments: [...picked, ...extra] };
    }
    if (roll < 80) {
      const job = this.state.getJob(jobId);
      const token = job !== undefined && r.chance(0.8) ? job.token : r.int(0, 5);
      const workerId = job?.workerId ?? r.pick(WORKERS);
      return {
        kind: "UpdateJobStatus",
        nowMs,
        jitterSeed: r.int(0, 1000),
        update: r.chance(0.7)
          ? { jobId, workerId, token, outcome: "completed", result: entry.data }
          : { jobId, workerId, token, outcome: "failed", error: "sim", retryable: r.chance(0.7) },
      };
    }
    if (roll < 85) return { kind: "CancelJob", nowMs, jobId, reason: "sim" };
    if (roll < 90) {
      const job = this.state.getJob(jobId);
      return {
        kind: "RequeueJobs",
        nowMs,
        jitterSeed: r.int(0, 1000),
        reason: r.chance(0.5) ? "lease_expired" : "worker_lost",
        jobs: [{ jobId, token: job?.token ?? 0 }],
      };
    }
    if (roll < 93) return { kind: "RetryJob", nowMs, jobId };
    if (roll < 96)
      return {
        kind: "DeregisterWorker",
        nowMs,
        jitterSeed: r.int(0, 1000),
        workerId: r.pick(WORKERS),
        reason: r.chance(0.5) ? "shutdown" : "lost",
      };
    return { kind: "ExpireFinished", nowMs, maxItems: r.int(1, 50) };
  }
}

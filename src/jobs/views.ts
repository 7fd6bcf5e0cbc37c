/**
 * Plain, read-only copies of the state handed out by queries: callers can keep
 * them, serialize them or compare them without touching the live records.
 */
import { formatJobId } from "./ids.js";
import { isFinished, JobState, jobStateName, type JobStateName } from "./job-state.js";
import type { JobRecord, WorkerRecord } from "./records.js";

export interface JobView {
  readonly id: string;
  readonly queue: string;
  readonly type: string;
  /** A view of the stored bytes: do not modify. */
  readonly payload: Uint8Array;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly leaseMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffMultiplier: number;
  /** When the job may (next) run; 0 = at once. */
  readonly runAtMs: number;
  readonly idempotencyKey: string | null;
  readonly submittedAtMs: number;
  readonly attempts: number;
  readonly state: JobStateName;
  /** Running: the worker running it; finished: the worker of the last attempt, if any. */
  readonly workerId: string | null;
  /** Token of the latest assignment (0 = never assigned). */
  readonly token: number;
  /** Running only: when the lease of the current attempt runs out. */
  readonly leaseDeadlineMs: number | null;
  readonly lastError: string | null;
  readonly result: Uint8Array | null;
  /** Finished only. */
  readonly finishedAtMs: number | null;
}

export interface WorkerView {
  readonly id: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly running: number;
  readonly registeredAtMs: number;
}

export function toJobView(job: JobRecord): JobView {
  const options = job.options;
  return {
    id: formatJobId(job.id),
    queue: job.queue.name,
    type: job.type,
    payload: job.payload(),
    priority: job.priority,
    maxAttempts: options.maxAttempts,
    leaseMs: options.leaseMs,
    backoffInitialMs: options.backoffInitialMs,
    backoffMaxMs: options.backoffMaxMs,
    backoffMultiplier: options.backoffMultiplier,
    runAtMs: job.runAtMs,
    idempotencyKey: job.idempotencyKey,
    submittedAtMs: job.submittedAtMs,
    attempts: job.attempts,
    state: jobStateName(job.state),
    workerId: job.workerId,
    token: job.token,
    leaseDeadlineMs: job.state === JobState.Running ? job.leaseDeadlineMs : null,
    lastError: job.lastError,
    result: job.result,
    finishedAtMs: isFinished(job.state) ? job.finishedAtMs : null,
  };
}

export function toWorkerView(worker: WorkerRecord): WorkerView {
  return {
    id: worker.id,
    queues: worker.queues.map((q) => q.name),
    concurrency: worker.concurrency,
    running: worker.running.size,
    registeredAtMs: worker.registeredAtMs,
  };
}

/**
 * The commands the Raft log carries. Applying one is a pure function of the
 * state and the command, so everything that depends on time or chance is a
 * field here, stamped by the leader when it proposes: `nowMs` (the leader's
 * clock at proposal), run-at times, and `jitterSeed` for retry backoff.
 * Lease deadlines follow from `nowMs` of the AssignJobs plus the job's lease.
 *
 * Job ids are strings (see ids.ts); tokens are positive integers.
 */

export interface SubmitJobSpec {
  readonly queue: string;
  readonly type: string;
  readonly payload: Uint8Array;
  /** Higher runs first; default 0. */
  readonly priority?: number;
  /** Attempts before the job is dead-lettered; default limits.defaultMaxAttempts. */
  readonly maxAttempts?: number;
  /** Per-attempt timeout; default limits.defaultLeaseMs. */
  readonly leaseMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly backoffMultiplier?: number;
  /** Do not run before this time (a delayed job); absent or <= nowMs = at once. */
  readonly runAtMs?: number;
  /** A resubmit with the same key within the retention window returns the first job's id. */
  readonly idempotencyKey?: string;
}

export interface SubmitJob {
  readonly kind: "SubmitJob";
  readonly nowMs: number;
  readonly job: SubmitJobSpec;
}

export interface SubmitJobBatch {
  readonly kind: "SubmitJobBatch";
  readonly nowMs: number;
  readonly jobs: readonly SubmitJobSpec[];
}

export interface Assignment {
  readonly jobId: string;
  readonly workerId: string;
}

/** Assignments picked by the leader's scheduler; each is re-validated when applied and skipped if stale. */
export interface AssignJobs {
  readonly kind: "AssignJobs";
  readonly nowMs: number;
  readonly assignments: readonly Assignment[];
}

/** Registers a worker, or updates the queues and concurrency of a registered one. */
export interface RegisterWorker {
  readonly kind: "RegisterWorker";
  readonly nowMs: number;
  readonly workerId: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
}

export type DeregisterReason = "shutdown" | "lost";

/** Removes a worker; its running jobs are requeued (the attempt counts, the backoff applies). */
export interface DeregisterWorker {
  readonly kind: "DeregisterWorker";
  readonly nowMs: number;
  readonly jitterSeed: number;
  readonly workerId: string;
  readonly reason: DeregisterReason;
}

export interface CompletedUpdate {
  readonly jobId: string;
  readonly workerId: string;
  readonly token: number;
  readonly outcome: "completed";
  readonly result: Uint8Array;
}

export interface FailedUpdate {
  readonly jobId: string;
  readonly workerId: string;
  readonly token: number;
  readonly outcome: "failed";
  readonly error: string;
  /** false = do not retry, dead-letter now. */
  readonly retryable: boolean;
}

export type JobStatusUpdate = CompletedUpdate | FailedUpdate;

export interface UpdateJobStatus {
  readonly kind: "UpdateJobStatus";
  readonly nowMs: number;
  readonly jitterSeed: number;
  readonly update: JobStatusUpdate;
}

export interface BatchUpdateJobStatus {
  readonly kind: "BatchUpdateJobStatus";
  readonly nowMs: number;
  readonly jitterSeed: number;
  readonly updates: readonly JobStatusUpdate[];
}

/** Cancels a pending, scheduled or running job. Cancelling a cancelled job is accepted and changes nothing. */
export interface CancelJob {
  readonly kind: "CancelJob";
  readonly nowMs: number;
  readonly jobId: string;
  readonly reason: string;
}

export type RequeueReason = "lease_expired" | "worker_lost";

export interface RequeueItem {
  readonly jobId: string;
  /** The assignment being given up; a job assigned again (or finished) since is skipped. */
  readonly token: number;
}

/** Takes running jobs back from their worker (lease ran out, or the worker is gone). */
export interface RequeueJobs {
  readonly kind: "RequeueJobs";
  readonly nowMs: number;
  readonly jitterSeed: number;
  readonly reason: RequeueReason;
  readonly jobs: readonly RequeueItem[];
}

/** Sends a dead-lettered (Failed) job back to Pending with a fresh set of attempts. */
export interface RetryJob {
  readonly kind: "RetryJob";
  readonly nowMs: number;
  readonly jobId: string;
}

/** Drops finished jobs older than the retention and forgets expired idempotency keys, at most maxItems of each. */
export interface ExpireFinished {
  readonly kind: "ExpireFinished";
  readonly nowMs: number;
  readonly maxItems: number;
}

export type JobCommand =
  | SubmitJob
  | SubmitJobBatch
  | AssignJobs
  | RegisterWorker
  | DeregisterWorker
  | UpdateJobStatus
  | BatchUpdateJobStatus
  | CancelJob
  | RequeueJobs
  | RetryJob
  | ExpireFinished;

export type JobCommandKind = JobCommand["kind"];

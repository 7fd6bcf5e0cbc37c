/**
 * What applying a command returns: one outcome per item of the command (a
 * batch has many), and the events the runtime turns into side effects
 * (pushing a job down a worker's stream, waking a client waiting for a result).
 */
import type { DeregisterReason, RequeueReason } from "./commands.js";

/** Mirrors the gRPC status the API returns. */
export type RejectionCode = "INVALID_ARGUMENT" | "NOT_FOUND" | "FAILED_PRECONDITION" | "RESOURCE_EXHAUSTED";

/** Finer, stable reason for programs (and tests) to branch on. */
export type RejectionReason =
  | "INVALID_COMMAND"
  | "JOB_NOT_FOUND"
  | "WORKER_NOT_FOUND"
  | "JOB_NOT_PENDING"
  | "JOB_NOT_DUE"
  | "JOB_NOT_RUNNING"
  | "JOB_NOT_FAILED"
  | "JOB_FINISHED"
  | "STALE_TOKEN"
  | "WRONG_WORKER"
  | "LEASE_NOT_EXPIRED"
  | "WORKER_NOT_SERVING_QUEUE"
  | "WORKER_FULL"
  | "CONCURRENCY_BELOW_RUNNING"
  | "TOO_MANY_JOBS"
  | "TOO_MUCH_PAYLOAD"
  | "TOO_MANY_QUEUES"
  | "TOO_MANY_WORKERS"
  | "TOO_MANY_IDEMPOTENCY_KEYS";

export interface Rejected {
  readonly ok: false;
  readonly code: RejectionCode;
  readonly reason: RejectionReason;
  readonly message: string;
}

export interface Accepted {
  readonly ok: true;
  /** The job the item concerns (for a submit: the new job, or the original one for a duplicate). */
  readonly jobId?: string;
  /** The item repeated something already done (idempotent submit, second cancel, duplicate report). */
  readonly duplicate?: boolean;
  /** ExpireFinished: jobs and idempotency keys dropped. */
  readonly expiredJobs?: number;
  readonly expiredKeys?: number;
}

export type ItemOutcome = Accepted | Rejected;

export type FinishedState = "completed" | "failed" | "cancelled";

export type RequeueCause = "failed" | RequeueReason | DeregisterReason;

export type JobEvent =
  | {
      readonly type: "assigned";
      readonly jobId: string;
      readonly workerId: string;
      readonly token: number;
      readonly attempt: number;
      readonly leaseDeadlineMs: number;
    }
  | {
      readonly type: "finished";
      readonly jobId: string;
      readonly state: FinishedState;
      /** The worker that was running it, if it was running (a cancel: tell it to stop). */
      readonly workerId: string | null;
    }
  | {
      readonly type: "requeued";
      readonly jobId: string;
      /** The worker that lost the job. */
      readonly workerId: string;
      readonly cause: RequeueCause;
      /** Attempts made so far. */
      readonly attempts: number;
      /** When the next attempt may start (after the backoff). */
      readonly runAtMs: number;
    };

export interface ApplyResult {
  readonly items: ItemOutcome[];
  readonly events: JobEvent[];
}

export const ACCEPTED: Accepted = Object.freeze({ ok: true });

export function rejected(code: RejectionCode, reason: RejectionReason, message: string): Rejected {
  return { ok: false, code, reason, message };
}

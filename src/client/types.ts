/** Public types of the SDK: jobs, members and cluster status as plain objects. */

export type JobState = "pending" | "scheduled" | "running" | "completed" | "failed" | "cancelled";
export const JOB_STATES: readonly JobState[] = [
  "pending",
  "scheduled",
  "running",
  "completed",
  "failed",
  "cancelled",
];

export type MemberRole = "leader" | "follower" | "candidate" | "learner" | "unknown";

/** A job to submit. Zero/absent fields take the cluster's defaults. */
export interface JobInput {
  /** Queue name: 1-128 characters of [A-Za-z0-9._:-]. */
  queue: string;
  /** Job type, for the worker's dispatch: 1-128 characters. */
  type: string;
  /** Opaque payload (a string is sent as UTF-8), at most 1 MiB by default. Default empty. */
  payload?: Uint8Array | string;
  /** Higher runs first; FIFO within a priority. Default 0. */
  priority?: number;
  /** Attempts before the job is dead-lettered. Default: the cluster's (25). */
  maxAttempts?: number;
  /** Per-attempt lease in ms. Default: the cluster's (5 min). */
  leaseMs?: number;
  /** Do not run before this time (a Date or ms since the epoch). Default: at once. */
  runAt?: Date | number;
  /**
   * Makes the submit idempotent: a retried submit with the same key returns the
   * same job. Default: a fresh `crypto.randomUUID()` per submit call, reused by
   * the SDK's own retries of that call.
   */
  idempotencyKey?: string;
  /** Retry backoff between failed attempts. Defaults: the cluster's (1 s, 1 h, x2). */
  backoff?: { initialMs?: number; maxMs?: number; multiplier?: number };
}

/** The answer to a submit. */
export interface SubmitResult {
  jobId: string;
  /** True when the idempotency key matched an earlier submit (jobId is that job). */
  duplicate: boolean;
  /** The key used (generated when the input had none). */
  idempotencyKey: string;
}

/** A job as the cluster stores it. Times are ms since the epoch; 0 = unset. */
export interface Job {
  id: string;
  queue: string;
  type: string;
  payload: Buffer;
  priority: number;
  maxAttempts: number;
  leaseMs: number;
  runAtMs: number;
  idempotencyKey: string;
  submittedAtMs: number;
  /** Attempts started so far. */
  attempts: number;
  state: JobState;
  /** Running: the worker holding it, and the assignment token. */
  workerId: string;
  token: number;
  leaseDeadlineMs: number;
  lastError: string;
  result: Buffer;
  finishedAtMs: number;
}

/** Filters of a job listing. */
export interface ListJobsFilter {
  /** Only jobs in this state. Default: any. */
  state?: JobState;
  /** Only jobs of this queue. Default: any. */
  queue?: string;
  /** Jobs per page, 1-1000. Default 100. */
  pageSize?: number;
  /**
   * Wait for a ReadIndex round before each page, so the listing reflects every write
   * acknowledged before the call, whichever node answers. Default false: the node's
   * applied state, which on a follower is usually within ~10 ms of the leader (longer while it catches up).
   */
  linearizable?: boolean;
}

export interface JobPage {
  jobs: Job[];
  /** Pass to the next call; empty when there is nothing more. */
  nextPageToken: string;
}

export interface Member {
  id: string;
  address: string;
  role: MemberRole;
  /** True for voters, false for learners. */
  voter: boolean;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  /** The leader's replication progress for it. */
  matchIndex: number;
  /** False when the leader had no reply from it within the liveness window (3 s). */
  isAlive: boolean;
  lastContactMs: number;
}

export interface QueueCounts {
  queue: string;
  pending: number;
  scheduled: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface ClusterStatus {
  clusterId: string;
  /** Empty when no leader is known. */
  leaderId: string;
  term: number;
  commitIndex: number;
  members: Member[];
  queues: QueueCounts[];
  liveWorkers: number;
  registeredWorkers: number;
  /** The node that answered. */
  answeredBy: string;
}

export interface MembershipChange {
  /** Raft index at which the change was committed. */
  index: number;
  members: Member[];
}

export interface TransferResult {
  leaderId: string;
  /** False when nothing was done (onlyIfLeader and the node did not lead). */
  transferred: boolean;
}

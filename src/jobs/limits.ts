/**
 * Bounds and defaults of the job state machine.
 *
 * The limits are part of the replicated configuration: every replica must
 * apply commands with the same limits, or they would accept and reject
 * different things. They travel inside snapshots for that reason.
 */
export interface JobLimits {
  /** Largest job payload accepted (bytes). */
  readonly maxPayloadBytes: number;
  /** Largest job result accepted (bytes). */
  readonly maxResultBytes: number;
  /** Longer error messages are truncated to this many characters when applied. */
  readonly maxErrorChars: number;
  /** Attempts a job gets when the submit does not say. */
  readonly defaultMaxAttempts: number;
  /** Upper bound on a job's max attempts. */
  readonly maxMaxAttempts: number;
  /** Per-attempt timeout (lease) when the submit does not say. */
  readonly defaultLeaseMs: number;
  readonly minLeaseMs: number;
  readonly maxLeaseMs: number;
  /** Backoff after the first failed attempt when the submit does not say. */
  readonly defaultBackoffInitialMs: number;
  /** Cap of the exponential backoff when the submit does not say. */
  readonly defaultBackoffMaxMs: number;
  readonly defaultBackoffMultiplier: number;
  /** Upper bound on any backoff setting. */
  readonly maxBackoffMs: number;
  readonly maxBackoffMultiplier: number;
  /** Jobs may be delayed at most this far beyond their submission. */
  readonly maxRunAtDelayMs: number;
  /** Priorities are integers in [-maxPriority, maxPriority]; higher runs first. */
  readonly maxPriority: number;
  /** Jobs held in the state, whatever their state (finished ones count until expired). */
  readonly maxJobs: number;
  /** Sum of the payload bytes of all jobs held. */
  readonly maxTotalPayloadBytes: number;
  /** Registered workers. */
  readonly maxWorkers: number;
  /** Distinct queue names known (with jobs or served by a worker). */
  readonly maxQueues: number;
  /** Queues one worker may serve. */
  readonly maxQueuesPerWorker: number;
  /** Largest concurrency a worker may declare. */
  readonly maxWorkerConcurrency: number;
  /** Idempotency keys remembered. */
  readonly maxIdempotencyKeys: number;
  /** How long an idempotency key is remembered after its submit. */
  readonly idempotencyRetentionMs: number;
  /** How long finished jobs (completed, failed, cancelled) are kept before ExpireFinished drops them. */
  readonly finishedRetentionMs: number;
  readonly maxQueueNameChars: number;
  readonly maxJobTypeChars: number;
  readonly maxIdempotencyKeyChars: number;
  readonly maxWorkerIdChars: number;
  /** Items in one batch command (submits, assignments, status updates, requeues, expiries). */
  readonly maxBatchItems: number;
  /** Delayed jobs moved to Pending per applied command, so one command never stalls the node. */
  readonly maxPromotionsPerApply: number;
  /** Page size bound of listJobs. */
  readonly maxListLimit: number;
  /** Job ids probed by one listJobs call before it returns a partial page. */
  readonly maxListScan: number;
}

const MiB = 1024 * 1024;
const SECOND_MS = 1000;
const HOUR_MS = 3600 * SECOND_MS;
const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_LIMITS: JobLimits = Object.freeze({
  maxPayloadBytes: MiB,
  maxResultBytes: MiB,
  maxErrorChars: 4096,
  defaultMaxAttempts: 25,
  maxMaxAttempts: 1000,
  defaultLeaseMs: 5 * 60 * SECOND_MS,
  minLeaseMs: 100,
  maxLeaseMs: DAY_MS,
  defaultBackoffInitialMs: SECOND_MS,
  defaultBackoffMaxMs: HOUR_MS,
  defaultBackoffMultiplier: 2,
  maxBackoffMs: 7 * DAY_MS,
  maxBackoffMultiplier: 10,
  maxRunAtDelayMs: 365 * DAY_MS,
  maxPriority: 1_000_000,
  maxJobs: 2_000_000,
  maxTotalPayloadBytes: 4 * 1024 * MiB,
  maxWorkers: 10_000,
  maxQueues: 10_000,
  maxQueuesPerWorker: 64,
  maxWorkerConcurrency: 10_000,
  maxIdempotencyKeys: 2_000_000,
  idempotencyRetentionMs: DAY_MS,
  finishedRetentionMs: DAY_MS,
  maxQueueNameChars: 128,
  maxJobTypeChars: 128,
  maxIdempotencyKeyChars: 256,
  maxWorkerIdChars: 128,
  maxBatchItems: 10_000,
  maxPromotionsPerApply: 10_000,
  maxListLimit: 1000,
  maxListScan: 100_000,
});

/** The limit names in a fixed order: the snapshot writes them in this order. */
export const LIMIT_NAMES: readonly (keyof JobLimits)[] = Object.freeze(
  Object.keys(DEFAULT_LIMITS) as (keyof JobLimits)[],
);

export function makeLimits(overrides: Partial<JobLimits> = {}): JobLimits {
  return Object.freeze({ ...DEFAULT_LIMITS, ...overrides });
}

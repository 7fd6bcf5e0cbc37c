/**
 * The mutable records the state machine keeps. They are internal: queries hand
 * out plain copies (see views.ts), never these objects.
 *
 * A JobRecord is kept small on purpose (a million pending jobs must fit in a
 * few hundred MB): the payload lives in a shared chunk (see payload-arena.ts),
 * the retry settings are one shared object for all jobs with the same ones,
 * and the queue is a reference to its record, not a string per job.
 */
import { JOB_STATE_COUNT, JobState } from "./job-state.js";
import { ReadyQueue } from "./ready-queue.js";

/** Retry and timeout settings of a job; jobs with equal settings share one object. */
export interface JobOptions {
  readonly maxAttempts: number;
  readonly leaseMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffMultiplier: number;
}

/**
 * V8 picks a representation for each object field from the first values it
 * sees: small integer, double or tagged. Our numeric fields start at 0 (a small
 * integer) and later hold times (doubles); that change would deprecate the
 * hidden class of every job created so far, each migrating on its next touch
 * (measured: it made assignments 3x slower). Storing a non-number first makes
 * these fields tagged from the start, which also keeps a 0 free of a box.
 */
const TAGGED = null as unknown as number;

export class JobRecord {
  readonly id: number = TAGGED;
  /** Position in the heap of its index (scheduled, lease or finished heap), -1 if none or pending. */
  heapIndex = -1;
  /** Sort key within that heap: runAtMs (scheduled), lease deadline (running), finishedAtMs (finished). */
  heapKey: number = TAGGED;
  /** Pending: neighbours in the ready queue's line for its priority. */
  prev: JobRecord | null = null;
  next: JobRecord | null = null;
  /** When the job last became pending (a state counter): FIFO order within a priority, across queues. */
  readySeq: number = TAGGED;
  state: JobState = JobState.Pending;
  /** Attempts started so far; attempt n is the n-th assignment. */
  attempts = 0;
  /** The worker of the current (running) or last finished attempt. */
  workerId: string | null = null;
  /** Token of the latest assignment; 0 before the first one. */
  token: number = TAGGED;
  leaseDeadlineMs: number = TAGGED;
  lastError: string | null = null;
  result: Uint8Array | null = null;
  finishedAtMs: number = TAGGED;
  /** When the job may run; 0 = at once. Retries move it forward by the backoff. */
  runAtMs: number = TAGGED;
  readonly submittedAtMs: number = TAGGED;

  constructor(
    id: number,
    readonly queue: QueueRecord,
    readonly type: string,
    readonly payloadChunk: Uint8Array,
    readonly payloadOffset: number,
    readonly payloadLength: number,
    readonly priority: number,
    readonly options: JobOptions,
    runAtMs: number,
    readonly idempotencyKey: string | null,
    submittedAtMs: number,
  ) {
    this.id = id;
    this.heapKey = 0;
    this.readySeq = 0;
    this.token = 0;
    this.leaseDeadlineMs = 0;
    this.finishedAtMs = 0;
    this.runAtMs = runAtMs;
    this.submittedAtMs = submittedAtMs;
  }

  payload(): Uint8Array {
    return this.payloadChunk.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }
}

export class QueueRecord {
  /** Pending jobs of this queue, highest priority first, then first come first served. */
  readonly ready = new ReadyQueue();
  /** Jobs of this queue by state. */
  readonly countsByState = new Array<number>(JOB_STATE_COUNT).fill(0);
  jobCount = 0;
  /** Registered workers serving this queue. */
  readonly workers = new Set<WorkerRecord>();

  constructor(readonly name: string) {}
}

export class WorkerRecord {
  /** Jobs running on this worker, in assignment order. */
  readonly running = new Set<JobRecord>();

  constructor(
    readonly id: string,
    public queues: readonly QueueRecord[],
    public concurrency: number,
    readonly registeredAtMs: number,
  ) {}

  hasRoom(): boolean {
    return this.running.size < this.concurrency;
  }
}

export interface IdempotencyEntry {
  readonly jobId: number;
  readonly expiresAtMs: number;
}

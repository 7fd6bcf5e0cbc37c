/**
 * The replicated job queue: what every node builds by applying the Raft log.
 *
 * Data and indexes:
 * - jobs by id, in id order (job-table.ts: sharded so that growing never rehashes them all);
 * - every job is in exactly one index, chosen by its state: its queue's ready
 *   queue (Pending, by priority then arrival), the scheduled heap (Scheduled, by
 *   run-at), the lease heap (Running, by lease deadline, plus its worker's
 *   running set) or the finished heap (Completed/Failed/Cancelled, by
 *   finished-at, for retention);
 * - counts by state, overall and per queue;
 * - idempotency keys, in submission order.
 *
 * `apply` is deterministic: same state + same command = same result on every
 * replica. It never reads a clock; `nowMs` comes in the command.
 */
import { applyCommand } from "./apply.js";
import { assert, fail, InvariantError } from "./assert.js";
import { backoffMs, jitterFor } from "./backoff.js";
import type { JobCommand, SubmitJobSpec } from "./commands.js";
import { formatJobId, parseJobId } from "./ids.js";
import { checkInvariants } from "./invariants.js";
import { KeyedHeap, type JobHeap } from "./job-heap.js";
import { JobTable } from "./job-table.js";
import { isFinished, JOB_STATE_COUNT, JOB_STATE_NAMES, JobState, type JobStateName } from "./job-state.js";
import { DEFAULT_LIMITS, type JobLimits } from "./limits.js";
import { PayloadArena, type PayloadSlot } from "./payload-arena.js";
import {
  type IdempotencyEntry,
  type JobOptions,
  JobRecord,
  QueueRecord,
  type WorkerRecord,
} from "./records.js";
import type { ApplyResult, JobEvent, RequeueCause } from "./results.js";
import { stateHash } from "./snapshot.js";
import { toJobView, toWorkerView, type JobView, type WorkerView } from "./views.js";

/** Distinct option sets and job type names shared between jobs; beyond this, jobs get their own copy. */
const MAX_INTERNED = 10_000;

export interface ListJobsQuery {
  readonly state?: JobStateName;
  readonly queue?: string;
  /** nextPageToken of the previous page. */
  readonly pageToken?: string;
  readonly limit: number;
}

export interface JobPage {
  readonly jobs: JobView[];
  /** Absent on the last page. A page may hold fewer than `limit` jobs and still have a next page. */
  readonly nextPageToken?: string;
}

export type StateCounts = Record<JobStateName, number>;

export interface QueueCounts {
  readonly queue: string;
  readonly counts: StateCounts;
  readonly workers: number;
}

export interface JobQueueStats {
  readonly lastAppliedIndex: number;
  readonly jobs: number;
  readonly byState: StateCounts;
  readonly workers: number;
  readonly queues: number;
  readonly idempotencyKeys: number;
  readonly payloadBytes: number;
  readonly resultBytes: number;
  readonly nextJobId: number;
  readonly nextToken: number;
}

export class JobQueueState {
  readonly limits: JobLimits;

  // Internal structures: read by the scheduler, snapshot and invariant checks in this folder.
  // Everything outside src/jobs uses the query methods.
  readonly jobs = new JobTable();
  readonly workerRecords = new Map<string, WorkerRecord>();
  readonly queueRecords = new Map<string, QueueRecord>();
  readonly scheduled: JobHeap = new KeyedHeap();
  readonly leases: JobHeap = new KeyedHeap();
  readonly finished: JobHeap = new KeyedHeap();
  readonly idempotencyKeys = new Map<string, IdempotencyEntry>();
  readonly countsByState = new Array<number>(JOB_STATE_COUNT).fill(0);
  readonly defaultOptions: JobOptions;
  nextJobId = 1;
  nextToken = 1;
  /** Stamps jobs as they become pending: FIFO order within a priority. */
  nextReadySeq = 1;
  lastAppliedIndex = 0;
  payloadBytes = 0;
  resultBytes = 0;
  /** Bumped by every apply: a snapshot being produced in chunks checks nothing changed under it. */
  version = 0;

  private readonly arena = new PayloadArena();
  private readonly internedOptions = new Map<string, JobOptions>();
  private readonly internedTypes = new Map<string, string>();

  constructor(limits: JobLimits = DEFAULT_LIMITS) {
    this.limits = limits;
    this.defaultOptions = Object.freeze({
      maxAttempts: limits.defaultMaxAttempts,
      leaseMs: limits.defaultLeaseMs,
      backoffInitialMs: limits.defaultBackoffInitialMs,
      backoffMaxMs: limits.defaultBackoffMaxMs,
      backoffMultiplier: limits.defaultBackoffMultiplier,
    });
  }

  /**
   * Applies the committed entry at `logIndex`. Indexes must increase (each entry
   * is applied once); a rejected command still counts as applied.
   */
  apply(logIndex: number, cmd: JobCommand): ApplyResult {
    assert(
      Number.isSafeInteger(logIndex) && logIndex > this.lastAppliedIndex,
      () => `log index ${logIndex} applied after ${this.lastAppliedIndex}`,
    );
    this.lastAppliedIndex = logIndex;
    this.version++;
    return applyCommand(this, cmd);
  }

  // ---- queries ----

  getJob(id: string): JobView | undefined {
    const job = this.findJob(id);
    return job && toJobView(job);
  }

  /**
   * Jobs in id (submission) order, filtered. Costs O(limit + limits.maxListScan)
   * whatever the number of jobs: after probing that many ids it returns what it
   * found with a token to continue.
   */
  listJobs(query: ListJobsQuery): JobPage {
    const limit = Math.max(1, Math.min(Math.floor(query.limit) || 1, this.limits.maxListLimit));
    const wantedState = query.state === undefined ? undefined : JOB_STATE_NAMES.indexOf(query.state);
    const wantedQueue = query.queue;
    const jobs: JobView[] = [];
    const matches = (job: JobRecord): boolean =>
      (wantedState === undefined || job.state === wantedState) &&
      (wantedQueue === undefined || job.queue.name === wantedQueue);
    let scanBudget = this.limits.maxListScan;
    if (query.pageToken === undefined) {
      // First page: walk the map, which skips ids already expired.
      for (const job of this.jobs.values()) {
        if (jobs.length === limit || scanBudget-- === 0) return { jobs, nextPageToken: formatJobId(job.id) };
        if (matches(job)) jobs.push(toJobView(job));
      }
      return { jobs };
    }
    // Later pages: probe ids upward from the token (ids are dense, O(1) per probe).
    let id = parseJobId(query.pageToken) ?? this.nextJobId;
    for (; id < this.nextJobId; id++) {
      if (jobs.length === limit || scanBudget-- === 0) return { jobs, nextPageToken: formatJobId(id) };
      const job = this.jobs.get(id);
      if (job !== undefined && matches(job)) jobs.push(toJobView(job));
    }
    return { jobs };
  }

  countsByStateAndQueue(): QueueCounts[] {
    const out: QueueCounts[] = [];
    for (const queue of this.queueRecords.values()) {
      out.push({ queue: queue.name, counts: namedCounts(queue.countsByState), workers: queue.workers.size });
    }
    return out;
  }

  workers(): WorkerView[] {
    return [...this.workerRecords.values()].map(toWorkerView);
  }

  hasWorker(workerId: string): boolean {
    return this.workerRecords.has(workerId);
  }

  /** Ids of the registered workers with their registration times (for liveness tracking). */
  *workerRegistrations(): Iterable<{ readonly workerId: string; readonly registeredAtMs: number }> {
    for (const worker of this.workerRecords.values()) {
      yield { workerId: worker.id, registeredAtMs: worker.registeredAtMs };
    }
  }

  /** Jobs running on a worker, in assignment order (to re-send them when it reconnects). */
  runningJobsOfWorker(workerId: string): JobView[] {
    const worker = this.workerRecords.get(workerId);
    return worker ? [...worker.running].map(toJobView) : [];
  }

  stats(): JobQueueStats {
    return {
      lastAppliedIndex: this.lastAppliedIndex,
      jobs: this.jobs.size,
      byState: namedCounts(this.countsByState),
      workers: this.workerRecords.size,
      queues: this.queueRecords.size,
      idempotencyKeys: this.idempotencyKeys.size,
      payloadBytes: this.payloadBytes,
      resultBytes: this.resultBytes,
      nextJobId: this.nextJobId,
      nextToken: this.nextToken,
    };
  }

  /** Earliest run-at of a delayed job, if any (the leader may want to wake up then). */
  nextRunAtMs(): number | undefined {
    return this.scheduled.peek()?.runAtMs;
  }

  // ---- building blocks for apply (internal) ----

  findJob(id: string): JobRecord | undefined {
    const numeric = parseJobId(id);
    return numeric === undefined ? undefined : this.jobs.get(numeric);
  }

  /** The queue record, created if `create` and the queue limit allows; undefined otherwise. */
  queueFor(name: string, create: boolean): QueueRecord | undefined {
    let queue = this.queueRecords.get(name);
    if (queue === undefined && create && this.queueRecords.size < this.limits.maxQueues) {
      queue = new QueueRecord(name);
      this.queueRecords.set(name, queue);
    }
    return queue;
  }

  /** Forgets a queue nothing refers to any more, so the queue table stays bounded. */
  releaseQueueIfUnused(queue: QueueRecord): void {
    if (queue.jobCount === 0 && queue.workers.size === 0) {
      assert(this.queueRecords.get(queue.name) === queue, () => `queue ${queue.name} is not registered`);
      this.queueRecords.delete(queue.name);
    }
  }

  optionsFor(spec: SubmitJobSpec): JobOptions {
    const limits = this.limits;
    if (
      spec.maxAttempts === undefined &&
      spec.leaseMs === undefined &&
      spec.backoffInitialMs === undefined &&
      spec.backoffMaxMs === undefined &&
      spec.backoffMultiplier === undefined
    ) {
      return this.defaultOptions;
    }
    return this.internOptions({
      maxAttempts: spec.maxAttempts ?? limits.defaultMaxAttempts,
      leaseMs: spec.leaseMs ?? limits.defaultLeaseMs,
      backoffInitialMs: spec.backoffInitialMs ?? limits.defaultBackoffInitialMs,
      backoffMaxMs: spec.backoffMaxMs ?? limits.defaultBackoffMaxMs,
      backoffMultiplier: spec.backoffMultiplier ?? limits.defaultBackoffMultiplier,
    });
  }

  internOptions(options: JobOptions): JobOptions {
    const d = this.defaultOptions;
    if (
      options.maxAttempts === d.maxAttempts &&
      options.leaseMs === d.leaseMs &&
      options.backoffInitialMs === d.backoffInitialMs &&
      options.backoffMaxMs === d.backoffMaxMs &&
      options.backoffMultiplier === d.backoffMultiplier
    ) {
      return d;
    }
    const key = `${options.maxAttempts}:${options.leaseMs}:${options.backoffInitialMs}:${options.backoffMaxMs}:${options.backoffMultiplier}`;
    const known = this.internedOptions.get(key);
    if (known !== undefined) return known;
    const frozen = Object.freeze({ ...options });
    if (this.internedOptions.size < MAX_INTERNED) this.internedOptions.set(key, frozen);
    return frozen;
  }

  internType(type: string): string {
    const known = this.internedTypes.get(type);
    if (known !== undefined) return known;
    if (this.internedTypes.size < MAX_INTERNED) this.internedTypes.set(type, type);
    return type;
  }

  /** Creates a job (ids from the counter) and places it Pending or Scheduled. */
  createJob(spec: SubmitJobSpec, queue: QueueRecord, nowMs: number): JobRecord {
    const slot = this.copyPayload(spec.payload);
    const runAtMs = spec.runAtMs !== undefined && spec.runAtMs > nowMs ? spec.runAtMs : 0;
    const job = new JobRecord(
      this.nextJobId++,
      queue,
      this.internType(spec.type),
      slot.chunk,
      slot.offset,
      spec.payload.length,
      spec.priority ?? 0,
      this.optionsFor(spec),
      runAtMs,
      spec.idempotencyKey ?? null,
      nowMs,
    );
    this.addJob(job);
    this.placeRunnable(job, nowMs);
    return job;
  }

  /** Copies payload bytes into state-owned memory (never keep the command's or snapshot's buffer). */
  copyPayload(bytes: Uint8Array): PayloadSlot {
    return this.arena.copy(bytes);
  }

  /** Adds a job record to the table (not to an index). Used by createJob and by snapshot restore. */
  addJob(job: JobRecord): void {
    this.jobs.set(job.id, job);
    job.queue.jobCount++;
    this.payloadBytes += job.payloadLength;
    if (job.result !== null) this.resultBytes += job.result.length;
  }

  deleteJob(job: JobRecord): void {
    this.unplace(job);
    this.jobs.delete(job.id);
    job.queue.jobCount--;
    this.payloadBytes -= job.payloadLength;
    if (job.result !== null) this.resultBytes -= job.result.length;
    this.releaseQueueIfUnused(job.queue);
  }

  /**
   * Puts an unplaced job in the index of `state`: its queue's ready line
   * (Pending, at the back of its priority), else a heap sorted by `key`.
   */
  place(job: JobRecord, state: JobState, key = 0): void {
    job.state = state;
    if (state === JobState.Pending) {
      job.heapKey = 0;
      job.readySeq = this.nextReadySeq++;
      job.queue.ready.push(job);
    } else {
      job.heapKey = key;
      this.heapOf(state).push(job);
    }
    this.countsByState[state]!++;
    job.queue.countsByState[state]!++;
  }

  /** Takes a job out of its index (and its worker's running set). */
  unplace(job: JobRecord): void {
    if (job.state === JobState.Pending) job.queue.ready.remove(job);
    else this.heapOf(job.state).remove(job);
    this.countsByState[job.state]!--;
    job.queue.countsByState[job.state]!--;
    if (job.state === JobState.Running) {
      const worker = this.workerRecords.get(job.workerId!);
      if (!worker?.running.delete(job)) fail(`running job ${job.id} is not on its worker ${job.workerId}`);
      job.leaseDeadlineMs = 0;
    }
  }

  /** The heap holding jobs of a state other than Pending. */
  heapOf(state: JobState): JobHeap {
    switch (state) {
      case JobState.Pending:
        throw new InvariantError("pending jobs are in ready queues, not in a heap");
      case JobState.Scheduled:
        return this.scheduled;
      case JobState.Running:
        return this.leases;
      default:
        return this.finished;
    }
  }

  /** Pending if its run-at has passed, Scheduled otherwise. */
  placeRunnable(job: JobRecord, nowMs: number): void {
    if (job.runAtMs <= nowMs) this.place(job, JobState.Pending);
    else this.place(job, JobState.Scheduled, job.runAtMs);
  }

  /** Moves delayed jobs whose run-at has come to Pending, a bounded number per command. */
  promoteDue(nowMs: number): void {
    const scheduled = this.scheduled;
    for (let moved = 0; moved < this.limits.maxPromotionsPerApply; moved++) {
      const job = scheduled.peek();
      if (job === undefined || job.runAtMs > nowMs) return;
      this.unplace(job);
      this.place(job, JobState.Pending);
    }
  }

  startAttempt(job: JobRecord, worker: WorkerRecord, nowMs: number): void {
    if (job.state !== JobState.Pending) fail(`assigning job ${job.id} in state ${job.state}`);
    if (!worker.hasRoom()) fail(`worker ${worker.id} is full`);
    this.unplace(job);
    job.attempts++;
    job.token = this.nextToken++;
    job.workerId = worker.id;
    job.runAtMs = 0;
    job.leaseDeadlineMs = nowMs + job.options.leaseMs;
    this.place(job, JobState.Running, job.leaseDeadlineMs);
    worker.running.add(job);
  }

  finish(job: JobRecord, state: JobState, nowMs: number): void {
    if (!isFinished(state)) fail(`finish() into non-final state ${state}`);
    this.unplace(job);
    job.finishedAtMs = nowMs;
    this.place(job, state, nowMs);
  }

  setResult(job: JobRecord, result: Uint8Array | null): void {
    if (job.result !== null) this.resultBytes -= job.result.length;
    job.result = result;
    if (result !== null) this.resultBytes += result.length;
  }

  truncateError(error: string): string {
    return error.length <= this.limits.maxErrorChars ? error : error.slice(0, this.limits.maxErrorChars);
  }

  /**
   * Ends the running attempt of `job` without success: back to Scheduled/Pending
   * after the backoff if attempts remain, else Failed (dead letter).
   */
  endAttemptUnsuccessfully(
    job: JobRecord,
    nowMs: number,
    jitterSeed: number,
    cause: RequeueCause,
    error: string,
    retryable: boolean,
    events: JobEvent[],
  ): void {
    if (job.state !== JobState.Running) fail(`requeue of job ${job.id} in state ${job.state}`);
    const workerId = job.workerId!;
    job.lastError = this.truncateError(error);
    if (!retryable || job.attempts >= job.options.maxAttempts) {
      this.finish(job, JobState.Failed, nowMs);
      events.push({ type: "finished", jobId: formatJobId(job.id), state: "failed", workerId });
      return;
    }
    this.unplace(job);
    job.workerId = null;
    job.runAtMs = nowMs + backoffMs(job.options, job.attempts, jitterFor(jitterSeed, job.id));
    this.placeRunnable(job, nowMs);
    events.push({
      type: "requeued",
      jobId: formatJobId(job.id),
      workerId,
      cause,
      attempts: job.attempts,
      runAtMs: job.runAtMs,
    });
  }

  /** Throws InvariantError if any invariant is broken; O(jobs), for tests and after restore. */
  checkInvariants(): void {
    checkInvariants(this);
  }

  /** A deterministic digest of the whole state, equal on replicas that applied the same log. */
  stateHash(): string {
    return stateHash(this);
  }
}

export function namedCounts(counts: readonly number[]): StateCounts {
  const out = {} as Record<JobStateName, number>;
  JOB_STATE_NAMES.forEach((name, index) => (out[name] = counts[index]!));
  return out;
}

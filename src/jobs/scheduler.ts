/**
 * Scheduling decisions, made by the leader and proposed as AssignJobs (the
 * decision itself changes nothing: it only reads the state).
 *
 * pickAssignments: highest priority first, FIFO (lowest id) within a
 * priority, across all queues; each job goes to the live worker serving its
 * queue with the lowest load (running / concurrency) that still has room, and
 * the load counts the assignments already picked in this batch, so a batch
 * spreads over the workers. Cost: O(k log k) for k assignments (the ready
 * lines are walked in order without being changed), plus O(workers) of the
 * queues actually reached and O(queues) to start; never a scan of the jobs.
 *
 * Jobs whose run-at has passed but that no command has promoted yet are
 * considered too (up to maxAssignments of the earliest due), so a delayed job
 * does not wait for unrelated traffic to become runnable.
 *
 * Propose one AssignJobs at a time and pick again after it applied: picks do
 * not know about assignments still in flight.
 */
import type { Assignment } from "./commands.js";
import { formatJobId } from "./ids.js";
import { HeapCursor } from "./job-heap.js";
import { ReadyCursor } from "./ready-queue.js";
import type { JobRecord, QueueRecord, WorkerRecord } from "./records.js";
import type { JobQueueState } from "./state.js";

export interface PickOptions {
  readonly nowMs: number;
  /** The leader's liveness view (see WorkerLiveness.isLive). */
  readonly isWorkerLive: (workerId: string) => boolean;
  readonly maxAssignments: number;
}

export function pickAssignments(state: JobQueueState, options: PickOptions): Assignment[] {
  const limit = Math.min(Math.max(0, Math.floor(options.maxAssignments)), state.limits.maxBatchItems);
  const picked: Assignment[] = [];
  if (limit === 0) return picked;

  const load = new BatchLoad(options.isWorkerLive);
  const candidatesOf = new Map<QueueRecord, WorkerCandidates>();
  const sources = new SourceHeap();
  for (const queue of state.queueRecords.values()) {
    if (queue.ready.size > 0 && queue.workers.size > 0) sources.push(new QueueSource(queue));
  }
  const due = dueScheduledJobs(state, options.nowMs, limit);
  if (due.length > 0) sources.push(due);

  while (picked.length < limit) {
    const source = sources.peek();
    if (source === undefined) break;
    const job = source.head()!;
    let candidates = candidatesOf.get(job.queue);
    if (candidates === undefined) {
      candidates = new WorkerCandidates(job.queue, load);
      candidatesOf.set(job.queue, candidates);
    }
    const worker = candidates.best();
    if (worker === undefined) {
      // No room left for this queue: a queue cursor is done; the mixed due list skips the job.
      if (source instanceof QueueSource) {
        sources.pop();
        continue;
      }
    } else {
      picked.push({ jobId: formatJobId(job.id), workerId: worker.id });
      load.add(worker);
      candidates.updateBest();
    }
    source.advance();
    if (source.head() === undefined) sources.pop();
    else sources.siftTop();
  }
  return picked;
}

export interface ExpiredLease {
  readonly jobId: string;
  readonly workerId: string;
  readonly token: number;
  readonly leaseDeadlineMs: number;
}

/** Running jobs whose lease ran out by nowMs, earliest first, at most `max` (for a RequeueJobs). */
export function findExpiredLeases(state: JobQueueState, nowMs: number, max: number): ExpiredLease[] {
  const out: ExpiredLease[] = [];
  const cursor = new HeapCursor(state.leases);
  for (let job = cursor.head(); job !== undefined && out.length < max; job = cursor.head()) {
    if (job.leaseDeadlineMs > nowMs) break;
    out.push({
      jobId: formatJobId(job.id),
      workerId: job.workerId!,
      token: job.token,
      leaseDeadlineMs: job.leaseDeadlineMs,
    });
    cursor.advance();
  }
  return out;
}

/** A stream of candidate jobs in pick order; `seq` orders jobs of equal priority (lower first). */
interface JobSource {
  head(): JobRecord | undefined;
  headSeq(): number;
  advance(): void;
}

class QueueSource implements JobSource {
  private readonly cursor: ReadyCursor;
  constructor(queue: QueueRecord) {
    this.cursor = new ReadyCursor(queue.ready);
  }
  head(): JobRecord | undefined {
    return this.cursor.head();
  }
  headSeq(): number {
    return this.cursor.head()!.readySeq;
  }
  advance(): void {
    this.cursor.advance();
  }
}

/**
 * Due delayed jobs not promoted yet. Promotion would give them ready stamps in
 * (run-at, id) order after every pending job; they get those stamps virtually.
 */
class DueSource implements JobSource {
  private position = 0;
  constructor(private readonly jobs: readonly { readonly job: JobRecord; readonly seq: number }[]) {}
  get length(): number {
    return this.jobs.length;
  }
  head(): JobRecord | undefined {
    return this.jobs[this.position]?.job;
  }
  headSeq(): number {
    return this.jobs[this.position]!.seq;
  }
  advance(): void {
    this.position++;
  }
}

function dueScheduledJobs(state: JobQueueState, nowMs: number, max: number): DueSource {
  const due: { job: JobRecord; seq: number }[] = [];
  const cursor = new HeapCursor(state.scheduled);
  let seq = state.nextReadySeq;
  for (let job = cursor.head(); job !== undefined && due.length < max; job = cursor.head()) {
    if (job.runAtMs > nowMs) break;
    if (job.queue.workers.size > 0) due.push({ job, seq });
    seq++;
    cursor.advance();
  }
  return new DueSource(due.sort((a, b) => b.job.priority - a.job.priority || a.seq - b.seq));
}

function sourceBefore(a: JobSource, b: JobSource): boolean {
  const x = a.head()!;
  const y = b.head()!;
  return x.priority > y.priority || (x.priority === y.priority && a.headSeq() < b.headSeq());
}

/** Min-heap of job sources by their head job (all sources here are non-empty). */
class SourceHeap {
  private readonly items: JobSource[] = [];

  peek(): JobSource | undefined {
    return this.items[0];
  }

  push(source: JobSource): void {
    const items = this.items;
    items.push(source);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!sourceBefore(source, items[parent]!)) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = source;
  }

  pop(): void {
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.siftTop();
    }
  }

  /** Restores order after the top source advanced. */
  siftTop(): void {
    const items = this.items;
    const length = items.length;
    const source = items[0]!;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      let child = left;
      if (left + 1 < length && sourceBefore(items[left + 1]!, items[left]!)) child = left + 1;
      if (!sourceBefore(items[child]!, source)) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = source;
  }
}

/** Running counts including this batch's picks, and a memo of the liveness answers. */
class BatchLoad {
  private readonly added = new Map<WorkerRecord, number>();
  private readonly live = new Map<WorkerRecord, boolean>();

  constructor(private readonly isWorkerLive: (workerId: string) => boolean) {}

  running(worker: WorkerRecord): number {
    return worker.running.size + (this.added.get(worker) ?? 0);
  }

  add(worker: WorkerRecord): void {
    this.added.set(worker, (this.added.get(worker) ?? 0) + 1);
  }

  isLive(worker: WorkerRecord): boolean {
    let live = this.live.get(worker);
    if (live === undefined) {
      live = this.isWorkerLive(worker.id);
      this.live.set(worker, live);
    }
    return live;
  }
}

interface Candidate {
  readonly worker: WorkerRecord;
  /** Running count when this entry was made; stale if the worker got jobs from another queue since. */
  running: number;
}

/** Lower load first (compared as cross products, exact), then worker id for determinism. */
function lessLoaded(a: Candidate, b: Candidate): boolean {
  const left = a.running * b.worker.concurrency;
  const right = b.running * a.worker.concurrency;
  return left < right || (left === right && a.worker.id < b.worker.id);
}

/** The live workers of one queue with room, least loaded on top. */
class WorkerCandidates {
  private readonly heap: Candidate[] = [];

  constructor(
    queue: QueueRecord,
    private readonly load: BatchLoad,
  ) {
    for (const worker of queue.workers) {
      const running = load.running(worker);
      if (running < worker.concurrency && load.isLive(worker)) this.heap.push({ worker, running });
    }
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The least loaded worker with room, or undefined when none is left. */
  best(): WorkerRecord | undefined {
    const heap = this.heap;
    for (;;) {
      const top = heap[0];
      if (top === undefined) return undefined;
      const running = this.load.running(top.worker);
      if (running === top.running) return top.worker;
      // Picked for another queue meanwhile: re-rank with its current load (it only grows).
      this.replaceTop(running);
    }
  }

  /** The best worker just got a job: re-rank it, or drop it when full. */
  updateBest(): void {
    this.replaceTop(this.load.running(this.heap[0]!.worker));
  }

  private replaceTop(running: number): void {
    const heap = this.heap;
    const top = heap[0]!;
    if (running >= top.worker.concurrency) {
      const last = heap.pop()!;
      if (heap.length === 0) return;
      heap[0] = last;
    } else {
      top.running = running;
    }
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const length = heap.length;
    const item = heap[start]!;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      let child = left;
      if (left + 1 < length && lessLoaded(heap[left + 1]!, heap[left]!)) child = left + 1;
      if (!lessLoaded(heap[child]!, item)) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = item;
  }
}

/**
 * The pending jobs of one queue, in pick order: highest priority first, then
 * first come, first served (by readySeq, the order jobs became pending).
 *
 * One doubly linked list per distinct priority, and a heap of the priority
 * levels. Adding, taking the first and removing any job (cancel, assign of a
 * job further down) are O(1), plus O(log levels) when a level appears or
 * empties; walking the first k jobs is O(k + levels visited). A heap of a
 * million jobs would instead cost ~20 cache misses per assignment.
 */
import { assert, fail } from "./assert.js";
import { HeapCursor, KeyedHeap } from "./job-heap.js";
import type { JobRecord } from "./records.js";

export class PriorityLevel {
  heapIndex = -1;
  /** Higher priority first in a min-heap. */
  readonly heapKey: number;
  /** The priority itself: unique per queue, the heap's tie-breaker (never needed). */
  readonly id: number;
  head: JobRecord | null = null;
  tail: JobRecord | null = null;
  size = 0;

  constructor(readonly priority: number) {
    this.heapKey = 0 - priority;
    this.id = priority;
  }
}

export class ReadyQueue {
  private readonly levels = new Map<number, PriorityLevel>();
  readonly levelHeap = new KeyedHeap<PriorityLevel>();
  size = 0;

  /** Appends a job at the end of its priority's line. */
  push(job: JobRecord): void {
    if (job.prev !== null || job.next !== null) fail(`job ${job.id} is already in a ready queue`);
    let level = this.levels.get(job.priority);
    if (level === undefined) {
      level = new PriorityLevel(job.priority);
      this.levels.set(job.priority, level);
      this.levelHeap.push(level);
    }
    const tail = level.tail;
    if (tail === null) level.head = job;
    else {
      if (tail.readySeq >= job.readySeq) fail(`job ${job.id} joins the line out of order`);
      tail.next = job;
      job.prev = tail;
    }
    level.tail = job;
    level.size++;
    this.size++;
  }

  remove(job: JobRecord): void {
    const level = this.levels.get(job.priority);
    if (level === undefined) fail(`job ${job.id} has no priority level to leave`);
    const { prev, next } = job;
    if (prev === null) {
      if (level.head !== job) fail(`job ${job.id} is not in its ready queue`);
      level.head = next;
    } else prev.next = next;
    if (next === null) level.tail = prev;
    else next.prev = prev;
    job.prev = null;
    job.next = null;
    level.size--;
    this.size--;
    if (level.size === 0) {
      this.levelHeap.remove(level);
      this.levels.delete(level.priority);
    }
  }

  first(): JobRecord | undefined {
    return this.levelHeap.peek()?.head ?? undefined;
  }

  /** All jobs in pick order (O(size), for snapshots and checks). */
  *inOrder(): Generator<JobRecord, void, void> {
    const cursor = new ReadyCursor(this);
    for (let job = cursor.head(); job !== undefined; job = cursor.head()) {
      yield job;
      cursor.advance();
    }
  }

  /** Throws if links, sizes, levels or the order are broken. */
  verify(): void {
    this.levelHeap.verify();
    let total = 0;
    for (const level of this.levelHeap.items) {
      assert(
        this.levels.get(level.priority) === level,
        () => `priority level ${level.priority} is not mapped`,
      );
      assert(level.size > 0, () => `empty priority level ${level.priority} kept`);
      let count = 0;
      let previous: JobRecord | null = null;
      for (let job = level.head; job !== null; job = job.next) {
        assert(job.prev === previous, () => `job ${job.id} has a broken back link`);
        assert(job.priority === level.priority, () => `job ${job.id} is in the wrong priority level`);
        assert(
          previous === null || previous.readySeq < job.readySeq,
          () => `job ${job.id} is out of FIFO order`,
        );
        previous = job;
        count++;
      }
      assert(
        level.tail === previous && count === level.size,
        () => `priority level ${level.priority} is miscounted`,
      );
      total += count;
    }
    assert(this.levels.size === this.levelHeap.size && total === this.size, "ready queue size is wrong");
  }
}

/** Walks a ready queue in pick order without changing it. */
export class ReadyCursor {
  private readonly levels: HeapCursor<PriorityLevel>;
  private current: JobRecord | null;

  constructor(queue: ReadyQueue) {
    this.levels = new HeapCursor(queue.levelHeap);
    this.current = this.levels.head()?.head ?? null;
  }

  head(): JobRecord | undefined {
    return this.current ?? undefined;
  }

  advance(): void {
    const current = this.current;
    if (current === null) return;
    if (current.next !== null) {
      this.current = current.next;
      return;
    }
    this.levels.advance();
    this.current = this.levels.head()?.head ?? null;
  }
}

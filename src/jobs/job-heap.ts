/**
 * A binary min-heap ordered by (heapKey, id), a strict total order: ties are
 * impossible, so the order items come out in never depends on how the heap
 * happens to be laid out (after a snapshot restore, say).
 *
 * Each item remembers its position (heapIndex), so removing any item is
 * O(log n): cancels and completions never scan. Items are job records (the
 * scheduled, lease and finished indexes) or priority levels (ready queues).
 */
import { assert, fail } from "./assert.js";
import type { JobRecord } from "./records.js";

export interface HeapItem {
  heapKey: number;
  heapIndex: number;
  /** Unique within the heap: breaks ties. */
  readonly id: number;
}

export function jobBefore(a: HeapItem, b: HeapItem): boolean {
  return a.heapKey < b.heapKey || (a.heapKey === b.heapKey && a.id < b.id);
}

export type JobHeap = KeyedHeap<JobRecord>;

export class KeyedHeap<T extends HeapItem> {
  readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(job: T): void {
    if (job.heapIndex !== -1) fail(`job ${job.id} is already in a heap`);
    const items = this.items;
    items.push(job);
    job.heapIndex = items.length - 1;
    this.siftUp(items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(job: T): void {
    const items = this.items;
    const index = job.heapIndex;
    if (items[index] !== job) fail(`job ${job.id} is not at its recorded heap position ${index}`);
    const last = items.pop()!;
    job.heapIndex = -1;
    if (last === job) return;
    items[index] = last;
    last.heapIndex = index;
    this.siftUp(index);
    this.siftDown(last.heapIndex);
  }

  /** Rebuilds from an array already in heap order (a snapshot), checking the heap property. */
  restoreFrom(jobs: readonly T[]): void {
    assert(this.items.length === 0, "restoring into a non-empty heap");
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      assert(job.heapIndex === -1, () => `job ${job.id} appears in two indexes`);
      if (i > 0) {
        const parent = jobs[(i - 1) >> 1]!;
        assert(!jobBefore(job, parent), () => `heap order broken at job ${job.id}`);
      }
      job.heapIndex = i;
      this.items.push(job);
    }
  }

  /** Throws if the heap property or the recorded positions are broken. */
  verify(): void {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const job = items[i]!;
      assert(job.heapIndex === i, () => `job ${job.id} records heap position ${job.heapIndex}, is at ${i}`);
      if (i > 0) assert(!jobBefore(job, items[(i - 1) >> 1]!), () => `heap order broken at job ${job.id}`);
    }
  }

  private siftUp(start: number): void {
    const items = this.items;
    const job = items[start]!;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!jobBefore(job, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = job;
    job.heapIndex = index;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const length = items.length;
    const job = items[start]!;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      let childJob = items[left]!;
      if (right < length && jobBefore(items[right]!, childJob)) {
        child = right;
        childJob = items[right]!;
      }
      if (!jobBefore(childJob, job)) break;
      items[index] = childJob;
      childJob.heapIndex = index;
      index = child;
    }
    items[index] = job;
    job.heapIndex = index;
  }
}

/**
 * Walks a heap in order without changing it: O(log k) per step for the k-th
 * job, whatever the heap size. The scheduler uses it to look at the best
 * pending jobs without popping them (picking is a pure decision).
 */
export class HeapCursor<T extends HeapItem> {
  /** Positions in the heap whose parents were already visited, as a small heap of their own. */
  private readonly frontier: number[] = [];

  constructor(private readonly heap: KeyedHeap<T>) {
    if (heap.size > 0) this.frontier.push(0);
  }

  head(): T | undefined {
    const top = this.frontier[0];
    return top === undefined ? undefined : this.heap.items[top];
  }

  advance(): void {
    const frontier = this.frontier;
    const items = this.heap.items;
    const top = frontier[0];
    if (top === undefined) return;
    const last = frontier.pop()!;
    if (frontier.length > 0) {
      frontier[0] = last;
      this.siftDown(0);
    }
    const left = 2 * top + 1;
    if (left < items.length) this.insert(left);
    if (left + 1 < items.length) this.insert(left + 1);
  }

  private insert(position: number): void {
    const frontier = this.frontier;
    const items = this.heap.items;
    const job = items[position]!;
    let index = frontier.length;
    frontier.push(position);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = frontier[parentIndex]!;
      if (!jobBefore(job, items[parent]!)) break;
      frontier[index] = parent;
      index = parentIndex;
    }
    frontier[index] = position;
  }

  private siftDown(start: number): void {
    const frontier = this.frontier;
    const items = this.heap.items;
    const length = frontier.length;
    const position = frontier[start]!;
    const job = items[position]!;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      let child = left;
      if (left + 1 < length && jobBefore(items[frontier[left + 1]!]!, items[frontier[left]!]!))
        child = left + 1;
      if (!jobBefore(items[frontier[child]!]!, job)) break;
      frontier[index] = frontier[child]!;
      index = child;
    }
    frontier[index] = position;
  }
}

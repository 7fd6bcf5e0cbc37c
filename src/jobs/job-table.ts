/**
 * The job table: every job record by id, iterated in id order.
 *
 * Why not one Map: a Map rehashes all its entries into a new table each time it
 * doubles, in one call. At a million jobs that is one apply that holds the event
 * loop for 200-250 ms (measured: inserting 2M records, the worst single `set` took
 * 224-253 ms), on every node at once since all apply the same entries; long enough
 * for followers to start an election. So the table is split by id range into
 * shards of SHARD_IDS ids, each a small Map: a rehash touches at most one shard.
 *
 * Ids are handed out in increasing order and never reused, so a shard is created
 * when its first id arrives and dropped when its last job is deleted; shards are
 * kept in id order, and each shard's Map (insertion order) is in id order too.
 * `set` refuses an id at or below the highest one it has seen: that is what keeps
 * the iteration order, and a broken caller crashes here instead of reordering jobs.
 *
 * Memory: a shard costs a few hundred bytes beyond its entries, so a shard holding
 * one straggler (a job kept long after the ids around it expired) costs about as
 * much as its record. Reaching many such shards takes SHARD_IDS ids per straggler.
 */
import { fail } from "./assert.js";
import type { JobRecord } from "./records.js";

/** Ids per shard: rehashing one takes ~0.3 ms (bench/jobs-table-growth.ts: apply p99 0.3-0.45 ms at 4096, 1.5 ms at 16384). */
export const SHARD_IDS = 1 << 12;

export class JobTable {
  /** Shards by shard number (id / SHARD_IDS). */
  private readonly shards = new Map<number, Map<number, JobRecord>>();
  /** Shard numbers, ascending (shards are created in increasing order). */
  private readonly order: number[] = [];
  private count = 0;
  private highest = 0;

  /** Number of jobs in the table. */
  get size(): number {
    return this.count;
  }

  /** The highest id ever set (0 before the first); the next `set` must use a higher one. */
  get highestId(): number {
    return this.highest;
  }

  get(id: number): JobRecord | undefined {
    return this.shards.get(Math.floor(id / SHARD_IDS))?.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds a job under an id above every id set before. */
  set(id: number, job: JobRecord): void {
    if (!(Number.isSafeInteger(id) && id > this.highest)) {
      fail(`job table: id ${id} is not above the highest id so far (${this.highest})`);
    }
    const key = Math.floor(id / SHARD_IDS);
    let shard = this.shards.get(key);
    if (shard === undefined) {
      shard = new Map();
      this.shards.set(key, shard);
      this.order.push(key); // ascending: key >= every earlier key since id > highest
    }
    shard.set(id, job);
    this.highest = id;
    this.count++;
  }

  /** Removes a job; true if it was there. */
  delete(id: number): boolean {
    const key = Math.floor(id / SHARD_IDS);
    const shard = this.shards.get(key);
    if (shard === undefined || !shard.delete(id)) return false;
    this.count--;
    if (shard.size === 0) {
      this.shards.delete(key);
      this.order.splice(this.positionOf(key), 1);
    }
    return true;
  }

  /** Jobs in id order. The table must not change while this runs. */
  *values(): IterableIterator<JobRecord> {
    for (const key of this.order) yield* this.shards.get(key)!.values();
  }

  /** [id, job] pairs in id order. The table must not change while this runs. */
  *[Symbol.iterator](): IterableIterator<[number, JobRecord]> {
    for (const key of this.order) yield* this.shards.get(key)!.entries();
  }

  /** Index of shard `key` in `order` (binary search; it is there). */
  private positionOf(key: number): number {
    let lo = 0;
    let hi = this.order.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    if (this.order[lo] !== key) fail(`job table: shard ${key} is not in the order list`);
    return lo;
  }
}

import { assert } from "./assert.js";
import type { Entry } from "./types.js";

/**
 * The in-memory Raft log: every entry after the compaction point, plus the
 * bookkeeping of what is durable (stableIndex), committed and applied.
 *
 * Indexes: entries[i].index === prevIndex + 1 + i. `prevIndex`/`prevTerm`
 * describe the last compacted entry (0/0 for an empty log), so term(prevIndex)
 * is always known, which is what AppendEntries' consistency check needs.
 */
export class RaftLog {
  private entries: Entry[] = [];
  /** Index of the last compacted entry; entries start at prevIndex + 1. */
  prevIndex = 0;
  prevTerm = 0;
  /** Highest index known durable on this node's storage. */
  stableIndex = 0;
  committed = 0;
  applied = 0;
  /**
   * unstableBytes()'s running sum, valid while the log only grew at its end since: the entries
   * in (cachedStable, cachedLast] hold cachedBytes. `generation` moves whenever the log's tail is
   * replaced, so a tail of the same length but other entries is never taken for the cached one.
   */
  private generation = 0;
  private cache = { generation: -1, stable: 0, last: 0, bytes: 0 };

  lastIndex(): number {
    return this.prevIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.prevTerm : last.term;
  }

  firstIndex(): number {
    return this.prevIndex + 1;
  }

  /** Term of the entry at `index`, or undefined if compacted away or not yet written. */
  term(index: number): number | undefined {
    if (index === this.prevIndex) return this.prevTerm;
    if (index < this.prevIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.prevIndex - 1]!.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.prevIndex) return undefined;
    return this.entries[index - this.prevIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: is a candidate's log at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), bounded by count and bytes (always at least one if any exist). */
  slice(lo: number, hi: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    assert(lo > this.prevIndex, () => `slice(${lo}) below the compaction point ${this.prevIndex}`);
    const end = Math.min(hi, this.lastIndex() + 1, lo + maxCount);
    if (end <= lo) return [];
    const from = lo - this.prevIndex - 1;
    let to = end - this.prevIndex - 1;
    if (maxBytes !== Infinity) {
      // (perf: find where the byte bound cuts, then copy once with Array.slice)
      let bytes = 0;
      for (let i = from; i < to; i++) {
        const n = this.entries[i]!.data.byteLength;
        if (i > from && bytes + n > maxBytes) {
          to = i;
          break;
        }
        bytes += n;
      }
    }
    return this.entries.slice(from, to);
  }

  /**
   * Bytes of the entries not yet durable (stableIndex, lastIndex]: a leader whose disk stalls
   * keeps committing on its followers' writes, and this bounds what it holds meanwhile. Those
   * entries are never compacted (compact() stops at stableIndex); the sum is kept incrementally
   * while stableIndex stays and the log only grows, and recounted once it moved.
   */
  unstableBytes(): number {
    const last = this.lastIndex();
    const c = this.cache;
    let from = c.last;
    if (c.generation !== this.generation || c.stable !== this.stableIndex || last < c.last) {
      c.generation = this.generation;
      c.stable = this.stableIndex;
      c.bytes = 0;
      from = this.stableIndex;
    }
    for (let i = from + 1; i <= last; i++) c.bytes += this.entry(i)!.data.byteLength;
    c.last = last;
    return c.bytes;
  }

  /** Leader path: append new entries at the end. */
  append(entries: readonly Entry[]): void {
    // (perf: the same check without allocating a message closure per entry)
    let expect = this.lastIndex() + 1;
    for (const e of entries) {
      if (e.index !== expect) assert(false, `append: gap at ${e.index}, last ${expect - 1}`);
      this.entries.push(e);
      expect++;
    }
  }

  /**
   * Follower path: the index of the first entry that conflicts with ours (same
   * index, other term) or is new; 0 when all of them are already present.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.prevIndex) continue; // already compacted, so committed and equal
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Follower path (after the prevIndex/prevTerm check passed): drop our tail
   * from the first conflict and append the leader's entries from there.
   */
  appendFromLeader(entries: readonly Entry[]): void {
    // (perf) The common case, entries right after our last one: nothing to compare.
    const conflict =
      entries[0]!.index === this.lastIndex() + 1 && entries[0]!.index > this.prevIndex
        ? entries[0]!.index
        : this.findConflict(entries);
    if (conflict === 0) return;
    assert(
      conflict > this.committed,
      () => `conflict at ${conflict} would truncate committed ${this.committed}`,
    );
    if (conflict <= this.lastIndex()) {
      this.generation++;
      this.entries.length = conflict - this.prevIndex - 1;
      // Storage must overwrite from the conflict on.
      this.stableIndex = Math.min(this.stableIndex, conflict - 1);
    }
    const first = entries[0]!.index;
    for (let i = conflict - first; i < entries.length; i++) this.entries.push(entries[i]!);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commitTo(${index}) beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /**
   * Fast backtracking (etcd's findConflictByTerm): the largest index <= `index`
   * whose term is <= `term`. Everything after it can be skipped in one step.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.prevIndex) {
      const t = this.term(i)!;
      if (t <= term) return i;
      i--;
    }
    return i;
  }

  /** Drop entries up to and including `index` (they are covered by a snapshot). */
  compact(index: number): void {
    if (index <= this.prevIndex) return;
    assert(index <= this.applied, () => `compact(${index}) beyond applied ${this.applied}`);
    assert(index <= this.stableIndex, () => `compact(${index}) beyond stable ${this.stableIndex}`);
    const term = this.term(index)!;
    this.entries.splice(0, index - this.prevIndex);
    this.prevIndex = index;
    this.prevTerm = term;
  }

  /** Replace the whole log with a snapshot's position (follower installing a snapshot). */
  restore(index: number, term: number): void {
    this.generation++;
    this.entries = [];
    this.prevIndex = index;
    this.prevTerm = term;
    this.stableIndex = index;
    this.committed = index;
    this.applied = index;
  }

  /** Bulk load of persisted entries at start-up. */
  load(prevIndex: number, prevTerm: number, entries: readonly Entry[]): void {
    this.generation++;
    this.prevIndex = prevIndex;
    this.prevTerm = prevTerm;
    this.entries = [];
    for (const e of entries) {
      if (e.index <= prevIndex) continue;
      assert(e.index === this.lastIndex() + 1, () => `load: gap at ${e.index}`);
      this.entries.push(e);
    }
    this.stableIndex = this.lastIndex();
    this.committed = prevIndex;
    this.applied = prevIndex;
  }
}

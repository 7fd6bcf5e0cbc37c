import type { Entry, Snapshot } from "../raft/index.js";

export type ApplyItem =
  | { readonly kind: "entry"; readonly entry: Entry }
  | { readonly kind: "restore"; readonly snapshot: Snapshot };

export interface ApplyQueueOptions {
  /** Longest a drain runs before it yields to the event loop (finishing the item it is on). */
  readonly sliceMs: number;
  /** At this many queued items or bytes of entry data the queue is full: take no more committed entries. */
  readonly pauseItems: number;
  readonly pauseBytes: number;
  /** The queue was full and is not any more (the Ready loop may take committed entries again). */
  readonly onRoom: () => void;
  /** A bug if ever reached (the pause marks keep the queue far below): push() throws. */
  readonly maxItems: number;
  /**
   * Applies one item (entry or snapshot restore); called in queue order. It
   * may return steps still to run (a large restore): they run in the slices
   * that follow, before any later item.
   */
  readonly apply: (item: ApplyItem) => Iterator<unknown> | void;
  /** While true nothing is applied (a snapshot is copying the state). */
  readonly held: () => boolean;
  /** After each slice that applied something. */
  readonly afterSlice: () => void;
  /** Monotonic milliseconds (default performance.now). */
  readonly now?: () => number;
}

/**
 * Committed entries waiting to be applied, applied in slices of at most
 * `sliceMs`. One Ready can carry thousands of committed entries (a follower
 * catching up, SubmitJobs of 1,000 jobs each): applied in one go they held
 * the event loop for 100-220 ms during a fill to 1M jobs (node logs), on all
 * three nodes at once, so heartbeats and their answers were late and the
 * leader lost its quorum (CheckQuorum) and an election followed. In slices,
 * timers and peer messages run in between.
 *
 * The Raft core counts entries as applied once their Ready is advanced; the
 * state machine may be behind that. Nothing depends on the opposite: snapshots
 * are taken at the state machine's index, reads wait for it, and proposals are
 * answered when their entry is really applied.
 *
 * Bounded: at a pause mark the queue is `full` and the Ready loop takes no
 * more committed entries from the core (they stay in the Raft log), while it
 * goes on persisting and acknowledging appends and answering heartbeats; a
 * node that stopped all Raft work instead went silent, and with both
 * followers of three catching up at once the leader lost its quorum.
 */
export class ApplyQueue {
  private items: (ApplyItem | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  private scheduled = false;
  /** Full at the end of the last push or drain: onRoom is due when it is not any more. */
  private wasFull = false;
  /** Steps of the item being applied, if it takes several. */
  private current: Iterator<unknown> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: ApplyQueueOptions) {
    if (!(o.sliceMs > 0)) throw new Error(`sliceMs must be positive, got ${o.sliceMs}`);
    if (!(0 < o.pauseItems && o.pauseItems < o.maxItems)) throw new Error("need 0 < pauseItems < maxItems");
    this.now = o.now ?? (() => performance.now());
  }

  /** Items not yet applied, counting one whose steps are still running. */
  get length(): number {
    return this.items.length - this.head + (this.current === null ? 0 : 1);
  }

  /** At or above a pause mark: the Ready loop takes no more committed entries until onRoom. */
  get full(): boolean {
    return this.length >= this.o.pauseItems || this.bytes >= this.o.pauseBytes;
  }

  push(item: ApplyItem): void {
    if (this.length >= this.o.maxItems) {
      throw new Error(`apply queue exceeded its bound of ${this.o.maxItems} items`);
    }
    this.items.push(item);
    this.bytes += bytesOf(item);
    if (this.full) this.wasFull = true;
  }

  /** Applies until the queue is empty or the slice is used up, then schedules the rest. */
  drain(): void {
    if (this.o.held() || this.length === 0) return;
    const deadline = this.now() + this.o.sliceMs;
    do {
      if (this.current !== null) {
        if (this.current.next().done === true) this.current = null;
        continue;
      }
      const item = this.items[this.head]!;
      this.items[this.head++] = undefined; // applied items are not kept alive
      this.bytes -= bytesOf(item);
      this.current = this.o.apply(item) ?? null;
    } while (this.length > 0 && this.now() < deadline);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.o.afterSlice();
    if (this.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.drain();
      });
    }
    if (this.wasFull && !this.full) {
      this.wasFull = false;
      this.o.onRoom();
    }
  }
}

function bytesOf(item: ApplyItem): number {
  return item.kind === "entry" ? item.entry.data.byteLength : 0;
}

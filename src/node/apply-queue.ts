import type { Entry, Snapshot } from "../raft/index.js";

export type ApplyItem =
  | { readonly kind: "entry"; readonly entry: Entry }
  | { readonly kind: "restore"; readonly snapshot: Snapshot };

export interface ApplyQueueOptions {
  /** Longest a drain runs before it yields to the event loop (finishing the item it is on). */
  readonly sliceMs: number;
  /** At this many queued items or bytes of entry data the Ready loop waits for room (see room()). */
  readonly pauseItems: number;
  readonly pauseBytes: number;
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
 */
export class ApplyQueue {
  private items: (ApplyItem | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  private scheduled = false;
  private roomWaiters: (() => void)[] = [];
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

  /** At or above a pause mark: the Ready loop should wait for room() before taking more. */
  get full(): boolean {
    return this.length >= this.o.pauseItems || this.bytes >= this.o.pauseBytes;
  }

  push(item: ApplyItem): void {
    if (this.length >= this.o.maxItems) {
      throw new Error(`apply queue exceeded its bound of ${this.o.maxItems} items`);
    }
    this.items.push(item);
    this.bytes += bytesOf(item);
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
    if (!this.full) this.release();
  }

  /** Resolves once the queue is below its pause marks (at once if it is). */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Wakes every room() waiter (below the marks, or the node is stopping). */
  release(): void {
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }
}

function bytesOf(item: ApplyItem): number {
  return item.kind === "entry" ? item.entry.data.byteLength : 0;
}

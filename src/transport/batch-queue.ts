/**
 * The outbound queue of one peer: encoded batches in FIFO order, bounded by
 * the bytes they hold. Full means the caller drops (Raft retransmits);
 * it never grows past its bound.
 */

export interface QueuedBatch {
  readonly payload: Uint8Array;
  /** Raft messages inside, so a dropped batch is counted in messages. */
  readonly messages: number;
}

export class BatchQueue {
  private items: (QueuedBatch | undefined)[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** False (and nothing queued) when `batch` would take the queue past `maxBytes - reservedBytes`. */
  push(batch: QueuedBatch, reservedBytes: number): boolean {
    if (this.bytes + reservedBytes + batch.payload.length > this.maxBytes) return false;
    this.items.push(batch);
    this.bytes += batch.payload.length;
    return true;
  }

  shift(): QueuedBatch | undefined {
    if (this.head === this.items.length) return undefined;
    const batch = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.bytes -= batch.payload.length;
    // Compact once the consumed prefix dominates, so shift stays O(1) amortised.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /** Empties the queue; returns how many messages were in it. */
  clear(): number {
    let messages = 0;
    for (let i = this.head; i < this.items.length; i++) messages += this.items[i]!.messages;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return messages;
  }
}

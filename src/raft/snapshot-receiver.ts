import { assert } from "./assert.js";
import type { Snapshot, SnapshotChunk } from "./types.js";

/** What the follower answers a chunk with, and the snapshot once it is whole. */
export interface ChunkOutcome {
  /** Bytes received so far (the offset the leader should send next), or the total when done. */
  readonly offset: number;
  /** The chunk did not continue what was received (a gap, or a new snapshot not starting at 0). */
  readonly reject: boolean;
  readonly done: boolean;
  /** The assembled snapshot, on the chunk that completed it. */
  readonly complete: Snapshot | null;
}

/**
 * A follower's side of InstallSnapshot: assembles the chunks of one snapshot
 * in order, answers duplicates and gaps so the leader resends from the right
 * offset, and bounds what it buffers (maxSnapshotBytes). A chunk of a
 * different snapshot starts over. Pure bookkeeping: the core decides whether
 * the result is installed.
 *
 * Each chunk is copied into one buffer of the announced size as it arrives
 * (a SharedArrayBuffer: the storage worker reads it in place). Joining 159
 * chunks at the end held a follower's event loop ~0.9 s for a 159 MB
 * snapshot, and kept the chunks and the joined copy alive together.
 */
export class SnapshotReceiver {
  private incoming: {
    readonly index: number;
    readonly term: number;
    readonly totalBytes: number;
    /** Allocated at the first chunk unless that chunk is the whole snapshot. */
    data: Uint8Array | null;
    received: number;
  } | null = null;

  constructor(private readonly maxSnapshotBytes: number) {}

  /** A snapshot at or below `committedIndex` covers nothing new: drop any partial one and say it is done. */
  receive(m: SnapshotChunk, committedIndex: number): ChunkOutcome {
    const meta = m.metadata;
    if (meta.index <= committedIndex) {
      this.incoming = null;
      return { offset: m.totalBytes, reject: false, done: true, complete: null };
    }
    let inc = this.incoming;
    if (inc === null || inc.index !== meta.index || inc.term !== meta.term) {
      if (m.offset !== 0) return { offset: 0, reject: true, done: false, complete: null };
      assert(m.totalBytes <= this.maxSnapshotBytes, () => `snapshot of ${m.totalBytes} bytes exceeds limit`);
      inc = { index: meta.index, term: meta.term, totalBytes: m.totalBytes, data: null, received: 0 };
      this.incoming = inc;
    }
    if (m.offset < inc.received) return { offset: inc.received, reject: false, done: false, complete: null }; // duplicate
    if (m.offset > inc.received) return { offset: inc.received, reject: true, done: false, complete: null }; // gap: a chunk was lost
    assert(inc.received + m.data.byteLength <= inc.totalBytes, "snapshot chunks exceed the announced size");
    let data: Uint8Array;
    if (inc.received === 0 && m.done) {
      data = m.data; // the whole snapshot in one chunk: no copy
    } else {
      inc.data ??= new Uint8Array(new SharedArrayBuffer(inc.totalBytes));
      inc.data.set(m.data, inc.received);
      data = inc.data;
    }
    inc.received += m.data.byteLength;
    if (!m.done) return { offset: inc.received, reject: false, done: false, complete: null };
    assert(inc.received === inc.totalBytes, "snapshot ended before its announced size");
    this.incoming = null;
    return { offset: inc.totalBytes, reject: false, done: true, complete: { metadata: meta, data } };
  }
}

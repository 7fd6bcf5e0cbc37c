import { assert } from "./assert.js";
import { concatBytes } from "./bytes.js";
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
 */
export class SnapshotReceiver {
  private incoming: {
    readonly index: number;
    readonly term: number;
    readonly totalBytes: number;
    readonly chunks: Uint8Array[];
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
      inc = { index: meta.index, term: meta.term, totalBytes: m.totalBytes, chunks: [], received: 0 };
      this.incoming = inc;
    }
    if (m.offset < inc.received) return { offset: inc.received, reject: false, done: false, complete: null }; // duplicate
    if (m.offset > inc.received) return { offset: inc.received, reject: true, done: false, complete: null }; // gap: a chunk was lost
    inc.chunks.push(m.data);
    inc.received += m.data.byteLength;
    assert(inc.received <= inc.totalBytes, "snapshot chunks exceed the announced size");
    if (!m.done) return { offset: inc.received, reject: false, done: false, complete: null };
    assert(inc.received === inc.totalBytes, "snapshot ended before its announced size");
    this.incoming = null;
    const complete = { metadata: meta, data: concatBytes(inc.chunks, inc.totalBytes) };
    return { offset: inc.totalBytes, reject: false, done: true, complete };
  }
}

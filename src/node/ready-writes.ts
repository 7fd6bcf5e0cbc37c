import type { HardState, NodeId, Ready } from "../raft/index.js";
import type { WriteBatch } from "../storage/index.js";

/**
 * Turns each Ready into the one storage write it needs (or none). A hard
 * state whose term and vote are already on disk, and that comes alone, is
 * not worth an fsync: Raft does not need the commit index durable (a
 * restarted node learns it again from the leader), so it rides along with
 * the next write instead. At one request in flight this halved the fsyncs.
 */
export class ReadyWrites {
  /** Term and vote last written. */
  private written: { term: number; vote: NodeId | null } | null = null;
  /** A commit-only hard state not written yet. */
  private carried: HardState | null = null;

  /** The write for `rd`, or null when there is nothing worth syncing. */
  batchFor(rd: Ready): WriteBatch | null {
    const batch: { -readonly [K in keyof WriteBatch]: WriteBatch[K] } = {};
    if (rd.entries.length > 0) batch.entries = rd.entries;
    const snap = rd.snapshot ?? rd.localSnapshot;
    if (snap !== null) batch.snapshot = snap;
    if (rd.compactedThrough > 0 && snap === null) batch.compactThrough = rd.compactedThrough;
    const hs = rd.hardState ?? this.carried;
    const onlyCommitMoved =
      hs !== null && this.written !== null && hs.term === this.written.term && hs.vote === this.written.vote;
    if (hs !== null && (!onlyCommitMoved || Object.keys(batch).length > 0)) {
      batch.hardState = hs;
      this.carried = null;
    } else if (hs !== null) {
      this.carried = hs;
    }
    return Object.keys(batch).length > 0 ? batch : null;
  }

  /** `batch` is durable. */
  persisted(batch: WriteBatch): void {
    if (batch.hardState !== undefined)
      this.written = { term: batch.hardState.term, vote: batch.hardState.vote };
  }
}

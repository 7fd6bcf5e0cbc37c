import type { NodeId, RaftStatus } from "../raft/index.js";

/**
 * A leader whose own disk has held one write for `afterMs` hands leadership to its most
 * caught-up voting follower. Its followers' writes keep committing meanwhile (thesis §10.2.1),
 * so the cluster does not stop at once; but a leader that cannot write its own log is one
 * failure away from losing its quorum (it cannot count itself), and past maxUnwrittenEntries
 * it refuses every proposal (DISK_BEHIND). Two healthy members can lead instead. The threshold
 * is far above any healthy or merely slow write (seconds, where a slow disk takes tens or
 * hundreds of milliseconds), so a slow disk never moves leadership. While the write stays
 * stuck and this node still leads (the transfer was abandoned), it tries again every `afterMs`.
 */
export class DiskStallHandoff {
  /** When the write in flight started, or when the last hand-off was tried during it. */
  private sinceMs: number | null = null;

  constructor(private readonly afterMs: number) {
    if (!(afterMs > 0)) throw new RangeError(`afterMs must be positive, got ${afterMs}`);
  }

  writeStarted(nowMs: number): void {
    this.sinceMs = nowMs;
  }

  writeEnded(): void {
    this.sinceMs = null;
  }

  /** The follower to hand leadership to now, or null. `status` is read only when one may be due. */
  due(nowMs: number, status: () => RaftStatus): NodeId | null {
    if (this.sinceMs === null || nowMs - this.sinceMs < this.afterMs) return null;
    const s = status();
    if (s.role !== "leader" || s.leadTransferee !== null) return null;
    let best: { id: NodeId; match: number } | null = null;
    for (const p of s.peers) if (p.role === "voter" && (best === null || p.match > best.match)) best = p;
    if (best === null) return null; // a single-member cluster: nobody to hand it to
    this.sinceMs = nowMs;
    return best.id;
  }
}

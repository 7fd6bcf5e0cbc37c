import type { NodeId, PeerStatus, RaftConfig, RaftStatus } from "../raft/index.js";

/** A write in flight this long is a stalled disk, not a slow one (slow: tens to hundreds of ms). */
export const DISK_STALL_HANDOFF_MS = 5_000;
/** While the write stays stuck and the node still leads, it tries again this often. */
export const DISK_STALL_HANDOFF_RETRY_MS = 1_000;

export interface DiskStallHandoffOptions {
  /** A write in flight this long is a stalled disk: hand leadership on. */
  readonly afterMs: number;
  /**
   * While the same write stays stuck and this node still leads, try again this long after the
   * last try. A transfer that has not finished within an election timeout is abandoned by the
   * core (etcd does the same), so a retry after a second asks again once that one is over.
   */
  readonly retryMs: number;
  /**
   * A follower heard from within this many ticks counts as reachable. Reachable followers are
   * preferred to more caught-up unreachable ones: the transfer needs the transferee to answer.
   */
  readonly recentContactTicks: number;
}

/**
 * A leader whose own disk has held one write for `afterMs` hands leadership to its most
 * caught-up reachable voting follower. Its followers' writes keep committing meanwhile (thesis
 * §10.2.1), so the cluster does not stop at once; but a leader that cannot write its own log is
 * one failure away from losing its quorum (it cannot count itself), and past
 * maxUnwrittenEntries it refuses every proposal (DISK_BEHIND). Two healthy members can lead
 * instead. The threshold is far above any healthy or merely slow write (seconds, where a slow
 * disk takes tens or hundreds of milliseconds), so a slow disk never moves leadership.
 *
 * Why reachable first and a short retry: in a chaos run (seed 2114339905, 600 s, --overlap)
 * the stalled leader's one attempt named the most caught-up follower, which had just been cut
 * off; the transfer was abandoned, the next try was due 5 s later, and the 8.5 s stall ended
 * with the same leader. The follower with the highest match index stays the highest while it
 * is cut off, so a retry that ranked by match alone would have named it again.
 */
export class DiskStallHandoff {
  /** When the write in flight started, or null when none is. */
  private stallStartMs: number | null = null;
  /** When the last hand-off was tried during this write, or null. */
  private lastTryMs: number | null = null;

  /**
   * The replica's: after `afterMs` (default DISK_STALL_HANDOFF_MS), retried every second (or every
   * `afterMs` if shorter), a follower reachable if heard from within the minimum election timeout.
   */
  static forCore(
    config: Pick<RaftConfig, "electionTimeoutMinTicks">,
    afterMs = DISK_STALL_HANDOFF_MS,
  ): DiskStallHandoff {
    return new DiskStallHandoff({
      afterMs,
      retryMs: Math.min(afterMs, DISK_STALL_HANDOFF_RETRY_MS),
      recentContactTicks: config.electionTimeoutMinTicks,
    });
  }

  constructor(private readonly o: DiskStallHandoffOptions) {
    if (!(o.afterMs > 0)) throw new RangeError(`afterMs must be positive, got ${o.afterMs}`);
    if (!(o.retryMs > 0)) throw new RangeError(`retryMs must be positive, got ${o.retryMs}`);
    if (!(o.recentContactTicks > 0))
      throw new RangeError(`recentContactTicks must be positive, got ${o.recentContactTicks}`);
  }

  writeStarted(nowMs: number): void {
    this.stallStartMs = nowMs;
    this.lastTryMs = null;
  }

  writeEnded(): void {
    this.stallStartMs = null;
    this.lastTryMs = null;
  }

  /** The follower to hand leadership to now, or null. `status` is read only when one may be due. */
  due(nowMs: number, status: () => RaftStatus): NodeId | null {
    if (this.stallStartMs === null || nowMs - this.stallStartMs < this.o.afterMs) return null;
    if (this.lastTryMs !== null && nowMs - this.lastTryMs < this.o.retryMs) return null;
    const s = status();
    if (s.role !== "leader" || s.leadTransferee !== null) return null;
    const reachable = (p: PeerStatus): boolean =>
      p.lastContactTick >= 0 && s.tick - p.lastContactTick <= this.o.recentContactTicks;
    let best: PeerStatus | null = null;
    for (const p of s.peers) {
      if (p.role !== "voter") continue;
      if (best === null || better(p, best, reachable)) best = p;
    }
    if (best === null) return null; // a single-member cluster: nobody to hand it to
    this.lastTryMs = nowMs;
    return best.id;
  }
}

/** Reachable before unreachable, then the higher match index. */
function better(p: PeerStatus, than: PeerStatus, reachable: (p: PeerStatus) => boolean): boolean {
  const a = reachable(p);
  const b = reachable(than);
  if (a !== b) return a;
  return p.match > than.match;
}

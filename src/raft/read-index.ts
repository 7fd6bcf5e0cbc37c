import type { NodeId } from "./types.js";

/** One ReadIndex request: who asked (this node, or a follower that forwarded it) and its id there. */
export interface ReadRequest {
  readonly requestId: number;
  readonly from: NodeId;
}

interface TrackedRead extends ReadRequest {
  readonly index: number;
  readonly seq: number;
  readonly acks: Set<NodeId>;
}

/**
 * A leader's ReadIndex bookkeeping (Raft thesis §6.4). A read records the
 * commit index when it arrives, tagged with a sequence number the next
 * heartbeats carry; once a quorum of voters echoed a sequence at least as
 * new, the leader was still the leader when the read arrived and the read
 * point is safe. Reads that arrive before this leader committed an entry of
 * its own term wait (it does not know the true commit index yet).
 * Bounded by the core's maxPendingReads; emptied when leadership changes.
 */
export class ReadIndexQueue {
  private tracked: TrackedRead[] = [];
  private awaitingCommit: ReadRequest[] = [];
  private seq = 0;

  get size(): number {
    return this.tracked.length + this.awaitingCommit.length;
  }

  /** The sequence heartbeats should carry now (0: no read waits for confirmation). */
  heartbeatContext(): number {
    return this.tracked.length > 0 ? this.seq : 0;
  }

  /** Park a read until this leader commits in its term. */
  awaitCommit(r: ReadRequest): void {
    this.awaitingCommit.push(r);
  }

  /** Reads parked by awaitCommit, handed back (and forgotten) once the leader committed in its term. */
  takeAwaitingCommit(): ReadRequest[] {
    const waiting = this.awaitingCommit;
    this.awaitingCommit = [];
    return waiting;
  }

  /** Track a read at `index`, acknowledged by `self`; returns the sequence to broadcast. */
  track(r: ReadRequest, index: number, self: NodeId): number {
    const seq = ++this.seq;
    this.tracked.push({ ...r, index, seq, acks: new Set([self]) });
    return seq;
  }

  /**
   * `from` echoed heartbeat sequence `seq`. Returns the reads now confirmed by
   * a quorum (oldest first), with their read points, and forgets them.
   */
  ack(
    from: NodeId,
    seq: number,
    isVoter: (id: NodeId) => boolean,
    quorum: number,
  ): { read: ReadRequest; index: number }[] {
    if (!isVoter(from)) return [];
    for (const r of this.tracked) if (r.seq <= seq) r.acks.add(from);
    const released: { read: ReadRequest; index: number }[] = [];
    for (const r of this.tracked) {
      let n = 0;
      for (const id of r.acks) if (isVoter(id)) n++;
      if (n < quorum) break;
      released.push({ read: { requestId: r.requestId, from: r.from }, index: r.index });
    }
    if (released.length > 0) this.tracked.splice(0, released.length);
    return released;
  }

  /** Every read, tracked or parked, forgotten: the caller fails them (leadership ended). */
  takeAll(): ReadRequest[] {
    const all: ReadRequest[] = [
      ...this.tracked.map((r) => ({ requestId: r.requestId, from: r.from })),
      ...this.awaitingCommit,
    ];
    this.tracked = [];
    this.awaitingCommit = [];
    return all;
  }
}

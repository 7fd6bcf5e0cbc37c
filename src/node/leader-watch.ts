import type { NodeId } from "../raft/index.js";

/** What changed since the last Ready, as far as the leader is concerned. */
export interface LeaderChange {
  /** The leader this node knows differs from before (possibly none now). */
  readonly changed: boolean;
  /**
   * A leadership this node had not seen: a new leader, or a new term under the same one.
   * A follower that lost touch with its leader and found the same one again (its PreVote
   * round refused, term unchanged) saw no new leadership: counted, such blips made a healthy
   * cluster look like it was electing (raftq_raft_leader_changes_total).
   */
  readonly newLeadership: boolean;
}

/** Follows the leader a node knows from one Ready to the next. */
export class LeaderWatch {
  private leader: NodeId | null = null;
  private leadership: { leader: NodeId; term: number } | null = null;

  observe(leader: NodeId | null, term: number): LeaderChange {
    if (leader === this.leader) return { changed: false, newLeadership: false };
    this.leader = leader;
    const l = this.leadership;
    const newLeadership = leader !== null && (l === null || l.leader !== leader || l.term !== term);
    if (newLeadership) this.leadership = { leader, term };
    return { changed: true, newLeadership };
  }
}

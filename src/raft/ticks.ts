import { becomeFollower, campaign, quorumActive, sendVoteRequests } from "./elections.js";
import { bcastHeartbeat } from "./heartbeats.js";
import { sendOwedCommitNotices } from "./replication.js";
import { retransmitSnapshots } from "./snapshots.js";
import type { CoreState } from "./state.js";

/**
 * What one tick of logical time does. A follower or (pre)candidate counts
 * towards its election timeout and campaigns when it expires; a leader sends
 * heartbeats, resends silent snapshot transfers, steps down when CheckQuorum
 * finds no live quorum, and gives up a leadership transfer that took longer
 * than an election timeout. Time comes only from the caller's tick().
 */

/** RaftCore.tick: advance logical time by one tick. */
export function onTick(s: CoreState): void {
  s.tickCount++;
  if (s.role === "leader") tickLeader(s);
  else tickElection(s);
}

function tickElection(s: CoreState): void {
  s.electionElapsedTicks++;
  if (s.role === "preCandidate" && s.electionElapsedTicks % s.config.heartbeatTicks === 0) {
    // A voter still inside its leader lease ignored our PreVote; its lease
    // ends within an election timeout of the leader's last word. Ask again
    // every heartbeat instead of waiting out a whole new election timeout.
    sendVoteRequests(s, "preVote", s.term + 1, false, true);
  }
  if (s.promotable() && s.electionElapsedTicks >= s.randomizedElectionTimeoutTicks) {
    s.electionElapsedTicks = 0;
    campaign(s, s.config.preVote ? "preVote" : "vote", false);
  }
}

function tickLeader(s: CoreState): void {
  s.heartbeatElapsedTicks++;
  s.electionElapsedTicks++;
  if (s.electionElapsedTicks >= s.config.electionTimeoutMinTicks) {
    s.electionElapsedTicks = 0;
    if (s.config.checkQuorum) {
      if (!quorumActive(s)) {
        becomeFollower(s, s.term, null);
        return;
      }
      for (const pr of s.progress.values()) if (pr.id !== s.id) pr.recentActive = false;
    }
  }
  if (s.leadTransferee !== null) {
    s.transferElapsedTicks++;
    if (s.transferElapsedTicks >= s.config.electionTimeoutMinTicks) s.leadTransferee = null;
  }
  if (s.heartbeatElapsedTicks >= s.config.heartbeatTicks) {
    s.heartbeatElapsedTicks = 0;
    bcastHeartbeat(s, s.readIndexQueue.heartbeatContext());
    retransmitSnapshots(s);
  }
  if (s.config.commitNoticeOnTick) sendOwedCommitNotices(s);
}

import { assert } from "./assert.js";
import type { TransferResult } from "./core-types.js";
import { failPendingReads } from "./leader-reads.js";
import { isVoter, quorumSize, voters } from "./membership.js";
import { Progress } from "./progress.js";
import { appendAsLeader, replicateTo } from "./replication.js";
import { EMPTY_DATA, type CoreState } from "./state.js";
import { EntryType, type Message, type NodeId, type VoteRequest, type VoteResponse } from "./types.js";

/**
 * Terms and leadership: the term rules every message passes first, the
 * campaign (PreVote, then the vote; or a vote at once on TimeoutNow), the
 * answers to vote requests and their tally, the role changes (follower,
 * leader), CheckQuorum's count of live voters, and leadership transfer.
 * What a tick does (election timeout, CheckQuorum round) is in ticks.ts.
 */

/**
 * The term rules every message passes before its handler (Raft §5.1): a
 * newer term makes this node a follower, except for PreVote, which never
 * changes terms, and for a vote request while a live leader's lease holds
 * (CheckQuorum); a message of an older term is dropped, and a stale leader
 * or pre-candidate is told our term. False when the message is dropped.
 */
export function checkTerm(s: CoreState, m: Message): boolean {
  if (m.term > s.term) {
    if (m.type === "vote" || m.type === "preVote") {
      const inLease =
        s.config.checkQuorum &&
        s.leader !== null &&
        s.electionElapsedTicks < s.config.electionTimeoutMinTicks;
      // A node that hears from a live leader does not help depose it.
      if (inLease && !m.transfer) return false;
    }
    if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
      // PreVote never changes terms: that is the whole point of it.
    } else {
      const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
      becomeFollower(s, m.term, fromLeader ? m.from : null);
    }
  } else if (m.term < s.term) {
    if (m.type === "append" || m.type === "heartbeat") {
      // A stale leader (e.g. back from a partition): tell it our term so it steps down.
      s.send({
        type: "appendResp",
        from: s.id,
        to: m.from,
        term: s.term,
        reject: true,
        index: 0,
        rejectHint: 0,
        hintTerm: 0,
      });
    } else if (m.type === "preVote") {
      s.send({
        type: "preVoteResp",
        from: s.id,
        to: m.from,
        term: s.term,
        reject: true,
      });
    }
    return false;
  }
  return true;
}

/** A message from this term's leader: follow it; its word resets the election timer. */
export function followLeader(s: CoreState, from: NodeId): void {
  if (s.role === "candidate" || s.role === "preCandidate") becomeFollower(s, s.term, from);
  s.leader = from;
  s.electionElapsedTicks = 0;
}

/** Both timers restart; the election timeout is drawn anew, from the caller's random source. */
function resetTimers(s: CoreState): void {
  s.electionElapsedTicks = 0;
  s.heartbeatElapsedTicks = 0;
  const span = s.config.electionTimeoutMaxTicks - s.config.electionTimeoutMinTicks;
  s.randomizedElectionTimeoutTicks = s.config.electionTimeoutMinTicks + Math.floor(s.config.random() * span);
}

/** Step down (or stay down) in `term`, following `leader` if known; a learner stays a learner. */
export function becomeFollower(s: CoreState, term: number, leader: NodeId | null): void {
  const wasLeader = s.role === "leader";
  if (term !== s.term) {
    assert(term > s.term, () => `term went back from ${s.term} to ${term}`);
    s.term = term;
    s.vote = null;
  }
  if (wasLeader) failPendingReads(s);
  s.leader = leader;
  s.role = s.promotable() ? "follower" : "learner";
  s.votes.clear();
  s.progress.clear();
  s.leadTransferee = null;
  resetTimers(s);
}

/**
 * Stand for election: a PreVote round in term + 1 that changes nothing here,
 * or the real vote in a new term. `transfer`: on TimeoutNow, past the voters' leases.
 */
export function campaign(s: CoreState, kind: "preVote" | "vote", transfer: boolean): void {
  let campaignTerm: number;
  if (kind === "preVote") {
    s.role = "preCandidate";
    s.leader = null;
    campaignTerm = s.term + 1;
  } else {
    s.term += 1;
    s.vote = s.id;
    s.leader = null;
    s.role = "candidate";
    campaignTerm = s.term;
  }
  s.votes.clear();
  resetTimers(s);
  s.votes.set(s.id, true);
  if (tallyVotes(s) === "won") {
    if (kind === "preVote") campaign(s, "vote", transfer);
    else becomeLeader(s);
    return;
  }
  sendVoteRequests(s, kind, campaignTerm, transfer, false);
}

/** Ask the other voters for their vote (`onlyUnanswered`: those that have not answered this round). */
export function sendVoteRequests(
  s: CoreState,
  kind: "preVote" | "vote",
  campaignTerm: number,
  transfer: boolean,
  onlyUnanswered: boolean,
): void {
  for (const id of voters(s.membership)) {
    if (id === s.id || (onlyUnanswered && s.votes.has(id))) continue;
    const req: VoteRequest = {
      type: kind,
      from: s.id,
      to: id,
      term: campaignTerm,
      lastLogIndex: s.log.lastIndex(),
      lastLogTerm: s.log.lastTerm(),
      transfer,
    };
    s.send(req);
  }
}

/** Grant at most one vote per term, to a candidate whose log is at least as up to date (Raft §5.4.1). */
export function handleVoteRequest(s: CoreState, m: VoteRequest): void {
  const canVote =
    (s.vote === m.from ||
      (s.vote === null && s.leader === null) ||
      (m.type === "preVote" && m.term > s.term)) &&
    !yieldsToSelf(s, m);
  const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
  if (canVote && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
    // A granted PreVote answers in the candidate's future term.
    s.send({ type: respType, from: s.id, to: m.from, term: m.term, reject: false });
    if (m.type === "vote") {
      s.electionElapsedTicks = 0;
      s.vote = m.from;
    }
  } else {
    s.send({
      type: respType,
      from: s.id,
      to: m.from,
      term: s.term,
      reject: true,
    });
  }
}

/**
 * Two voters that time out within a message delay of each other would each
 * grant the other's PreVote, both stand, and split the vote: another election
 * timeout (150-300 ms) lost. Between two equally up-to-date PreVote rounds
 * that started together (within a heartbeat), the lower id goes ahead and
 * the other is refused; it grants the winner's real vote request as usual.
 * PreVote decides nothing about safety, only who tries first.
 */
function yieldsToSelf(s: CoreState, m: VoteRequest): boolean {
  return (
    m.type === "preVote" &&
    s.role === "preCandidate" &&
    s.electionElapsedTicks < s.config.heartbeatTicks &&
    m.lastLogTerm === s.log.lastTerm() &&
    m.lastLogIndex === s.log.lastIndex() &&
    m.from > s.id
  );
}

/** Count an answer to this round: a won PreVote starts the real vote, a won vote makes the leader. */
export function handleVoteResponse(s: CoreState, m: VoteResponse): void {
  const expecting =
    (s.role === "preCandidate" && m.type === "preVoteResp") ||
    (s.role === "candidate" && m.type === "voteResp");
  if (!expecting) return;
  s.votes.set(m.from, !m.reject);
  const result = tallyVotes(s);
  if (result === "won") {
    if (s.role === "preCandidate") campaign(s, "vote", false);
    else becomeLeader(s);
  } else if (result === "lost") {
    becomeFollower(s, s.term, null);
  }
}

function tallyVotes(s: CoreState): "won" | "lost" | "pending" {
  const vs = voters(s.membership);
  let granted = 0;
  let rejected = 0;
  for (const id of vs) {
    const v = s.votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(s.membership);
  if (granted >= q) return "won";
  if (rejected > vs.length - q) return "lost";
  return "pending";
}

function becomeLeader(s: CoreState): void {
  assert(s.role === "candidate", "only a candidate becomes leader");
  s.role = "leader";
  s.leader = s.id;
  s.progress.clear();
  const last = s.log.lastIndex();
  for (const member of s.membership.members) {
    const pr = new Progress(member.id, member.role, last + 1);
    pr.recentActive = true;
    s.progress.set(member.id, pr);
  }
  const self = s.progress.get(s.id)!;
  self.match = s.log.stableIndex;
  self.becomeReplicate();
  s.pendingConfIndex = last;
  s.uncommittedBytes = 0;
  s.readIndexQueue.takeAll(); // start clean: reads of an earlier leadership were failed when it ended
  resetTimers(s);
  // An empty entry of the new term lets the leader commit (Raft §5.4.2,
  // Figure 8): only current-term entries are committed by counting replicas.
  appendAsLeader(s, [{ term: s.term, index: last + 1, type: EntryType.Normal, data: EMPTY_DATA }]);
}

/** CheckQuorum: a quorum of voters (this node included) was heard from since the last round. */
export function quorumActive(s: CoreState): boolean {
  let active = 0;
  for (const id of voters(s.membership)) {
    if (id === s.id || s.progress.get(id)?.recentActive) active++;
  }
  return active >= quorumSize(s.membership);
}

/** RaftCore.transferLeadership: catch `to` up, then tell it to campaign at once (TimeoutNow). */
export function startLeadershipTransfer(s: CoreState, to: NodeId): TransferResult {
  if (s.role !== "leader") return { ok: false, reason: "this node is not the leader" };
  if (to === s.id) return { ok: true };
  if (!isVoter(s.membership, to)) return { ok: false, reason: `${to} is not a voter` };
  if (s.leadTransferee === to) return { ok: true };
  s.leadTransferee = to;
  s.transferElapsedTicks = 0;
  s.electionElapsedTicks = 0;
  const pr = s.progress.get(to)!;
  if (pr.match === s.log.lastIndex()) s.send({ type: "timeoutNow", from: s.id, to, term: s.term });
  else replicateTo(s, to, true);
  return { ok: true };
}

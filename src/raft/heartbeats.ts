import type { CoreState } from "./state.js";
import type { HeartbeatRequest } from "./types.js";

/**
 * Heartbeats, both ends: the leader's round to every other member (it keeps
 * their election timers quiet, carries the commit index, and confirms
 * leadership for ReadIndex) and a follower's answer. The leader's handling of
 * the answers is in replication.ts: they drive probing and resending.
 *
 * Apart from replication.ts because ReadIndex (leader-reads.ts) starts
 * heartbeat rounds while replication.ts releases reads: both import this
 * file, and it imports neither.
 */

/** Leader: one heartbeat to every other member, carrying `readContext` (0: no read to confirm). */
export function bcastHeartbeat(s: CoreState, readContext: number): void {
  for (const pr of s.progress.values()) {
    if (pr.id === s.id) continue;
    const m: HeartbeatRequest = {
      type: "heartbeat",
      from: s.id,
      to: pr.id,
      term: s.term,
      // Never tell a follower to commit past what it is known to hold.
      commit: Math.min(pr.match, s.log.committed),
      readContext,
    };
    s.send(m);
    if (m.commit > pr.commitSent) pr.commitSent = m.commit;
  }
}

/** Follower: move the commit point as far as is safe and answer. */
export function handleHeartbeat(s: CoreState, m: HeartbeatRequest): void {
  // The leader sends min(match, commit), but a follower that lost its disk (or
  // its log tail) no longer holds `match`. Commit only what is provably the
  // leader's: an entry of the current term came from this leader, and log
  // matching makes everything below it the leader's too.
  if (s.log.lastTerm() === s.term) s.log.commitTo(Math.min(m.commit, s.log.lastIndex()));
  // The leader believes we hold entries we do not (our disk was wiped, or lost
  // its tail): say where our log ends so it forgets its match and probes. A
  // heartbeat's commit never exceeds what we acknowledged this term, so this is
  // proof of loss even if the answer arrives late. Without it an idle leader
  // would never find out.
  const logEndIfBehind = m.commit > s.log.lastIndex() ? s.log.lastIndex() : -1;
  s.send({
    ...s.header("heartbeatResp", m.from),
    readContext: m.readContext,
    logEndIfBehind,
  });
}

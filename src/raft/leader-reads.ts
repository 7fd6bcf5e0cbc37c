import { bcastHeartbeat } from "./heartbeats.js";
import { isVoter, quorumSize, voters } from "./membership.js";
import type { CoreState } from "./state.js";
import type { NodeId } from "./types.js";

/**
 * A leader's side of ReadIndex (Raft thesis §6.4): a read is answered at once
 * (a single voter), parked until this leader has committed in its term, or
 * confirmed by a heartbeat round echoed by a quorum; read-index.ts keeps the
 * books. The answer goes to the local caller as a ReadState, or to the
 * follower that forwarded the request. The follower's forwarding is in
 * core.ts (readIndex, step).
 */

/** A read arrived on the leader, from this node or forwarded by `from`. */
export function leaderReadIndex(s: CoreState, requestId: number, from: NodeId): void {
  if (s.readIndexQueue.size >= s.config.maxPendingReads) {
    answerRead(s, requestId, from, -1);
    return;
  }
  if (s.log.term(s.log.committed) !== s.term) {
    // Until this leader commits in its own term it does not know the true commit index.
    s.readIndexQueue.awaitCommit({ requestId, from });
    return;
  }
  if (voters(s.membership).length === 1) {
    answerRead(s, requestId, from, s.log.committed);
    return;
  }
  bcastHeartbeat(s, s.readIndexQueue.track({ requestId, from }, s.log.committed, s.id));
}

/** `from` echoed the heartbeat round `seq`: answer the reads a quorum has now confirmed. */
export function ackReads(s: CoreState, from: NodeId, seq: number): void {
  const released = s.readIndexQueue.ack(
    from,
    seq,
    (id) => isVoter(s.membership, id),
    quorumSize(s.membership),
  );
  for (const { read, index } of released) answerRead(s, read.requestId, read.from, index);
}

/** Index -1: the read failed; the caller retries (e.g. on the new leader). */
export function answerRead(s: CoreState, requestId: number, from: NodeId, index: number): void {
  if (from === s.id) s.readStates.push({ requestId, index });
  else s.send({ ...s.header("readIndexResp", from), requestId, index });
}

/** Leadership ended: every read still waiting fails. */
export function failPendingReads(s: CoreState): void {
  for (const r of s.readIndexQueue.takeAll()) answerRead(s, r.requestId, r.from, -1);
}

import { becomeFollower } from "./elections.js";
import { applyConfChange, decodeConfChange } from "./membership.js";
import { Progress } from "./progress.js";
import { bcastAppend, maybeCommit, replicateTo } from "./replication.js";
import type { CoreState } from "./state.js";
import type { Entry } from "./types.js";

/**
 * A committed membership change taking effect as it is applied: the new
 * configuration, the history the next local snapshot needs (snapshots.ts),
 * this node's role in it, and on the leader the progress of the member added
 * or removed and a new commit count. Validation and the encoding are in
 * membership.ts; proposing a change is in proposals.ts.
 */

/** A conf change entry was applied (from advance(), in log order). */
export function applyConfChangeEntry(s: CoreState, e: Entry): void {
  const cc = decodeConfChange(e.data);
  const before = s.membership;
  s.membership = applyConfChange(s.membership, cc);
  // Bounded: pruned at every snapshot, and at most one change per applied entry in between.
  s.confHistory.push({ index: e.index, before, membership: s.membership });
  if (s.role !== "leader") {
    if (s.role === "follower" || s.role === "learner") s.role = s.promotable() ? "follower" : "learner";
    // A (pre)candidate that has just applied its own removal must stop campaigning:
    // otherwise the votes in flight could make a non-member leader (found by the
    // simulation campaign, seed 9860; becomeLeader crashed on its missing progress).
    else if (!s.promotable()) becomeFollower(s, s.term, null);
    return;
  }
  if (cc.type === "remove" && cc.nodeId === s.id) {
    // A removed leader steps down; the rest elect a new one.
    becomeFollower(s, s.term, null);
    return;
  }
  if (cc.type === "addLearner") {
    const pr = new Progress(cc.nodeId, "learner", s.log.lastIndex() + 1);
    pr.recentActive = true;
    s.progress.set(cc.nodeId, pr);
  } else if (cc.type === "promote") {
    const pr = s.progress.get(cc.nodeId);
    if (pr !== undefined) pr.role = "voter";
  } else {
    s.progress.delete(cc.nodeId);
    if (s.leadTransferee === cc.nodeId) s.leadTransferee = null;
  }
  // The quorum changed: maybe more is committed now.
  if (maybeCommit(s)) bcastAppend(s);
  else if (cc.type === "addLearner") replicateTo(s, cc.nodeId, true);
}

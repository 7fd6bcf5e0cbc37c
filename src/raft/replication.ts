import { ackReads, leaderReadIndex } from "./leader-reads.js";
import type { Progress } from "./progress.js";
import { onSnapshotResponse } from "./snapshot-sender.js";
import { sendSnapshotChunks, startSnapshot } from "./snapshots.js";
import type { CoreState } from "./state.js";
import type {
  AppendRequest,
  AppendResponse,
  Entry,
  HeartbeatResponse,
  NodeId,
  SnapshotResponse,
} from "./types.js";

/**
 * Log replication. The leader's side: append new entries, keep every
 * follower's log in step (probe, then pipelined appends within the in-flight
 * bounds, a snapshot transfer when it is behind the compaction point), learn
 * from the followers' answers, and commit what a quorum holds. The
 * follower's side: the log matching check and fast backtracking on an append.
 */

// ---------------------------------------------------------------------------
// Leader
// ---------------------------------------------------------------------------

/** Leader: append entries of its term and send them to every follower that can take them now. */
export function appendAsLeader(s: CoreState, entries: Entry[]): void {
  s.log.append(entries);
  s.uncommittedBytes += entryBytes(entries); // (perf: no intermediate array)
  // The leader counts itself only once its own write is durable (advance).
  for (const id of s.progress.keys()) if (id !== s.id) replicateTo(s, id, false);
}

/** Send what the follower needs: appends (pipelined in replicate state), or a snapshot. */
export function replicateTo(s: CoreState, to: NodeId, sendIfEmpty: boolean): void {
  if (!sendAppend(s, to, sendIfEmpty)) return;
  const pr = s.progress.get(to);
  while (pr !== undefined && pr.state === "replicate" && sendAppend(s, to, false)) {
    // keep pipelining until the in-flight bounds or the end of the log
  }
}

/** One append to `to` (unless it is paused), or the start of a snapshot transfer; false if nothing was sent. */
function sendAppend(s: CoreState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = s.progress.get(to);
  if (pr === undefined) return false;
  if (pr.isPaused(s.config.maxInflightMsgs, s.config.maxInflightBytes)) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = s.log.term(prevIndex);
  if (prevTerm === undefined) {
    startSnapshot(s, pr);
    return false;
  }
  const entries =
    pr.next <= s.log.lastIndex()
      ? s.log.slice(
          pr.next,
          s.log.lastIndex() + 1,
          pr.state === "probe" ? 1 : s.config.maxEntriesPerMsg,
          s.config.maxBytesPerMsg,
        )
      : [];
  if (entries.length === 0 && !sendIfEmpty) return false;
  const m: AppendRequest = {
    type: "append",
    from: s.id,
    to,
    term: s.term,
    prevIndex,
    prevTerm,
    entries,
    commit: s.log.committed,
  };
  s.send(m);
  if (m.commit > pr.commitSent) pr.commitSent = m.commit;
  const last = entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex;
  pr.sentAppend(last, entryBytes(entries), entries.length);
  return true;
}

/** Every follower gets what it lacks, or at least an empty append (e.g. to learn the new commit index). */
export function bcastAppend(s: CoreState): void {
  for (const id of s.progress.keys()) if (id !== s.id) replicateTo(s, id, true);
}

/**
 * Leader, each tick (with commitNoticeOnTick): a follower that holds entries
 * it was not told are committed gets an append now (new entries, or an empty
 * one carrying the commit index) unless its window is full.
 */
export function sendOwedCommitNotices(s: CoreState): void {
  for (const pr of s.progress.values()) {
    if (pr.id === s.id || pr.state !== "replicate") continue;
    if (pr.commitSent < Math.min(s.log.committed, pr.match)) replicateTo(s, pr.id, true);
  }
}

/** Leader: a follower's answer to an append moves its progress, backs up after a rejection, may commit. */
export function handleAppendResponse(s: CoreState, m: AppendResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  heardFrom(s, pr);
  if (m.reject) {
    let hint = m.rejectHint;
    if (m.hintTerm > 0) hint = s.log.findConflictByTerm(m.rejectHint, m.hintTerm);
    if (pr.maybeDecreaseTo(m.index, hint)) {
      if (pr.state === "replicate") pr.becomeProbe();
      replicateTo(s, m.from, true);
    }
    return;
  }
  const wasPaused = pr.isPaused(s.config.maxInflightMsgs, s.config.maxInflightBytes);
  if (!pr.maybeUpdate(m.index)) {
    if (pr.state === "probe" && m.index === pr.match && m.index > 0) {
      // As etcd does: a probe acknowledged exactly at match (e.g. the first append
      // after an InstallSnapshot set match) also proves where the follower's log
      // ends. Without this the follower stayed in probe, paused, until the next
      // heartbeat, and then got one entry per round trip.
      pr.becomeReplicate();
      replicateTo(s, m.from, false);
    } else if (wasPaused && pr.state === "replicate") replicateTo(s, m.from, false);
    return;
  }
  if (pr.state === "probe") pr.becomeReplicate();
  else if (pr.state === "snapshot" && pr.match >= pr.snapshotIndex) {
    pr.becomeProbe();
    pr.becomeReplicate();
  }
  if (maybeCommit(s) && !s.config.commitNoticeOnTick) bcastAppend(s);
  else replicateTo(s, m.from, false);
  if (m.from === s.leadTransferee && pr.match === s.log.lastIndex()) {
    s.send({ type: "timeoutNow", from: s.id, to: m.from, term: s.term });
  }
}

/** Leader: a heartbeat answer shows the follower alive, may reveal lost appends or a lost log, and acks reads. */
export function handleHeartbeatResponse(s: CoreState, m: HeartbeatResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  heardFrom(s, pr);
  pr.probeSent = false;
  if (m.logEndIfBehind >= 0 && m.logEndIfBehind < pr.match) pr.forgetMatch(m.logEndIfBehind);
  // The in-flight window is full and nothing was acknowledged for a whole heartbeat
  // interval: those appends were lost (the follower restarted, a stream broke).
  // Replicate state would wait for their answers forever; probe from match instead.
  if (pr.stalledSinceLastHeartbeat(s.config.maxInflightMsgs, s.config.maxInflightBytes)) pr.becomeProbe();
  // sendIfEmpty (as etcd does): a follower in replicate state whose last append
  // was lost gets an empty append at next-1, rejects it, and the leader backs up.
  // Without it an idle leader never re-sent a lost append (nothing committed
  // until the next proposal).
  if (pr.match < s.log.lastIndex()) replicateTo(s, m.from, true);
  if (m.readContext > 0) ackReads(s, m.from, m.readContext);
}

/** Leader: a follower's answer to snapshot chunks; once it holds the snapshot, appends resume from there. */
export function handleSnapshotResponse(s: CoreState, m: SnapshotResponse): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  heardFrom(s, pr);
  const next = onSnapshotResponse(pr, m);
  if (next === "done") {
    pr.maybeUpdate(m.snapshotIndex);
    pr.becomeProbe();
    replicateTo(s, m.from, true);
  } else if (next === "more") {
    sendSnapshotChunks(s, pr);
  }
}

function heardFrom(s: CoreState, pr: Progress): void {
  pr.recentActive = true;
  pr.lastContactTick = s.tickCount;
}

/** Commit the highest index replicated on a quorum, if it is from this term. */
export function maybeCommit(s: CoreState): boolean {
  // (perf: called on every acknowledgement; walk the members once, no voters() arrays)
  const matches: number[] = [];
  for (const m of s.membership.members)
    if (m.role === "voter") matches.push(s.progress.get(m.id)?.match ?? 0);
  if (matches.length === 0) return false;
  matches.sort((a, b) => b - a);
  const q = matches[matches.length >> 1]!; // the quorumSize-th highest: quorumSize = floor(n / 2) + 1
  if (q <= s.log.committed || s.log.term(q) !== s.term) return false;
  const before = s.log.committed;
  s.log.commitTo(q);
  for (let i = before + 1; i <= q; i++) s.uncommittedBytes -= s.log.entry(i)?.data.byteLength ?? 0;
  if (s.uncommittedBytes < 0) s.uncommittedBytes = 0;
  // q > before here: reads that waited for this term's first commit can go ahead.
  for (const r of s.readIndexQueue.takeAwaitingCommit()) leaderReadIndex(s, r.requestId, r.from);
  return true;
}

// ---------------------------------------------------------------------------
// Follower
// ---------------------------------------------------------------------------

/** Follower: log matching (Raft §5.3); on a mismatch, a hint for fast backtracking. */
export function handleAppend(s: CoreState, m: AppendRequest): void {
  const base = s.header("appendResp", m.from);
  if (m.prevIndex < s.log.committed) {
    s.send({
      ...base,
      reject: false,
      index: s.log.committed,
      rejectHint: 0,
      hintTerm: 0,
    });
    return;
  }
  if (s.log.matchTerm(m.prevIndex, m.prevTerm)) {
    if (m.entries.length > 0) s.log.appendFromLeader(m.entries);
    const lastNew = m.prevIndex + m.entries.length;
    s.log.commitTo(Math.min(m.commit, lastNew));
    // (perf: the hot path builds its answer without an object spread)
    const ok: AppendResponse = {
      type: "appendResp",
      from: s.id,
      to: m.from,
      term: s.term,
      reject: false,
      index: lastNew,
      rejectHint: 0,
      hintTerm: 0,
    };
    s.send(ok);
    return;
  }
  const hint = s.log.findConflictByTerm(Math.min(m.prevIndex, s.log.lastIndex()), m.prevTerm);
  s.send({
    ...base,
    reject: true,
    index: m.prevIndex,
    rejectHint: hint,
    hintTerm: s.log.term(hint) ?? 0,
  });
}

function entryBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

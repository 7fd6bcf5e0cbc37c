import { assert } from "./assert.js";
import { applyConfChangeEntry } from "./conf-changes.js";
import { bcastAppend, maybeCommit } from "./replication.js";
import type { CoreState } from "./state.js";
import {
  EntryType,
  type Entry,
  type HardState,
  type Message,
  type Ready,
  type ReadyOptions,
} from "./types.js";

/**
 * The hand-over to the runtime: whether anything is ready, the Ready batch
 * itself (entries and hard state to persist, messages, committed entries to
 * apply, snapshots), the messages that may leave before its write, and
 * advance() once it is durable and applied: entries become stable, the
 * applied index moves (conf changes take effect), and a leader counts its
 * own write towards the commit. One Ready is outstanding at a time.
 */

function currentHardState(s: CoreState): HardState {
  return { term: s.term, vote: s.vote, commit: s.log.committed };
}

/** RaftCore.hasReady: something to persist, send or apply, and no Ready outstanding. */
export function isReady(s: CoreState, o?: ReadyOptions): boolean {
  if (s.outstandingReady !== null) return false;
  const hs = currentHardState(s);
  return (
    s.outbox.length > 0 ||
    s.readStates.length > 0 ||
    s.log.stableIndex < s.log.lastIndex() ||
    (o?.takeCommitted !== false && s.log.applied < s.log.committed) ||
    s.pendingInstall !== null ||
    s.pendingLocalSnapshot !== null ||
    !sameHardState(hs, s.persistedHardState)
  );
}

/** RaftCore.ready. */
export function takeReady(s: CoreState, o?: ReadyOptions): Ready {
  assert(s.outstandingReady === null, "ready() called before advance() of the previous Ready");
  const hs = currentHardState(s);
  const entries =
    s.log.stableIndex < s.log.lastIndex() ? s.log.slice(s.log.stableIndex + 1, s.log.lastIndex() + 1) : [];
  const committedEntries =
    o?.takeCommitted !== false && s.log.applied < s.log.committed
      ? s.log.slice(s.log.applied + 1, s.log.committed + 1, s.config.maxApplyEntries)
      : [];
  const rd: Ready = {
    hardState: sameHardState(hs, s.persistedHardState) ? null : hs,
    entries,
    snapshot: s.pendingInstall,
    committedEntries,
    messages: s.outbox,
    readStates: s.readStates,
    compactedThrough: s.pendingCompactedThrough,
    localSnapshot: s.pendingLocalSnapshot,
  };
  s.outbox = [];
  s.readStates = [];
  s.pendingInstall = null;
  s.pendingLocalSnapshot = null;
  s.pendingCompactedThrough = 0;
  s.outstandingReady = rd;
  return rd;
}

/**
 * A leader's messages that need not wait for its own write: appends, heartbeats and snapshot
 * chunks (thesis §10.2.1), and TimeoutNow, which hands leadership to a follower that holds all
 * our entries durably (a leader whose disk stalls hands off with it). The runtime sends these
 * before a Ready's write too.
 */
export function leaderSafeBeforeWrite(m: Message): boolean {
  return m.type === "append" || m.type === "heartbeat" || m.type === "snapshot" || m.type === "timeoutNow";
}

/** RaftCore.takeEarlyMessages. */
export function takeMessagesNotWaitingForWrite(s: CoreState): Message[] {
  if (s.outbox.length === 0) return [];
  const termDurable = s.term === s.persistedHardState.term;
  const early: Message[] = [];
  const rest: Message[] = [];
  for (const m of s.outbox) {
    (leaderSafeBeforeWrite(m) || (m.type === "heartbeatResp" && termDurable) ? early : rest).push(m);
  }
  s.outbox = rest;
  return early;
}

/** RaftCore.takeEarlyCommitted. */
export function takeCommittedNotWaitingForWrite(s: CoreState, o?: ReadyOptions): Entry[] {
  const rd = s.outstandingReady;
  if (rd === null || o?.takeCommitted === false || s.log.applied >= s.log.committed) return [];
  // A snapshot being installed, or a membership change taking effect, keeps the
  // ordinary path: applied in advance(), after the write.
  if (rd.snapshot !== null || s.pendingInstall !== null) return [];
  if (rd.committedEntries.some((e) => e.type !== EntryType.Normal)) return [];
  // The outstanding Ready's committed entries went to the application before its
  // write (the caller's contract): they count as applied from here on.
  const prior = rd.committedEntries[rd.committedEntries.length - 1];
  if (prior !== undefined && prior.index > s.log.applied) s.log.applied = prior.index;
  const taken: Entry[] = [];
  for (const e of s.log.slice(s.log.applied + 1, s.log.committed + 1, s.config.maxApplyEntries)) {
    if (e.type !== EntryType.Normal) break;
    taken.push(e);
  }
  const last = taken[taken.length - 1];
  if (last !== undefined) s.log.applied = last.index;
  return taken;
}

/** RaftCore.advance. */
export function advanceReady(s: CoreState, rd: Ready): void {
  assert(s.outstandingReady === rd, "advance() of a Ready that is not the outstanding one");
  s.outstandingReady = null;
  if (rd.hardState !== null) s.persistedHardState = rd.hardState;
  const last = rd.entries[rd.entries.length - 1];
  // If our tail was replaced meanwhile, the terms differ and nothing becomes stable.
  if (last !== undefined && s.log.matchTerm(last.index, last.term)) {
    s.log.stableIndex = Math.max(s.log.stableIndex, last.index);
  }
  for (const e of rd.committedEntries) {
    if (e.index <= s.log.applied) continue; // superseded by an installed snapshot
    s.log.applied = e.index;
    if (e.type === EntryType.ConfChange) applyConfChangeEntry(s, e);
  }
  if (s.role === "leader") {
    const self = s.progress.get(s.id);
    if (self !== undefined && self.maybeUpdate(s.log.stableIndex) && maybeCommit(s)) {
      if (!s.config.commitNoticeOnTick) bcastAppend(s);
    }
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

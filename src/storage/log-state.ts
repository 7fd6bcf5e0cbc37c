/**
 * The small, pure part of the store: snapshot position, log bounds, the term of
 * every stored index (as runs) and the stable records. Both implementations run
 * every batch through applyOutline(), so they validate and truncate identically;
 * RocksStorage keeps only this in memory, never the entries themselves.
 */
import type { HardState } from "../raft/types.js";
import { invalidWrite, StorageFatalError } from "./errors.js";
import type { StorageMeta } from "./raft-storage.js";
import { EMPTY_HARD_STATE } from "./raft-storage.js";

/** Entries from `startIndex` up to the next run (or lastIndex) all have `term`. */
export interface TermRun {
  readonly startIndex: number;
  readonly term: number;
}

/** Invariant: the log holds exactly the entries snapshotIndex+1 .. lastIndex (empty if equal). */
export interface LogState {
  readonly meta: StorageMeta | null;
  readonly hardState: HardState;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly lastIndex: number;
  readonly runs: readonly TermRun[];
}

/** What a WriteBatch changes, without the payload bytes. */
export interface BatchOutline {
  readonly meta?: StorageMeta;
  readonly snapshot?: { readonly index: number; readonly term: number };
  readonly compactThrough?: number;
  readonly entries?: { readonly firstIndex: number; readonly terms: readonly number[] };
  readonly hardState?: HardState;
}

export const EMPTY_LOG_STATE: LogState = Object.freeze({
  meta: null,
  hardState: EMPTY_HARD_STATE,
  snapshotIndex: 0,
  snapshotTerm: 0,
  lastIndex: 0,
  runs: [],
});

export function firstIndex(state: LogState): number {
  return state.snapshotIndex + 1;
}

/** Term at `index`: the snapshot's at its index, an entry's within the log, else undefined. */
export function termAt(state: LogState, index: number): number | undefined {
  if (index === state.snapshotIndex) return state.snapshotTerm;
  if (index <= state.snapshotIndex || index > state.lastIndex) return undefined;
  for (let i = state.runs.length - 1; i >= 0; i--) {
    const run = state.runs[i]!;
    if (run.startIndex <= index) return run.term;
  }
  throw new StorageFatalError("corruption", `term runs do not cover index ${index}`);
}

/** Validates the whole batch first, then returns the new state: a rejected batch changes nothing. */
export function applyOutline(state: LogState, batch: BatchOutline): LogState {
  let next = state;
  if (batch.meta !== undefined) next = applyMeta(next, batch.meta);
  const entries = batch.entries !== undefined && batch.entries.terms.length > 0 ? batch.entries : null;
  // Entries that reach back to the snapshot (a leader's local snapshot of entries it is
  // persisting in this same batch) go first; entries after it (an installed snapshot
  // plus the log that follows) go after it.
  const entriesFirst =
    entries !== null && batch.snapshot !== undefined && entries.firstIndex <= batch.snapshot.index;
  if (entriesFirst) next = applyEntries(next, entries.firstIndex, entries.terms);
  if (batch.snapshot !== undefined) next = applySnapshot(next, batch.snapshot.index, batch.snapshot.term);
  if (entries !== null && !entriesFirst) next = applyEntries(next, entries.firstIndex, entries.terms);
  if (batch.compactThrough !== undefined) checkCompaction(next, batch.compactThrough);
  if (batch.hardState !== undefined) next = applyHardState(next, batch.hardState);
  return next;
}

/** Rebuilds the term runs from the stored entries' terms, in index order. */
export function withTerms(state: LogState, firstIdx: number, terms: readonly number[]): LogState {
  return { ...state, runs: appendRuns(truncateRunsAfter(state.runs, firstIdx - 1), firstIdx, terms) };
}

function applyMeta(state: LogState, meta: StorageMeta): LogState {
  if (!isNonEmptyString(meta.clusterId) || !isNonEmptyString(meta.nodeId)) {
    throw invalidWrite(`meta needs a non-empty clusterId and nodeId, got ${JSON.stringify(meta)}`);
  }
  const old = state.meta;
  if (old === null) return { ...state, meta: { clusterId: meta.clusterId, nodeId: meta.nodeId } };
  if (old.clusterId !== meta.clusterId || old.nodeId !== meta.nodeId) {
    throw new StorageFatalError(
      "cluster-mismatch",
      `this data dir belongs to cluster ${JSON.stringify(old.clusterId)} node ${JSON.stringify(old.nodeId)}, ` +
        `not cluster ${JSON.stringify(meta.clusterId)} node ${JSON.stringify(meta.nodeId)}`,
    );
  }
  return state;
}

function applySnapshot(state: LogState, index: number, term: number): LogState {
  checkIndex("snapshot index", index);
  checkIndex("snapshot term", term);
  if (index < state.snapshotIndex) {
    throw invalidWrite(
      `snapshot at index ${index} is older than the stored snapshot at ${state.snapshotIndex}`,
    );
  }
  // Raft §7: keep the entries after the snapshot only if our log agrees with it at its index.
  const keepTail = state.lastIndex > index && termAt(state, index) === term;
  if (keepTail) {
    return {
      ...state,
      snapshotIndex: index,
      snapshotTerm: term,
      runs: trimRunsBefore(state.runs, index + 1),
    };
  }
  return { ...state, snapshotIndex: index, snapshotTerm: term, lastIndex: index, runs: [] };
}

function checkCompaction(state: LogState, through: number): void {
  checkIndex("compactThrough", through);
  if (through > state.snapshotIndex) {
    throw invalidWrite(
      `compactThrough ${through} is past the snapshot index ${state.snapshotIndex}: ` +
        `entries ${state.snapshotIndex + 1}..${through} are not covered by a snapshot`,
    );
  }
  // Entries <= snapshotIndex are never stored, so a valid compaction has nothing left to delete.
}

function applyEntries(state: LogState, first: number, terms: readonly number[]): LogState {
  checkIndex("entries[0].index", first);
  if (first <= state.snapshotIndex) {
    throw invalidWrite(`entries start at index ${first}, inside the snapshot (index ${state.snapshotIndex})`);
  }
  if (first > state.lastIndex + 1) {
    throw invalidWrite(
      `entries start at index ${first} but the log ends at ${state.lastIndex}: that leaves a gap`,
    );
  }
  let prevTerm = termAt(state, first - 1)!;
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i]!;
    checkIndex(`term of entry ${first + i}`, term);
    if (term < prevTerm) {
      throw invalidWrite(`entry ${first + i} has term ${term}, lower than term ${prevTerm} before it`);
    }
    prevTerm = term;
  }
  const lastIndex = first + terms.length - 1;
  return { ...state, lastIndex, runs: appendRuns(truncateRunsAfter(state.runs, first - 1), first, terms) };
}

function applyHardState(state: LogState, hs: HardState): LogState {
  checkIndex("hardState.term", hs.term);
  checkIndex("hardState.commit", hs.commit);
  if (hs.vote !== null && !isNonEmptyString(hs.vote)) {
    throw invalidWrite(`hardState.vote must be null or a node id, got ${JSON.stringify(hs.vote)}`);
  }
  const old = state.hardState;
  if (hs.term < old.term) throw invalidWrite(`term would go back from ${old.term} to ${hs.term}`);
  if (hs.term === old.term && old.vote !== null && hs.vote !== old.vote) {
    throw invalidWrite(
      `vote in term ${hs.term} would change from ${JSON.stringify(old.vote)} to ${JSON.stringify(hs.vote)}`,
    );
  }
  if (hs.commit < old.commit) throw invalidWrite(`commit would go back from ${old.commit} to ${hs.commit}`);
  return { ...state, hardState: { term: hs.term, vote: hs.vote, commit: hs.commit } };
}

function truncateRunsAfter(runs: readonly TermRun[], last: number): TermRun[] {
  return runs.filter((r) => r.startIndex <= last);
}

function trimRunsBefore(runs: readonly TermRun[], first: number): TermRun[] {
  const kept: TermRun[] = [];
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    const nextStart = runs[i + 1]?.startIndex ?? Infinity;
    if (nextStart <= first) continue;
    kept.push(run.startIndex < first ? { startIndex: first, term: run.term } : run);
  }
  return kept;
}

function appendRuns(runs: TermRun[], first: number, terms: readonly number[]): TermRun[] {
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i]!;
    if (runs.length === 0 || runs[runs.length - 1]!.term !== term) runs.push({ startIndex: first + i, term });
  }
  return runs;
}

function checkIndex(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw invalidWrite(`${what} must be a non-negative integer, got ${n}`);
}

function isNonEmptyString(s: unknown): s is string {
  return typeof s === "string" && s.length > 0;
}

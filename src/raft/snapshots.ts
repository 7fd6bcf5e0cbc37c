import { assert } from "./assert.js";
import type { Progress } from "./progress.js";
import { rewindIfSilent, snapshotChunksFor } from "./snapshot-sender.js";
import type { CoreState } from "./state.js";
import type { Membership, Snapshot, SnapshotChunk, SnapshotResponse } from "./types.js";

/**
 * The core's side of snapshots: one taken locally by the application (the
 * log before it is compacted), the leader's transfer of its latest snapshot
 * to a follower behind the compaction point, and a follower's installation of
 * the snapshot it received. The chunk window and the chunk assembly are in
 * snapshot-sender.ts and snapshot-receiver.ts; the leader's handling of the
 * follower's answers is in replication.ts, which resumes appends afterwards.
 */

/** RaftCore.createSnapshot: keep the application's snapshot at `index` and compact the log before it. */
export function recordLocalSnapshot(s: CoreState, index: number, data: Uint8Array): void {
  assert(index <= s.log.applied, () => `snapshot at ${index} but applied is only ${s.log.applied}`);
  if (s.snapshot !== null && index <= s.snapshot.metadata.index) return;
  const term = s.log.term(index);
  assert(term !== undefined, () => `snapshot index ${index} is not in the log`);
  const snap: Snapshot = { metadata: { index, term, membership: membershipAt(s, index) }, data };
  s.snapshot = snap;
  s.pendingLocalSnapshot = snap;
  s.confHistory = s.confHistory.filter((h) => h.index > index);
  const compactTo = Math.min(index - s.config.snapshotTailEntries, s.log.stableIndex);
  if (compactTo > s.log.prevIndex) {
    s.log.compact(compactTo);
    s.pendingCompactedThrough = Math.max(s.pendingCompactedThrough, compactTo);
  }
}

/** The configuration in effect once `index` was applied (index <= applied). */
function membershipAt(s: CoreState, index: number): Membership {
  let m: Membership | null = null;
  for (const h of s.confHistory) if (h.index <= index) m = h.membership;
  if (m !== null) return m;
  // No change applied since the snapshot in [snapshot, index]: the snapshot's
  // configuration, or the current one if the history was never needed.
  const later = s.confHistory.find((h) => h.index > index);
  return later?.before ?? s.membership;
}

/** Leader: `pr` needs entries that were compacted away; send it the latest snapshot instead. */
export function startSnapshot(s: CoreState, pr: Progress): void {
  const snap = s.snapshot;
  assert(snap !== null, "log compacted without a snapshot");
  pr.becomeSnapshot(snap.metadata.index, s.tickCount);
  sendSnapshotChunks(s, pr);
}

/** Leader: the next chunks of the transfer to `pr`, as far as its window allows. */
export function sendSnapshotChunks(s: CoreState, pr: Progress): void {
  const window = {
    chunkBytes: s.config.snapshotChunkBytes,
    maxInflightChunks: s.config.maxInflightSnapshotChunks,
  };
  const header = { from: s.id, term: s.term };
  for (const chunk of snapshotChunksFor(pr, s.snapshot!, window, header, s.tickCount)) s.send(chunk);
}

/** Chunks get lost: resend from the last acknowledged offset after an election timeout of silence. */
export function retransmitSnapshots(s: CoreState): void {
  for (const pr of s.progress.values()) {
    if (pr.state !== "snapshot") continue;
    const index = s.snapshot!.metadata.index;
    if (rewindIfSilent(pr, index, s.tickCount, s.config.electionTimeoutMinTicks)) sendSnapshotChunks(s, pr);
  }
}

/** Follower: a chunk from the leader; install the snapshot once whole, and answer. */
export function handleSnapshotChunk(s: CoreState, m: SnapshotChunk): void {
  const r = s.snapshotReceiver.receive(m, s.log.committed);
  if (r.complete !== null) installSnapshot(s, r.complete);
  s.send({
    ...s.header("snapshotResp", m.from),
    snapshotIndex: m.metadata.index,
    offset: r.offset,
    reject: r.reject,
    done: r.done,
  } satisfies SnapshotResponse);
}

function installSnapshot(s: CoreState, snap: Snapshot): void {
  const { index, term } = snap.metadata;
  if (s.log.matchTerm(index, term)) {
    // Our log already holds it: just move the commit point.
    s.log.commitTo(index);
    return;
  }
  s.log.restore(index, term);
  s.confHistory = [];
  s.snapshot = snap;
  s.membership = snap.metadata.membership;
  s.pendingInstall = snap;
  if (s.role === "follower" || s.role === "learner") s.role = s.promotable() ? "follower" : "learner";
}

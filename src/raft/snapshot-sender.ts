import type { Progress } from "./progress.js";
import type { NodeId, Snapshot, SnapshotChunk, SnapshotResponse } from "./types.js";

/** How much of a snapshot may be unacknowledged on the way to one follower. */
export interface SnapshotWindow {
  readonly chunkBytes: number;
  readonly maxInflightChunks: number;
}

/**
 * The leader's side of InstallSnapshot for one follower, kept in the
 * follower's Progress: chunks go out in order within a window of
 * unacknowledged bytes, the follower's answers move the window (or rewind
 * it after a gap), and a transfer that went silent is resent from the last
 * acknowledged offset. A newer snapshot restarts the transfer from 0.
 * These functions update `pr` and return what to send; the core sends it.
 */
export function snapshotChunksFor(
  pr: Progress,
  snap: Snapshot,
  window: SnapshotWindow,
  header: { readonly from: NodeId; readonly term: number },
  tick: number,
): SnapshotChunk[] {
  if (pr.snapshotIndex !== snap.metadata.index) pr.becomeSnapshot(snap.metadata.index, tick);
  const total = snap.data.byteLength;
  const windowBytes = window.maxInflightChunks * window.chunkBytes;
  const out: SnapshotChunk[] = [];
  // An empty snapshot still needs one (empty, final) chunk.
  let first = pr.snapshotSentBytes === 0 && pr.snapshotAckedBytes === 0;
  while (
    (pr.snapshotSentBytes < total || first) &&
    pr.snapshotSentBytes - pr.snapshotAckedBytes < windowBytes
  ) {
    first = false;
    const offset = pr.snapshotSentBytes;
    const end = Math.min(total, offset + window.chunkBytes);
    out.push({
      type: "snapshot",
      from: header.from,
      to: pr.id,
      term: header.term,
      metadata: snap.metadata,
      offset,
      totalBytes: total,
      data: snap.data.subarray(offset, end),
      done: end === total,
    });
    pr.snapshotSentBytes = end;
    if (total === 0) break;
  }
  pr.snapshotLastSendTick = tick;
  return out;
}

/**
 * A follower's answer: "done" (it holds the snapshot; the caller moves it to
 * probing), "more" (offsets updated; send the next chunks) or "stale" (about
 * another transfer; ignore).
 */
export function onSnapshotResponse(pr: Progress, m: SnapshotResponse): "done" | "more" | "stale" {
  if (pr.state !== "snapshot" || m.snapshotIndex !== pr.snapshotIndex) return "stale";
  if (m.done) return "done";
  if (m.reject) {
    pr.snapshotAckedBytes = m.offset; // a gap: resend from where the follower is
    pr.snapshotSentBytes = m.offset;
  } else {
    pr.snapshotAckedBytes = Math.max(pr.snapshotAckedBytes, m.offset);
  }
  if (pr.snapshotSentBytes < pr.snapshotAckedBytes) pr.snapshotSentBytes = pr.snapshotAckedBytes;
  return "more";
}

/**
 * Chunks get lost: true (and `pr` rewound to its last acknowledged offset, or
 * to 0 for a newer snapshot) when nothing was sent to `pr` for `silentTicks`.
 */
export function rewindIfSilent(
  pr: Progress,
  snapshotIndex: number,
  tick: number,
  silentTicks: number,
): boolean {
  if (tick - pr.snapshotLastSendTick < silentTicks) return false;
  if (pr.snapshotIndex !== snapshotIndex) {
    pr.becomeSnapshot(snapshotIndex, tick);
  } else {
    pr.snapshotSentBytes = pr.snapshotAckedBytes;
    if (pr.snapshotAckedBytes === 0) pr.becomeSnapshot(pr.snapshotIndex, tick);
  }
  return true;
}

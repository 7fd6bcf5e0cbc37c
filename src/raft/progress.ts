import type { MemberRole, NodeId } from "./types.js";

/**
 * The leader's view of one follower (etcd's Progress):
 * - probe: we do not know where its log ends; one append at a time until it answers.
 * - replicate: it is in sync; appends are pipelined up to the in-flight bounds.
 * - snapshot: it is behind the compaction point and receives an InstallSnapshot.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  state: ProgressState = "probe";
  /** Highest index known to be replicated on the follower. */
  match = 0;
  /** Next index to send. */
  next: number;
  /** Probe mode: an append is outstanding; wait for its answer or the next heartbeat. */
  probeSent = false;
  /** Appends sent and not acknowledged, as [lastIndex, bytes] pairs in send order. */
  private readonly inflight: { lastIndex: number; bytes: number }[] = [];
  private inflightBytes = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Tick of the last successful response (append/heartbeat/snapshot). -1 = never. */
  lastContactTick = -1;
  /** Snapshot state: index of the snapshot being sent and the chunk window. */
  snapshotIndex = 0;
  snapshotAckedBytes = 0;
  snapshotSentBytes = 0;
  snapshotLastSendTick = 0;
  /** Highest commit index this follower was told, in an append or a heartbeat. */
  commitSent = 0;
  /** match when the previous heartbeat response arrived (stalled-window detection). */
  private matchAtLastHeartbeat = -1;

  constructor(
    readonly id: NodeId,
    public role: MemberRole,
    next: number,
  ) {
    this.next = next;
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot's index.
    const from =
      this.state === "snapshot" ? Math.max(this.match + 1, this.snapshotIndex + 1) : this.match + 1;
    this.resetState("probe");
    this.next = from;
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number, tick: number): void {
    this.resetState("snapshot");
    this.snapshotIndex = snapshotIndex;
    this.snapshotAckedBytes = 0;
    this.snapshotSentBytes = 0;
    this.snapshotLastSendTick = tick;
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.inflight.length = 0;
    this.inflightBytes = 0;
    this.snapshotIndex = 0;
  }

  /** A successful append response up to `index`. Returns false if it is stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    this.freeInflightThrough(index);
    return updated;
  }

  /**
   * A rejected append at `rejected`; `hint` is the best index to retry after.
   * Returns false if the rejection is stale (an answer to an older message).
   */
  maybeDecreaseTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false; // stale
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not the probe we sent last
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /**
   * The follower's log ends below `match` (it lost data): forget what it acknowledged
   * and probe from just past its last index (`lastIndex`).
   */
  forgetMatch(lastIndex: number): void {
    this.resetState("probe");
    this.match = 0;
    this.next = Math.max(lastIndex + 1, 1);
  }

  /**
   * Called on each heartbeat response: true when the in-flight window is full and
   * match has not moved since the previous heartbeat response.
   */
  stalledSinceLastHeartbeat(maxMsgs: number, maxBytes: number): boolean {
    const stalled =
      this.state === "replicate" &&
      this.inflightFull(maxMsgs, maxBytes) &&
      this.match === this.matchAtLastHeartbeat;
    this.matchAtLastHeartbeat = this.match;
    return stalled;
  }

  sentAppend(lastIndex: number, bytes: number, count: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflight.push({ lastIndex, bytes });
        this.inflightBytes += bytes;
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  private freeInflightThrough(index: number): void {
    let n = 0;
    while (n < this.inflight.length && this.inflight[n]!.lastIndex <= index) {
      this.inflightBytes -= this.inflight[n]!.bytes;
      n++;
    }
    if (n > 0) this.inflight.splice(0, n);
  }

  inflightFull(maxMsgs: number, maxBytes: number): boolean {
    return this.inflight.length >= maxMsgs || this.inflightBytes >= maxBytes;
  }

  inflightCount(): number {
    return this.inflight.length;
  }

  /** Whether the leader should hold off sending appends. */
  isPaused(maxMsgs: number, maxBytes: number): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflightFull(maxMsgs, maxBytes);
      case "snapshot":
        return true;
    }
  }
}

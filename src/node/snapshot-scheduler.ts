import type { Logger } from "pino";
import type { RaftCore } from "../raft/index.js";
import type { NodeMetrics } from "../observability/metrics.js";
import type { StateMachine } from "./state-machine.js";

export interface SnapshotSchedulerOptions {
  readonly core: RaftCore;
  readonly stateMachine: StateMachine;
  readonly logger: Logger;
  readonly metrics: NodeMetrics | null;
  /** Applied entries between snapshots (at least). */
  readonly snapshotThreshold: number;
  /** Runs core calls so that a throw stops the node (the replica's guard). */
  readonly guard: <T>(fn: () => T) => T | undefined;
  readonly isStopped: () => boolean;
  /** A snapshot finished or was abandoned: run the Ready loop (there may be a snapshot to persist). */
  readonly onDone: () => void;
  /** The state machine has copied what may change: apply what waited. */
  readonly onCopied: () => void;
  /** Wall clock for the snapshot turns (default Date.now). */
  readonly nowMs?: () => number;
  /**
   * Makes a finished snapshot's bytes durable before the core is given it
   * (RaftStorage.stageSnapshot): the write that later persists the snapshot
   * then commits only a pointer, so the node's writes never queue behind
   * tens of megabytes. Apply goes on meanwhile. Absent: nothing to stage.
   */
  readonly stage?: (index: number, data: Uint8Array) => Promise<void>;
}

/**
 * Snapshots are written into shared memory: the storage worker then reads them
 * where they are (posting a SharedArrayBuffer copies nothing), so the main
 * thread never copies a snapshot after serializing it.
 */
const allocateShared = (bytes: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(bytes));

/** Time slice for snapshot serialization before yielding to the event loop. */
const SNAPSHOT_SLICE_MS = 4;
/**
 * A snapshot is due past snapshotThreshold entries *and* once the entries
 * applied since the last one hold at least this fraction of its size. With a
 * small queue that is simply every snapshotThreshold entries; with a large one
 * (300k pending jobs = ~50 MB) snapshotting every 1000 entries would serialize
 * 50 MB per 200 kB of log. This keeps the cost per logged byte constant and the
 * log at most about this fraction of the state's size.
 */
const SNAPSHOT_LOG_TO_STATE_RATIO = 0.5;
/**
 * While the leader sends a snapshot to a follower it takes none of its own:
 * a new snapshot compacts the log the follower needs right after the one it
 * receives, and it would then need another (etcd pauses compaction the same
 * way). Past this many times the log-to-state ratio it snapshots anyway, so a
 * follower stuck in a transfer cannot grow the leader's log without bound.
 */
const SNAPSHOT_DURING_TRANSFER_RATIO = 4;

/**
 * Voters take turns of this length to start snapshots: voter i of n (by id)
 * may start one only in the turns where floor(wall clock / turn) mod n = i.
 * Every node reaches the same log index at about the same time, so without
 * turns all of them snapshotted at once: with a deep queue that is tens of
 * megabytes serialized and written on every node together, which starved a
 * 2-core machine (the commit of client writes needs a quorum of them). A
 * snapshot waits for at most n - 1 turns; clocks out of step only make turns
 * overlap, as they all did before.
 */
export const SNAPSHOT_TURN_MS = 1000;

/**
 * Decides when the state machine is snapshotted and serializes it in slices
 * so heartbeats keep flowing, then hands the bytes to the core (which
 * compacts its log and persists the snapshot in a later Ready). Apply waits
 * only while the state machine copies what may change (`holdsApply`, the
 * first steps of StateMachine.snapshotSteps) and goes on while the bytes are
 * written: the snapshot is of the index at which the copy was made.
 */
export class SnapshotScheduler {
  private readonly o: SnapshotSchedulerOptions;
  private serializing = false;
  private copying = false;
  private staging = false;
  /** Size of the latest snapshot, and bytes of the entries applied since (see SNAPSHOT_LOG_TO_STATE_RATIO). */
  private lastSnapshotBytes: number;
  private appliedBytesSinceSnapshot = 0;

  constructor(options: SnapshotSchedulerOptions) {
    this.o = options;
    this.lastSnapshotBytes = options.core.latestSnapshot()?.data.byteLength ?? 0;
  }

  /**
   * Apply must wait: the state machine is copying what may change (a few
   * steps, 0.2-0.3 s per million jobs), so a snapshot sees one index.
   */
  get holdsApply(): boolean {
    return this.copying;
  }

  /** What the scheduler is doing now (for logs of event-loop stalls). */
  get activity(): "idle" | "copying" | "writing" | "staging" {
    if (!this.serializing) return "idle";
    if (this.copying) return "copying";
    return this.staging ? "staging" : "writing";
  }

  /** An entry of `bytes` was applied. */
  applied(bytes: number): void {
    this.appliedBytesSinceSnapshot += bytes;
  }

  /** The state machine was replaced by a snapshot of `bytes` (from the leader or on restart). */
  restored(bytes: number): void {
    this.lastSnapshotBytes = bytes;
    this.appliedBytesSinceSnapshot = 0;
  }

  /**
   * Start a snapshot when one is due. Call only right after advance(): entries
   * are applied before their Ready is advanced, and the core accepts a snapshot
   * only at an index it has seen applied.
   */
  maybeStart(): void {
    if (
      !this.serializing &&
      this.o.core.entriesSinceSnapshot() >= this.o.snapshotThreshold &&
      this.appliedBytesSinceSnapshot >= this.lastSnapshotBytes * SNAPSHOT_LOG_TO_STATE_RATIO &&
      this.myTurn() &&
      (!this.sendingSnapshot() ||
        this.appliedBytesSinceSnapshot >= this.lastSnapshotBytes * SNAPSHOT_DURING_TRANSFER_RATIO)
    ) {
      void this.take();
    }
  }

  /** See SNAPSHOT_TURN_MS. Learners and lone nodes need no turn. */
  private myTurn(): boolean {
    const st = this.o.core.status();
    const voters = st.membership.members
      .filter((m) => m.role === "voter")
      .map((m) => m.id)
      .sort();
    const position = voters.indexOf(st.id);
    if (position < 0 || voters.length < 2) return true;
    const turn = Math.floor((this.o.nowMs ?? Date.now)() / SNAPSHOT_TURN_MS);
    return turn % voters.length === position;
  }

  /** See SNAPSHOT_DURING_TRANSFER_RATIO. */
  private sendingSnapshot(): boolean {
    return this.o.core.isLeader() && this.o.core.status().peers.some((p) => p.state === "snapshot");
  }

  private async take(): Promise<void> {
    this.serializing = true;
    const t0 = performance.now();
    try {
      const index = this.o.stateMachine.appliedIndex;
      const bytesCovered = this.appliedBytesSinceSnapshot;
      // The state machine sizes the output from the state itself.
      const gen = this.o.stateMachine.snapshotSteps({ allocate: allocateShared });
      this.copying = true; // until it says "writing": apply waits
      let data: Uint8Array | undefined;
      for (;;) {
        const sliceStart = performance.now();
        while (data === undefined && performance.now() - sliceStart < SNAPSHOT_SLICE_MS) {
          const r = gen.next();
          if (r.done) data = r.value;
          else if (r.value === "writing" && this.copying) {
            this.copying = false;
            this.o.onCopied();
          }
        }
        if (data !== undefined) break;
        await new Promise((r) => setImmediate(r));
        if (this.o.isStopped()) return;
      }
      if (this.copying) {
        // Done without a "writing" step: the copy is over all the same (and staging must not hold apply).
        this.copying = false;
        this.o.onCopied();
      }
      const total = data.byteLength;
      // A snapshot from the leader may have overtaken this one meanwhile: then it is dropped.
      const newer = (): boolean => index > (this.o.core.latestSnapshot()?.metadata.index ?? 0);
      if (newer() && this.o.stage !== undefined) {
        this.staging = true;
        try {
          await this.o.stage(index, data);
        } catch (err) {
          this.o.guard(() => {
            throw err; // a storage failure: the node stops
          });
          return;
        }
        if (this.o.isStopped()) return;
      }
      if (newer()) {
        this.o.guard(() => this.o.core.createSnapshot(index, data));
        this.lastSnapshotBytes = total;
        this.appliedBytesSinceSnapshot = Math.max(0, this.appliedBytesSinceSnapshot - bytesCovered);
        this.o.metrics?.snapshots.inc();
        this.o.metrics?.snapshotSeconds.observe((performance.now() - t0) / 1000);
        this.o.logger.info({ index, bytes: total, ms: Math.round(performance.now() - t0) }, "snapshot taken");
      }
    } finally {
      this.serializing = false;
      this.copying = false;
      this.staging = false;
      this.o.onDone();
    }
  }
}

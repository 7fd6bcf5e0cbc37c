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
  /** A snapshot finished or was abandoned: apply what waited, run the Ready loop. */
  readonly onDone: () => void;
}

/** Capacity a snapshot starts with beyond twice the previous one's size. */
const SNAPSHOT_HEADROOM_BYTES = 1024 * 1024;

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
 * Decides when the state machine is snapshotted and serializes it in slices
 * so heartbeats keep flowing, then hands the bytes to the core (which
 * compacts its log and persists the snapshot in a later Ready). While a
 * snapshot is being serialized the replica holds back apply (`busy`): the
 * state must not change under the serializer.
 */
export class SnapshotScheduler {
  private readonly o: SnapshotSchedulerOptions;
  private serializing = false;
  /** Size of the latest snapshot, and bytes of the entries applied since (see SNAPSHOT_LOG_TO_STATE_RATIO). */
  private lastSnapshotBytes: number;
  private appliedBytesSinceSnapshot = 0;

  constructor(options: SnapshotSchedulerOptions) {
    this.o = options;
    this.lastSnapshotBytes = options.core.latestSnapshot()?.data.byteLength ?? 0;
  }

  /** Apply must wait: a snapshot is being serialized. */
  get busy(): boolean {
    return this.serializing;
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
      this.appliedBytesSinceSnapshot >= this.lastSnapshotBytes * SNAPSHOT_LOG_TO_STATE_RATIO
    ) {
      void this.take();
    }
  }

  private async take(): Promise<void> {
    this.serializing = true;
    const t0 = performance.now();
    try {
      const index = this.o.stateMachine.appliedIndex;
      const bytesCovered = this.appliedBytesSinceSnapshot;
      const gen = this.o.stateMachine.snapshotSteps({
        // Room for the state to have grown since the last snapshot (a queue that
        // only fills grows 1.5x between snapshots, see the ratio above): pages
        // of a SharedArrayBuffer that are never written are never touched, so
        // the slack costs address space, not memory; outgrowing it costs a copy.
        initialBytes: this.lastSnapshotBytes * 2 + SNAPSHOT_HEADROOM_BYTES,
        allocate: allocateShared,
      });
      let data: Uint8Array | undefined;
      for (;;) {
        const sliceStart = performance.now();
        while (data === undefined && performance.now() - sliceStart < SNAPSHOT_SLICE_MS) {
          const r = gen.next();
          if (r.done) data = r.value;
        }
        if (data !== undefined) break;
        await new Promise((r) => setImmediate(r));
        if (this.o.isStopped()) return;
      }
      const total = data.byteLength;
      if (index > (this.o.core.latestSnapshot()?.metadata.index ?? 0)) {
        this.o.guard(() => this.o.core.createSnapshot(index, data));
        this.lastSnapshotBytes = total;
        this.appliedBytesSinceSnapshot = Math.max(0, this.appliedBytesSinceSnapshot - bytesCovered);
        this.o.metrics?.snapshots.inc();
        this.o.metrics?.snapshotSeconds.observe((performance.now() - t0) / 1000);
        this.o.logger.info({ index, bytes: total, ms: Math.round(performance.now() - t0) }, "snapshot taken");
      }
    } finally {
      this.serializing = false;
      this.o.onDone();
    }
  }
}

import {
  decodeCommand,
  JobQueueState,
  restore as restoreJobs,
  restoreSteps as restoreJobSteps,
  serializeSteps,
  SnapshotScratch,
  type ApplyResult,
  type JobEvent,
  type JobLimits,
} from "../jobs/index.js";
import type { SnapshotOutput, SnapshotPhase, StateMachine } from "./state-machine.js";

/**
 * Bytes a snapshot writes between yields. The replica slices by time (several steps per
 * slice), so steps only have to be short: 1 MiB of finished jobs took 18-22 ms alone, and far
 * longer on a node sharing its cores; 128 KiB takes ~2.5 ms (`npx tsx bench/jobs-snapshot-steps.ts`).
 */
export const SNAPSHOT_STEP_BYTES = 128 * 1024;

export type JobEventListener = (events: readonly JobEvent[]) => void;

/**
 * The job queue as the replica's state machine: decodes each committed
 * command, applies it, and tells listeners (worker streams, metrics) what
 * happened. Everything time-related is inside the command, so every replica
 * computes the same state.
 */
export class JobMachine implements StateMachine {
  state: JobQueueState;
  appliedIndex = 0;
  private readonly listeners = new Set<JobEventListener>();
  private readonly restoredListeners = new Set<() => void>();
  /** Kept warm from one snapshot to the next (the replica runs one at a time). */
  private readonly snapshotScratch = new SnapshotScratch();

  constructor(private readonly limits: JobLimits) {
    this.state = new JobQueueState(limits);
  }

  onEvents(listener: JobEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** After a snapshot replaced the whole state (streams resend what they hold). */
  onRestored(listener: () => void): () => void {
    this.restoredListeners.add(listener);
    return () => this.restoredListeners.delete(listener);
  }

  apply(index: number, data: Uint8Array): ApplyResult {
    // A command that does not decode was written by a leader of this cluster:
    // that is a bug or corruption, and the replica stops (the error propagates).
    const cmd = decodeCommand(data);
    const result = this.state.apply(index, cmd);
    this.appliedIndex = index;
    if (result.events.length > 0) for (const l of this.listeners) l(result.events);
    return result;
  }

  skip(index: number): void {
    this.appliedIndex = index;
  }

  restore(data: Uint8Array, index: number): void {
    this.replaceState(
      data.byteLength === 0 ? new JobQueueState(this.limits) : restoreJobs(data, { verify: false }),
      index,
    );
  }

  *restoreSteps(data: Uint8Array, index: number): Generator<void, void, void> {
    const state =
      data.byteLength === 0
        ? new JobQueueState(this.limits)
        : yield* restoreJobSteps(data, { verify: false });
    this.replaceState(state, index);
  }

  private replaceState(state: JobQueueState, index: number): void {
    this.state = state;
    this.appliedIndex = index;
    for (const l of this.restoredListeners) l();
  }

  snapshotSteps(output: SnapshotOutput): Generator<SnapshotPhase, Uint8Array, void> {
    return serializeSteps(this.state, {
      ...output,
      scratch: this.snapshotScratch,
      stepBytes: SNAPSHOT_STEP_BYTES,
    });
  }
}

/**
 * What the replica applies committed entries to (hashicorp/raft's FSM):
 * deterministic, never reads a clock, never fails on bad input (it returns a
 * rejection instead); a thrown error means a broken invariant and stops the node.
 */
export interface StateMachine {
  /** Apply the command of entry `index`; the result goes to whoever proposed it. */
  apply(index: number, data: Uint8Array): unknown;
  /** Replace the whole state with a snapshot's (empty data = the empty state). */
  restore(data: Uint8Array, index: number): void;
  /**
   * Optional: restore() in steps, so a node installing a large snapshot keeps
   * answering between them. The replica applies nothing else until it is done;
   * the new state replaces the old one at the last step.
   */
  restoreSteps?(data: Uint8Array, index: number): Generator<void, void, void>;
  /**
   * Serialize the whole state into one buffer made by `output.allocate`, in
   * steps. While the steps yield "copying" the replica applies nothing (the
   * state machine copies what may change); once they yield "writing" it goes
   * on applying: the bytes are those of `appliedIndex` at the call.
   */
  snapshotSteps(output: SnapshotOutput): Generator<SnapshotPhase, Uint8Array, void>;
  /** An entry with no command (a leader's no-op, a membership change) was applied. */
  skip(index: number): void;
  /** Index of the last applied entry (or restored snapshot). */
  readonly appliedIndex: number;
}

/** Where a snapshot is written: the state machine sizes the buffer, `allocate` makes it. */
export interface SnapshotOutput {
  readonly allocate: (bytes: number) => Uint8Array;
}

export type SnapshotPhase = "copying" | "writing";

/**
 * Restores a snapshot's `data` as of `index`: at once, or, when the state machine
 * restores in steps, as an iterator the caller runs between other work (a snapshot
 * from the leader can hold a million jobs). `done` runs after the last step.
 */
export function restoreState(
  sm: StateMachine,
  data: Uint8Array,
  index: number,
  done: () => void,
): Iterator<unknown> | void {
  if (sm.restoreSteps === undefined) {
    sm.restore(data, index);
    return done();
  }
  return (function* () {
    yield* sm.restoreSteps!(data, index);
    done();
  })();
}

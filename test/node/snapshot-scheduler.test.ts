import pino from "pino";
import { describe, expect, it } from "vitest";
import type { RaftCore } from "../../src/raft/index.js";
import { SNAPSHOT_TURN_MS, SnapshotScheduler } from "../../src/node/snapshot-scheduler.js";
import type { SnapshotOutput, StateMachine } from "../../src/node/state-machine.js";

/** The parts of a core the scheduler uses, with the snapshots it was handed. */
class FakeCore {
  leader = false;
  entries = 0;
  id = "n1";
  voters = ["n1"];
  peerStates: string[] = [];
  taken: { index: number; data: Uint8Array }[] = [];
  private latest: { data: Uint8Array; metadata: { index: number } } | null;
  constructor(lastSnapshotBytes: number) {
    this.latest = { data: new Uint8Array(lastSnapshotBytes), metadata: { index: 0 } };
  }
  isLeader(): boolean {
    return this.leader;
  }
  status() {
    return {
      id: this.id,
      membership: { members: this.voters.map((id) => ({ id, address: "", role: "voter" })) },
      peers: this.peerStates.map((state) => ({ state })),
    };
  }
  entriesSinceSnapshot(): number {
    return this.entries;
  }
  latestSnapshot() {
    return this.latest;
  }
  createSnapshot(index: number, data: Uint8Array): void {
    this.taken.push({ index, data });
    this.latest = { data, metadata: { index } };
    this.entries = 0;
  }
}

/** Spins: a serialization step that takes real time, so the scheduler slices. */
const work = (ms: number): void => {
  for (const end = performance.now() + ms; performance.now() < end;);
};

/** A state of `stateBytes` written in 1 KiB steps of 1 ms each into the buffer the scheduler provides. */
function machine(stateBytes: number, outputs: SnapshotOutput[]): StateMachine & { appliedIndex: number } {
  return {
    appliedIndex: 7,
    apply: () => undefined,
    restore: () => undefined,
    skip: () => undefined,
    *snapshotSteps(output: SnapshotOutput) {
      outputs.push(output);
      const out = output.allocate(stateBytes);
      for (let k = 0; k < 3; k++) {
        work(2);
        yield "copying" as const;
      }
      for (let i = 0; i < stateBytes; i += 1024) {
        out.fill(1, i, Math.min(i + 1024, stateBytes));
        work(1);
        yield "writing" as const;
      }
      return out.subarray(0, stateBytes);
    },
  };
}

function scheduler(core: FakeCore, stateBytes: number, outputs: SnapshotOutput[] = [], clock = { ms: 0 }) {
  let done = 0;
  let copied = 0;
  const m = machine(stateBytes, outputs);
  const s = new SnapshotScheduler({
    core: core as unknown as RaftCore,
    stateMachine: m,
    logger: pino({ level: "silent" }),
    metrics: null,
    snapshotThreshold: 10,
    guard: (fn) => fn(),
    isStopped: () => false,
    onDone: () => done++,
    onCopied: () => copied++,
    nowMs: () => clock.ms,
  });
  return { s, m, finished: () => done, copied: () => copied };
}

const settle = async (finished: () => number, count: number): Promise<void> => {
  for (let i = 0; i < 1000 && finished() < count; i++) await new Promise((r) => setImmediate(r));
};

describe("SnapshotScheduler", () => {
  it("a follower snapshots once the log since the last snapshot holds half its size", async () => {
    const core = new FakeCore(10_000);
    const started: SnapshotOutput[] = [];
    const { s, finished } = scheduler(core, 12_000, started);
    core.entries = 10;
    s.applied(4_999);
    s.maybeStart();
    expect(started).toHaveLength(0);
    s.applied(1);
    s.maybeStart();
    expect(started).toHaveLength(1);
    s.maybeStart(); // one at a time
    expect(started).toHaveLength(1);
    await settle(finished, 1);
    expect(core.taken.map((t) => t.index)).toEqual([7]);
  });

  it("a leader sending a snapshot takes none of its own, unless its log reaches 4x the state", async () => {
    const core = new FakeCore(10_000);
    core.leader = true;
    core.peerStates = ["replicate", "snapshot"];
    const started: SnapshotOutput[] = [];
    const { s, m, finished } = scheduler(core, 12_000, started);
    core.entries = 10;
    s.applied(39_999);
    s.maybeStart();
    expect(started).toHaveLength(0); // the follower needs the log after the snapshot it receives
    core.peerStates = ["replicate", "replicate"]; // transfer done
    s.maybeStart();
    expect(started).toHaveLength(1);
    await settle(finished, 1);
    core.peerStates = ["snapshot", "probe"];
    core.entries = 10;
    m.appliedIndex = 8;
    s.applied(47_999); // 12,000-byte snapshot now: 48,000 is 4x
    s.maybeStart();
    expect(started).toHaveLength(1);
    s.applied(1);
    s.maybeStart();
    expect(started).toHaveLength(2); // the bound on the leader's log wins
    await settle(finished, 2);
    expect(core.taken.map((t) => t.index)).toEqual([7, 8]);
  });

  it("voters take turns by wall clock, so they do not all snapshot at once", async () => {
    const started: SnapshotOutput[] = [];
    const clock = { ms: 5 * SNAPSHOT_TURN_MS + 10 }; // turn 5: voter 5 mod 3 = 2 (n3)
    const core = new FakeCore(1_000);
    core.id = "n2";
    core.voters = ["n3", "n1", "n2"]; // position by id, not by listing order: n2 is 1
    const { s, finished } = scheduler(core, 1_000, started, clock);
    core.entries = 10;
    s.applied(1_000);
    s.maybeStart();
    expect(started).toHaveLength(0);
    clock.ms += SNAPSHOT_TURN_MS; // turn 6: voter 0 (n1)
    s.maybeStart();
    expect(started).toHaveLength(0);
    clock.ms += SNAPSHOT_TURN_MS; // turn 7: voter 1 (n2)
    s.maybeStart();
    expect(started).toHaveLength(1);
    await settle(finished, 1);
    core.voters = ["n1", "n3"]; // n2 a learner now (or removed): no turn needed
    core.entries = 10;
    s.applied(1_000);
    s.maybeStart();
    expect(started).toHaveLength(2);
  });

  it("needs snapshotThreshold entries too, however many bytes", () => {
    const core = new FakeCore(0);
    const started: SnapshotOutput[] = [];
    const { s } = scheduler(core, 100, started);
    core.entries = 9;
    s.applied(1_000_000);
    s.maybeStart();
    expect(started).toHaveLength(0);
  });

  it("holds apply only while the state machine copies, then writes into shared memory", async () => {
    const core = new FakeCore(10_000);
    const outputs: SnapshotOutput[] = [];
    const { s, finished, copied } = scheduler(core, 25_000, outputs);
    core.entries = 10;
    s.applied(5_000);
    s.maybeStart();
    expect(s.holdsApply).toBe(true); // 6 ms of copying outlasts the first 4 ms slice
    expect(copied()).toBe(0);
    for (let i = 0; i < 100 && copied() === 0; i++) await new Promise((r) => setImmediate(r));
    expect(copied()).toBe(1);
    expect(s.holdsApply).toBe(false);
    await settle(finished, 1);
    expect(copied()).toBe(1);
    const data = core.taken[0]!.data;
    expect(data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(data.byteLength).toBe(25_000);
    expect(data.every((b) => b === 1)).toBe(true);
  });
});

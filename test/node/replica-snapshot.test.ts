import { afterEach, describe, expect, it } from "vitest";
import type { Replica } from "../../src/node/replica.js";
import type { SnapshotOutput, SnapshotPhase, StateMachine } from "../../src/node/state-machine.js";
import { MemoryStorage, type WriteBatch } from "../../src/storage/index.js";
import { singleNode } from "./single-replica.js";

const spin = (ms: number): void => {
  for (const end = performance.now() + ms; performance.now() < end;);
};

/**
 * Counts applied commands. A snapshot copies for `copyingMs` and then writes
 * for `writingMs`, in 2 ms steps, and records what was applied at each phase.
 */
class SlowSnapshotMachine implements StateMachine {
  appliedIndex = 0;
  applied = 0;
  log: string[] = [];
  constructor(
    private readonly copyingMs: number,
    private readonly writingMs: number,
  ) {}
  apply(index: number): unknown {
    this.appliedIndex = index;
    this.applied++;
    return this.applied;
  }
  restore(): void {}
  skip(index: number): void {
    this.appliedIndex = index;
  }
  *snapshotSteps(output: SnapshotOutput): Generator<SnapshotPhase, Uint8Array, void> {
    this.log.push(`copy from ${this.applied}`);
    for (let t = 0; t < this.copyingMs; t += 2) {
      spin(2);
      yield "copying";
    }
    this.log.push(`copied at ${this.applied}`);
    for (let t = 0; t < this.writingMs; t += 2) {
      spin(2);
      yield "writing";
    }
    this.log.push(`written at ${this.applied}`);
    const out = output.allocate(8);
    out.fill(7);
    return out;
  }
}

let replica: Replica | null = null;
afterEach(async () => {
  await replica?.stop();
  replica = null;
});

/** Records staged snapshots and holds each until released; records the writes that carry snapshots. */
class StagingStorage extends MemoryStorage {
  readonly events: string[] = [];
  private release: (() => void) | null = null;
  stageSnapshot(index: number, term: number, data: Uint8Array): Promise<void> {
    this.events.push(`stage ${index}/${term} ${data.byteLength} B`);
    return new Promise((resolve) => (this.release = resolve));
  }
  releaseStage(): void {
    this.release?.();
  }
  override write(batch: WriteBatch): Promise<void> {
    if (batch.snapshot !== undefined) {
      const m = batch.snapshot.metadata;
      this.events.push(`write snapshot ${m.index}/${m.term} ${batch.snapshot.data.byteLength} B`);
    }
    return super.write(batch);
  }
}

describe("Replica while a snapshot is taken", () => {
  it("applies and answers proposals while the snapshot is written, not while it is copied", async () => {
    const machine = new SlowSnapshotMachine(40, 400);
    replica = await singleNode(machine);
    const cmd = new Uint8Array([1]);
    for (let i = 0; i < 6; i++) await replica.propose(cmd); // past the threshold: a snapshot starts
    for (let i = 0; i < 200 && machine.log.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(machine.log[0]).toMatch(/^copy from/);
    // Proposed while the state is being copied or written: answered before the bytes are done.
    const during = await replica.propose(cmd);
    expect(machine.log.some((l) => l.startsWith("copied"))).toBe(true);
    expect(machine.log.some((l) => l.startsWith("written"))).toBe(false);
    expect(during).toBe(machine.applied);
    for (let i = 0; i < 400 && !machine.log.some((l) => l.startsWith("written")); i++)
      await new Promise((r) => setTimeout(r, 5));
    const copiedAt = Number(machine.log.find((l) => l.startsWith("copied"))!.split(" ")[2]);
    const copyFrom = Number(machine.log[0]!.split(" ")[2]);
    expect(copiedAt).toBe(copyFrom); // nothing was applied while copying
    expect(replica.core.latestSnapshot()?.data.every((b) => b === 7)).toBe(true);
  });

  it("stages the snapshot's bytes before the core compacts, and answers proposals meanwhile", async () => {
    const machine = new SlowSnapshotMachine(0, 0);
    const storage = new StagingStorage();
    replica = await singleNode(machine, { storage });
    const bootstrap = replica.core.latestSnapshot()?.metadata.index ?? 0; // a new cluster starts from one
    storage.events.length = 0;
    const cmd = new Uint8Array([1]);
    for (let i = 0; i < 6; i++) await replica.propose(cmd);
    for (let i = 0; i < 200 && storage.events.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(storage.events).toHaveLength(1);
    const [, at] = /^stage (\d+)\/(\d+) 8 B$/.exec(storage.events[0]!) ?? [];
    expect(Number(at)).toBeGreaterThanOrEqual(5);
    // While the file is being made durable: no snapshot in the core, proposals still answered.
    expect(replica.core.latestSnapshot()?.metadata.index ?? 0).toBe(bootstrap);
    expect(await replica.propose(cmd)).toBe(machine.applied);
    expect(storage.events).toHaveLength(1);
    storage.releaseStage();
    for (let i = 0; i < 200 && storage.events.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(replica.core.latestSnapshot()?.metadata.index).toBe(Number(at));
    expect(storage.events[1]).toBe(storage.events[0]!.replace("stage", "write snapshot"));
  });
});

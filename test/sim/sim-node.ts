import {
  RaftCore,
  type Entry,
  type HardState,
  type Member,
  type Message,
  type NodeId,
  type RaftConfigInput,
  type Ready,
  type Snapshot,
} from "../../src/raft/index.js";
import type { SimApp } from "./app.js";
import type { Prng } from "./prng.js";

/** What survives a crash: exactly what a synced write put on "disk". */
export interface SimDisk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export interface SimNodeHooks {
  send(msg: Message): void;
  applied(node: SimNode, entry: Entry): void;
  restored(node: SimNode, snapshot: Snapshot): void;
  readState(node: SimNode, requestId: number, index: number): void;
}

/**
 * One simulated server: a RaftCore, its disk, its application, and a write
 * that may be slow (in flight for some ticks) and is lost if the node crashes
 * before it completes.
 */
export class SimNode {
  core: RaftCore;
  app: SimApp;
  up = true;
  /** Extra ticks each write takes (a slow disk). */
  diskDelayTicks = 0;
  private pendingWrite: { rd: Ready; completeAt: number } | null = null;
  readonly disk: SimDisk = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };

  constructor(
    readonly id: NodeId,
    private readonly initialMembers: readonly Member[],
    private readonly rng: Prng,
    private readonly makeApp: () => SimApp,
    private readonly configOverrides: Partial<RaftConfigInput>,
    readonly snapshotThreshold: number,
    private readonly hooks: SimNodeHooks,
  ) {
    this.app = makeApp();
    this.core = this.boot();
  }

  private boot(): RaftCore {
    const hasDisk =
      this.disk.snapshot !== null || this.disk.entries.length > 0 || this.disk.hardState.term > 0;
    const core = new RaftCore(
      {
        id: this.id,
        initialMembers: this.initialMembers,
        random: () => this.rng.next(),
        ...this.configOverrides,
      },
      hasDisk
        ? { hardState: this.disk.hardState, snapshot: this.disk.snapshot, entries: this.disk.entries }
        : undefined,
    );
    this.app = this.makeApp();
    if (this.disk.snapshot !== null) this.app.restore(this.disk.snapshot.data);
    return core;
  }

  /** Crash: everything not yet written is gone. */
  crash(): void {
    this.up = false;
    this.pendingWrite = null;
  }

  restart(): void {
    this.up = true;
    this.core = this.boot();
  }

  /** Drive the core until it has nothing more to do this tick (bounded). */
  process(now: number): void {
    for (let i = 0; i < 16; i++) {
      if (this.pendingWrite !== null) {
        if (now < this.pendingWrite.completeAt) {
          // As the node runtime does: what a quorum committed meanwhile is applied
          // without waiting for this node's write.
          for (const e of this.core.takeEarlyCommitted()) this.applyEntry(e);
          return;
        }
        const rd = this.pendingWrite.rd;
        this.pendingWrite = null;
        this.complete(rd);
      }
      if (!this.core.hasReady()) return;
      const rd = this.core.ready();
      // A leader's appends may leave before its own write is durable (thesis §10.2.1).
      for (const m of rd.messages) if (isLeaderSafe(m)) this.hooks.send(m);
      // Committed entries are applied before the write, as the node runtime
      // does: a quorum holds them durably already.
      if (rd.snapshot !== null) {
        this.app.restore(rd.snapshot.data);
        this.hooks.restored(this, rd.snapshot);
      }
      for (const e of rd.committedEntries) this.applyEntry(e);
      if (this.diskDelayTicks > 0 && (rd.entries.length > 0 || rd.hardState !== null)) {
        this.pendingWrite = { rd, completeAt: now + this.diskDelayTicks };
        return;
      }
      this.complete(rd);
    }
  }

  private applyEntry(e: Entry): void {
    this.app.apply(e);
    this.hooks.applied(this, e);
  }

  private complete(rd: Ready): void {
    this.persist(rd);
    for (const m of rd.messages) if (!isLeaderSafe(m)) this.hooks.send(m);
    for (const rs of rd.readStates) this.hooks.readState(this, rs.requestId, rs.index);
    this.core.advance(rd);
    if (this.core.entriesSinceSnapshot() >= this.snapshotThreshold) {
      this.core.createSnapshot(this.core.status().applied, this.app.snapshot());
    }
  }

  private persist(rd: Ready): void {
    const d = this.disk;
    if (rd.snapshot !== null) {
      // An installed snapshot replaces the whole log.
      d.snapshot = rd.snapshot;
      d.entries = [];
    }
    if (rd.localSnapshot !== null) {
      if (d.snapshot === null || rd.localSnapshot.metadata.index > d.snapshot.metadata.index)
        d.snapshot = rd.localSnapshot;
    }
    if (rd.compactedThrough > 0) d.entries = d.entries.filter((e) => e.index > rd.compactedThrough);
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      d.entries = d.entries.filter((e) => e.index < first);
      d.entries.push(...rd.entries);
    }
    if (rd.hardState !== null) d.hardState = rd.hardState;
  }
}

function isLeaderSafe(m: Message): boolean {
  return m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
}

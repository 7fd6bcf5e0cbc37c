/**
 * The default store: everything in memory, gone on restart. It enforces the
 * same rules as RocksStorage (shared log-state.ts), and for the simulator it can
 * hold writes "unsynced" and then crash, losing them.
 */
import type { Entry, Snapshot } from "../raft/types.js";
import { StorageFatalError } from "./errors.js";
import { assertFailAfterWrites, diskFaultNow, type DiskFaultPlan } from "./fault-injection.js";
import { outlineOf } from "./batch-outline.js";
import type { LogState } from "./log-state.js";
import { applyOutline, EMPTY_LOG_STATE } from "./log-state.js";
import type { PersistedState, RaftStorage, WriteBatch } from "./raft-storage.js";

/** The fault switches (DiskFaultPlan) are taken as given here: openStorage() adds the env's. */
export interface MemoryStorageOptions extends DiskFaultPlan {
  /**
   * "immediate" (default): a write is durable when called and resolves at once.
   * "manual": writes stay pending until syncPending(); crashLoseUnsynced() drops them.
   */
  readonly sync?: "immediate" | "manual";
}

/** Bound on writes held by manual sync: a simulator that never syncs is a bug, not a workload. */
export const MAX_PENDING_WRITES = 10_000;

interface PendingWrite {
  readonly batch: WriteBatch;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class MemoryStorage implements RaftStorage {
  readonly kind = "memory" as const;
  private state: LogState = EMPTY_LOG_STATE;
  private snapshot: Snapshot | null = null;
  private entries: Entry[] = [];
  private pending: PendingWrite[] = [];
  private writesAccepted = 0;
  private failure: StorageFatalError | null = null;
  private closed = false;
  private readonly faults: DiskFaultPlan;
  /** The last write held by an injected delay, while one is pending: later writes queue behind it. */
  private slowTail: Promise<void> | null = null;
  private readonly manual: boolean;

  constructor(options: MemoryStorageOptions = {}) {
    assertFailAfterWrites(options.failAfterWrites);
    this.faults = {
      failAfterWrites: options.failAfterWrites,
      faultFile: options.faultFile,
    };
    this.manual = options.sync === "manual";
  }

  /** Writes waiting for syncPending() (manual mode only). */
  get pendingWrites(): number {
    return this.pending.length;
  }

  /** In manual mode: the durable state; pending writes are not visible until synced. */
  async load(): Promise<PersistedState> {
    this.assertOpen();
    return {
      meta: this.state.meta,
      hardState: this.state.hardState,
      snapshot: this.snapshot === null ? null : copySnapshot(this.snapshot),
      entries: this.entries.map(copyEntry),
    };
  }

  write(batch: WriteBatch): Promise<void> {
    if (this.closed) return Promise.reject(new StorageFatalError("closed", "memory storage is closed"));
    // Copy now: the caller may reuse its buffers before the write is synced.
    const owned = copyBatch(batch);
    const delayMs = this.manual ? 0 : this.injectedDelayMs();
    if (!this.manual && (this.slowTail !== null || delayMs > 0)) return this.writeSlowly(owned, delayMs);
    if (!this.manual) {
      try {
        this.commit(owned);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.pending.length >= MAX_PENDING_WRITES) {
      throw new Error(`MemoryStorage: ${MAX_PENDING_WRITES} unsynced writes; call syncPending()`);
    }
    return new Promise((resolve, reject) => this.pending.push({ batch: owned, resolve, reject }));
  }

  /** A slow disk (fault file `delay <ms>`): 0 when the disk is well or manual sync rules time. */
  private injectedDelayMs(): number {
    if (this.faults.faultFile === undefined) return 0;
    const fault = diskFaultNow(this.faults, this.writesAccepted, "memory storage");
    return fault !== null && "delayMs" in fault ? fault.delayMs : 0;
  }

  /** Commits after the injected delay, behind every write delayed before it (writes stay ordered). */
  private writeSlowly(owned: WriteBatch, delayMs: number): Promise<void> {
    const done = (this.slowTail ?? Promise.resolve())
      .then(() => new Promise((resolve) => setTimeout(resolve, delayMs)))
      .then(() => this.commit(owned));
    const tail = done.catch(() => undefined);
    this.slowTail = tail;
    void tail.then(() => {
      if (this.slowTail === tail) this.slowTail = null;
    });
    return done;
  }

  /** Manual mode: makes the oldest `count` pending writes durable and resolves them, in order. */
  syncPending(count = Infinity): number {
    let done = 0;
    while (done < count && this.pending.length > 0) {
      const w = this.pending.shift()!;
      try {
        this.commit(w.batch);
        w.resolve();
      } catch (err) {
        w.reject(err);
      }
      done++;
    }
    return done;
  }

  /**
   * Simulates a process crash: the first `keep` pending writes reach the disk
   * (writes are ordered, so what survives is always a prefix), the rest are lost.
   * Their promises never settle, as a dead process never sees its callbacks.
   * The store stays usable, like the disk a restarted node reopens.
   */
  crashLoseUnsynced(keep = 0): void {
    const survivors = this.pending.slice(0, keep);
    this.pending = [];
    for (const w of survivors) {
      try {
        this.commit(w.batch);
      } catch {
        break; // a failed write stops the disk here: nothing after it is applied
      }
    }
    this.failure = null; // a restarted process starts with a healthy handle
    this.closed = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.syncPending();
    this.closed = true;
  }

  private commit(batch: WriteBatch): void {
    if (this.failure !== null) throw this.failure;
    try {
      const fault = diskFaultNow(this.faults, this.writesAccepted, "memory storage");
      if (fault !== null && "fail" in fault) throw fault.fail;
      const next = applyOutline(this.state, outlineOf(batch));
      this.applyPayload(batch, next);
      this.state = next;
      this.writesAccepted++;
    } catch (err) {
      this.failure =
        err instanceof StorageFatalError ? err : new StorageFatalError("io", String(err), { cause: err });
      throw this.failure;
    }
  }

  private applyPayload(batch: WriteBatch, next: LogState): void {
    if (batch.snapshot !== undefined) this.snapshot = batch.snapshot;
    let entries = this.entries;
    const added = batch.entries ?? [];
    if (added.length > 0) {
      const from = added[0]!.index;
      entries = entries.filter((e) => e.index < from).concat(added);
    }
    this.entries = entries.filter((e) => e.index > next.snapshotIndex && e.index <= next.lastIndex);
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageFatalError("closed", "memory storage is closed");
  }
}

function copyBatch(batch: WriteBatch): WriteBatch {
  return {
    ...batch,
    ...(batch.entries !== undefined && { entries: batch.entries.map(copyEntry) }),
    ...(batch.snapshot !== undefined && { snapshot: copySnapshot(batch.snapshot) }),
  };
}

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: new Uint8Array(e.data) };
}

function copySnapshot(s: Snapshot): Snapshot {
  return { metadata: structuredClone(s.metadata), data: new Uint8Array(s.data) };
}

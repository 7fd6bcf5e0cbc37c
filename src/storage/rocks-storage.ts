/**
 * RaftStorage on RocksDB (`--data-dir PATH`). The database lives in a worker
 * thread (see rocks-worker.ts); this class is the main thread's async facade.
 */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { outlineOf } from "./batch-outline.js";
import { StorageFatalError } from "./errors.js";
import { diskFaultPlan, type DiskFaultPlan } from "./fault-injection.js";
import type { PersistedState, RaftStorage, WriteBatch } from "./raft-storage.js";
import { decodeLoaded, encodeWrite, fromWireError, type WireLoaded, type WorkerConfig } from "./wire.js";
import type { WorkerReply, WorkerRequest } from "./wire.js";
import { storageWorkerEntry } from "./worker-entry.js";

/**
 * Fault injection only (fault-injection.ts): each switch defaults to its env var,
 * RAFTQ_FAULT_STORAGE_FAIL_AFTER_WRITES and RAFTQ_FAULT_STORAGE_FILE (unset = never).
 */
export type RocksStorageOptions = DiskFaultPlan;

/** The RocksDB directory inside the data dir (other components may keep files beside it). */
export const ROCKS_SUBDIR = "raft";
/** Snapshot files (see snapshot-files.ts), next to the RocksDB directory. */
export const SNAPSHOT_SUBDIR = "snap";
/** Bound on requests awaiting the worker; a caller that never awaits is a bug, so fail loudly. */
export const MAX_IN_FLIGHT = 4096;

interface Pending {
  readonly resolve: (value: WireLoaded | undefined) => void;
  readonly reject: (err: StorageFatalError) => void;
}

export class RocksStorage implements RaftStorage {
  readonly kind = "rocksdb" as const;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set when the worker died: nothing can be served any more. */
  private failure: StorageFatalError | null = null;
  /** Set when a write was refused here, before reaching the worker: later writes must not pass it. */
  private writeFailure: StorageFatalError | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly dataDir: string,
    readonly dbPath: string,
  ) {
    worker.on("message", (m: WorkerReply) => this.onReply(m));
    worker.on("error", (err) => this.die(`storage worker for ${dbPath} crashed: ${err.message}`));
    worker.on("exit", (code) => this.die(`storage worker for ${dbPath} exited (code ${code})`));
    worker.unref();
  }

  /** Opens (creating if needed) `<dataDir>/raft`; rejects with StorageFatalError if locked or foreign. */
  static async open(dataDir: string, options: RocksStorageOptions = {}): Promise<RocksStorage> {
    const faults = diskFaultPlan(options);
    const dbPath = join(dataDir, ROCKS_SUBDIR);
    const entry = storageWorkerEntry();
    const workerData: WorkerConfig & { tsEntry?: string } = {
      dbPath,
      snapshotDir: join(dataDir, SNAPSHOT_SUBDIR),
      faults,
      tsEntry: entry.tsEntry,
    };
    const worker = new Worker(entry.url, {
      workerData,
      // Not the parent's flags: some are invalid in a worker (--input-type, -e) and tsx's
      // loader flags would register it twice; the source-path entry registers tsx itself.
      execArgv: process.execArgv.filter((a) => a === "--enable-source-maps"),
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerReply): void => {
        worker.off("error", onError);
        if (m.type === "ready") resolve();
        else if (m.type === "fatal") {
          reject(fromWireError(m.error)); // before the worker's exit can settle this with a vaguer error
          void worker.terminate();
        } else reject(new StorageFatalError("io", `storage worker sent ${m.type} before ready`));
      };
      const onError = (err: Error): void => {
        worker.off("message", onMessage);
        reject(new StorageFatalError("io", `storage worker for ${dbPath} failed to start: ${err.message}`));
      };
      const onExit = (code: number): void => {
        reject(new StorageFatalError("io", `storage worker for ${dbPath} exited during open (code ${code})`));
      };
      worker.once("message", onMessage);
      worker.once("error", onError);
      worker.once("exit", onExit);
    }).finally(() => worker.removeAllListeners("exit"));
    return new RocksStorage(worker, dataDir, dbPath);
  }

  async load(): Promise<PersistedState> {
    const loaded = await this.request({ id: 0, op: "load" });
    if (loaded === undefined) throw new StorageFatalError("io", "storage worker answered load without state");
    return decodeLoaded(loaded);
  }

  write(batch: WriteBatch): Promise<void> {
    if (this.writeFailure !== null) return Promise.reject(this.writeFailure);
    try {
      outlineOf(batch); // reject malformed input here, where the caller's stack is
      const { msg, transfer } = encodeWrite(batch);
      return this.request({ id: 0, op: "write", batch: msg }, transfer).then(() => undefined);
    } catch (err) {
      this.writeFailure =
        err instanceof StorageFatalError
          ? err
          : new StorageFatalError("invalid-write", String(err), { cause: err });
      return Promise.reject(this.writeFailure);
    }
  }

  async stageSnapshot(index: number, term: number, data: Uint8Array): Promise<void> {
    await this.request({ id: 0, op: "stage", index, term, data });
  }

  close(): Promise<void> {
    this.closing ??= this.request({ id: 0, op: "close" }, [], true).then(
      () => this.worker.terminate().then(() => undefined),
      () => this.worker.terminate().then(() => undefined),
    );
    return this.closing;
  }

  private request(
    req: WorkerRequest,
    transfer: ArrayBuffer[] = [],
    closing = false,
  ): Promise<WireLoaded | undefined> {
    if (this.closing !== null && !closing) {
      return Promise.reject(new StorageFatalError("closed", `RocksStorage at ${this.dbPath} is closed`));
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.pending.size >= MAX_IN_FLIGHT) {
      return Promise.reject(
        new StorageFatalError(
          "invalid-write",
          `more than ${MAX_IN_FLIGHT} storage requests in flight: await writes`,
        ),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref(); // keep the process alive while work is outstanding
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  private onReply(m: WorkerReply): void {
    if (m.type !== "reply") return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.ok) p.resolve(m.value);
    else p.reject(fromWireError(m.error));
  }

  private die(why: string): void {
    if (this.closing !== null && this.pending.size === 0) return; // a normal shutdown
    this.failure ??= new StorageFatalError("io", why);
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}

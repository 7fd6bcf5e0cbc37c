/**
 * The RocksDB side of RocksStorage. It runs inside the storage worker thread,
 * because the binding performs synced writes on the calling thread.
 *
 * Atomicity: each group of writes is ONE RocksDB batch with sync: true, which
 * carries every put plus the 'm/log' and 'm/snapshot' records that say which
 * keys are live. Deleting dead keys (truncated tails, compacted heads, chunks
 * of a format-v1 snapshot) is a DeleteRange issued after that batch; if a crash
 * loses it, the dead keys lie outside the recorded bounds, are ignored on load
 * and are deleted again after the next open. Snapshot bytes are not in RocksDB:
 * they are written to a file first (snapshot-files.ts) and the batch commits
 * the pointer to it; files no pointer names are deleted the same way.
 */
import { RocksLevel, type BatchOp } from "@nxtedition/rocksdb";
import { StorageFatalError } from "./errors.js";
import { diskFaultNow, type DiskFaultPlan } from "./fault-injection.js";
import { applyOutline, EMPTY_LOG_STATE, firstIndex, withTerms, type LogState } from "./log-state.js";
import { readChunkedSnapshot } from "./legacy-snapshot-chunks.js";
import { EMPTY_HARD_STATE } from "./raft-storage.js";
import {
  CHUNK_KEYS_END,
  chunkKey,
  corrupt,
  decodeEntryPayload,
  describeKey,
  ENTRY_KEYS_END,
  entryKey,
  FORMAT_KEY,
  HARD_STATE_KEY,
  jsonRecord,
  LOG_KEY,
  META_KEY,
  openRecord,
  readJsonRecord,
  SNAPSHOT_KEY,
} from "./record-codec.js";
import { appendOps, assembleLoaded, outlineOfWire, put, type StoredPayloads } from "./rocks-batch.js";
import { SnapshotFiles, type SnapshotFileRef } from "./snapshot-files.js";
import {
  parseHardState,
  parseLog,
  parseMeta,
  parseSnapshotMeta,
  type StoredSnapshotMeta,
} from "./stored-records.js";
import type { WireLoaded, WireWrite } from "./wire.js";

export const FORMAT_NAME = "raftq-raft-storage";
/**
 * v2: snapshots are files in `<data-dir>/snap` (v1 kept them as chunk records).
 * This build reads both; a v1 dir is marked v2 by the batch that first points
 * to a snapshot file, after which older builds refuse it.
 */
export const FORMAT_VERSION = 2;
/** Entries read per iterator step on load: bounds the memory of one step. */
const LOAD_BATCH_ENTRIES = 1024;

/** Most snapshots staged and not yet carried by a write; an older one is abandoned (its file deleted). */
const MAX_STAGED = 2;

/** A snapshot file being written ahead of the write that will carry it (see stage()). */
interface Staged {
  readonly bytes: number;
  readonly ref: Promise<SnapshotFileRef>;
  /** Known once its CRC is: from then on cleanup spares it. */
  file: string | null;
}

/** The outcome of one write within a group. */
export type WriteOutcome = { ok: true } | { ok: false; error: StorageFatalError };

export class RocksEngine {
  private state: LogState = EMPTY_LOG_STATE;
  private snapshotMeta: StoredSnapshotMeta | null = null;
  /** Ranges of keys that may exist on disk, a superset of the live ones (see class comment). */
  private entryKeysFrom = 1;
  private entryKeysThrough = 0;
  private chunkKeysBelow = 0;
  /** A snapshot file was written since the directory was last cleaned. */
  private snapshotFilesToClean = false;
  /** By `index/term`, oldest first. */
  private readonly staged = new Map<string, Staged>();
  private formatVersion = FORMAT_VERSION;
  private writesDone = 0;
  private failure: StorageFatalError | null = null;

  private constructor(
    private readonly db: RocksLevel,
    private readonly dbPath: string,
    private readonly files: SnapshotFiles,
    private readonly faults: DiskFaultPlan,
  ) {}

  static async open(dbPath: string, snapshotDir: string, faults: DiskFaultPlan): Promise<RocksEngine> {
    const db = new RocksLevel(dbPath, { keyEncoding: "buffer", valueEncoding: "buffer" });
    try {
      await db.open({ createIfMissing: true });
    } catch (err) {
      throw openError(dbPath, err);
    }
    let engine: RocksEngine;
    try {
      engine = new RocksEngine(db, dbPath, SnapshotFiles.open(snapshotDir), faults);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    try {
      await engine.checkFormat();
      await engine.readState(false);
      await engine.collectGarbage(true);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return engine;
  }

  /** Reads every record back from RocksDB (never from a cache) and verifies it. */
  async load(): Promise<WireLoaded> {
    const read = await this.readState(true);
    return assembleLoaded(this.state, this.snapshotMeta, read);
  }

  /**
   * Applies a group of pipelined writes as one synced RocksDB batch (group
   * commit). Writes after an invalid or injected-fault write are not applied
   * and fail with the same error; a RocksDB failure fails the whole group.
   */
  async writeGroup(group: readonly WireWrite[]): Promise<WriteOutcome[]> {
    const ops: BatchOp[] = [];
    let next = this.state;
    let nextSnapshot = this.snapshotMeta;
    let accepted = 0;
    let stop: StorageFatalError | null = this.failure;
    let delayMs = 0;
    for (const w of group) {
      if (stop !== null) break;
      const fault = diskFaultNow(this.faults, this.writesDone + accepted, this.dbPath);
      if (fault !== null && "fail" in fault) {
        stop = fault.fail;
        break;
      }
      if (fault !== null) delayMs = Math.max(delayMs, fault.delayMs);
      try {
        const after = applyOutline(next, outlineOfWire(w));
        const file = w.snapshot === undefined ? undefined : await this.snapshotFile(w.snapshot);
        next = after;
        nextSnapshot = appendOps(ops, w, next, file) ?? nextSnapshot;
        accepted++;
      } catch (err) {
        stop = asFatal(err, this.dbPath);
      }
    }
    const upgradesFormat = this.formatVersion < FORMAT_VERSION && nextSnapshot !== this.snapshotMeta;
    if (accepted > 0 && upgradesFormat) {
      ops.push(put(FORMAT_KEY, jsonRecord(FORMAT_KEY, { format: FORMAT_NAME, version: FORMAT_VERSION })));
    }
    if (accepted > 0) {
      try {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs)); // a slow disk (fault injection)
        await this.db.batch(ops, { sync: true });
      } catch (err) {
        stop = new StorageFatalError("io", `synced write to ${this.dbPath} failed: ${errText(err)}`, {
          cause: err,
        });
        accepted = 0;
      }
    }
    if (accepted > 0) {
      this.state = next;
      this.snapshotMeta = nextSnapshot;
      this.writesDone += accepted;
      if (upgradesFormat) this.formatVersion = FORMAT_VERSION;
      for (const w of group.slice(0, accepted)) this.notePuts(w);
    }
    if (stop !== null) this.failure = stop;
    return group.map((_, i) => (i < accepted ? { ok: true } : { ok: false, error: stop! }));
  }

  /** Deletes keys and files the last group made dead; safe to lose in a crash (see class comment). */
  async collectGarbage(all = false): Promise<void> {
    if (this.failure !== null) return;
    const first = firstIndex(this.state);
    const last = this.state.lastIndex;
    const snap = this.snapshotMeta;
    const chunks = snap !== null && "chunkCount" in snap ? snap.chunkCount : 0;
    try {
      if (all || this.snapshotFilesToClean) {
        const keep = new Set<string>();
        if (snap !== null && "file" in snap) keep.add(snap.file);
        for (const s of this.staged.values()) if (s.file !== null) keep.add(s.file);
        this.files.removeAllBut(keep);
        this.snapshotFilesToClean = false;
      }
      if (all || this.entryKeysFrom < first) {
        await this.db.clear({ gte: entryKey(0), lt: entryKey(first) });
      }
      if (all || this.entryKeysThrough > last) {
        await this.db.clear({ gt: entryKey(last), lt: ENTRY_KEYS_END });
      }
      if (all || this.chunkKeysBelow > chunks) {
        await this.db.clear({ gte: chunkKey(chunks), lt: CHUNK_KEYS_END });
      }
    } catch (err) {
      this.failure =
        err instanceof StorageFatalError
          ? err
          : new StorageFatalError("io", `range delete in ${this.dbPath} failed: ${errText(err)}`);
      throw this.failure;
    }
    this.entryKeysFrom = first;
    this.entryKeysThrough = last;
    this.chunkKeysBelow = chunks;
  }

  /**
   * Writes a snapshot's file now, beside the ordered writes (see
   * RaftStorage.stageSnapshot); the write that carries the snapshot at this
   * index and term then commits only its pointer.
   */
  async stage(index: number, term: number, data: Uint8Array): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const key = `${index}/${term}`;
    const already = this.staged.get(key);
    if (already !== undefined) {
      await already.ref; // staged twice: durable when the first is
      return;
    }
    while (this.staged.size >= MAX_STAGED) {
      const oldest = this.staged.keys().next().value!;
      this.staged.delete(oldest); // never carried: its file is garbage
      this.snapshotFilesToClean = true;
    }
    const staged: Staged = {
      bytes: data.byteLength,
      ref: this.files.write(index, term, data, (file) => (staged.file = file)),
      file: null,
    };
    this.staged.set(key, staged);
    staged.ref.catch(() => undefined); // reported to the stager, and to the write that carries it
    await staged.ref;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.staged.values()].map((s) => s.ref));
    // Old snapshot files still being unlinked: a failure here loses nothing (the trash is emptied at the next open).
    await this.files.settled().catch(() => undefined);
    await this.db.close();
  }

  private notePuts(w: WireWrite): void {
    if (w.entries !== undefined && w.entries.terms.length > 0) {
      const through = w.entries.firstIndex + w.entries.terms.length - 1;
      this.entryKeysThrough = Math.max(this.entryKeysThrough, through);
    }
    if (w.snapshot !== undefined) this.snapshotFilesToClean = true;
  }

  /** The staged file for this snapshot if there is one (waiting for it to be durable), else a new one. */
  private async snapshotFile(s: NonNullable<WireWrite["snapshot"]>): Promise<SnapshotFileRef> {
    const key = `${s.metadata.index}/${s.metadata.term}`;
    const staged = this.staged.get(key);
    if (staged !== undefined) {
      this.staged.delete(key);
      const ref = await staged.ref;
      // One index and term is one state; the bytes are the very ones staged (checked by size).
      if (staged.bytes === s.data.byteLength) return ref;
      this.snapshotFilesToClean = true;
    }
    this.snapshotFilesToClean = true; // even if the batch fails: the file is then an orphan
    return this.files.write(s.metadata.index, s.metadata.term, s.data, () => undefined);
  }

  private async checkFormat(): Promise<void> {
    const [raw] = await this.db.getMany([FORMAT_KEY]);
    if (raw === undefined) {
      const it = this.db.iterator({});
      const [any] = await it.nextv(1);
      await it.close();
      if (any !== undefined) {
        throw new StorageFatalError(
          "format",
          `${this.dbPath} holds RocksDB data but no ${FORMAT_KEY.toString()} record: not a raftq data dir, refusing to use it`,
        );
      }
      const value = jsonRecord(FORMAT_KEY, { format: FORMAT_NAME, version: FORMAT_VERSION });
      await this.db.batch([put(FORMAT_KEY, value)], { sync: true });
      return;
    }
    const rec = readJsonRecord(FORMAT_KEY, raw, this.dbPath) as { format?: unknown; version?: unknown };
    if (rec.format !== FORMAT_NAME || typeof rec.version !== "number") {
      throw new StorageFatalError("format", `${this.dbPath}: unknown store format ${JSON.stringify(rec)}`);
    }
    if (rec.version > FORMAT_VERSION) {
      throw new StorageFatalError(
        "format",
        `${this.dbPath} was written in storage format v${rec.version} by a newer raftq; this build reads v${FORMAT_VERSION}`,
      );
    }
    this.formatVersion = rec.version;
  }

  /**
   * Reads the small records and walks every live entry (verifying checksums and
   * that no index is missing), then adopts what it read as the engine's state.
   * With `payloads`, also returns entry data and snapshot chunks for load().
   */
  private async readState(payloads: boolean): Promise<StoredPayloads> {
    const [metaRaw, hsRaw, logRaw, snapRaw] = await this.db.getMany([
      META_KEY,
      HARD_STATE_KEY,
      LOG_KEY,
      SNAPSHOT_KEY,
    ]);
    const dir = this.dbPath;
    const meta = metaRaw === undefined ? null : parseMeta(readJsonRecord(META_KEY, metaRaw, dir), dir);
    const hardState =
      hsRaw === undefined
        ? EMPTY_HARD_STATE
        : parseHardState(readJsonRecord(HARD_STATE_KEY, hsRaw, dir), dir);
    const snap =
      snapRaw === undefined ? null : parseSnapshotMeta(readJsonRecord(SNAPSHOT_KEY, snapRaw, dir), dir);
    const lastIndex = logRaw === undefined ? 0 : parseLog(readJsonRecord(LOG_KEY, logRaw, dir), dir);
    const snapshotIndex = snap?.metadata.index ?? 0;
    if (lastIndex < snapshotIndex) {
      corrupt(`${dir} key m/log`, `last index ${lastIndex} is below the snapshot index ${snapshotIndex}`);
    }
    const read: StoredPayloads = { terms: [], types: [], datas: [], snapshotData: null };
    await this.walkEntries(snapshotIndex + 1, lastIndex, (term, type, data) => {
      read.terms.push(term);
      read.types.push(type);
      if (payloads) read.datas.push(data);
    });
    if (snap !== null && "file" in snap) {
      if (payloads) read.snapshotData = this.files.read(snap);
      else this.files.check(snap);
    } else if (snap !== null && payloads) {
      read.snapshotData = await readChunkedSnapshot(this.db, this.dbPath, snap);
    }
    const base: LogState = {
      meta,
      hardState,
      snapshotIndex,
      snapshotTerm: snap?.metadata.term ?? 0,
      lastIndex,
      runs: [],
    };
    this.state = withTerms(base, snapshotIndex + 1, read.terms);
    this.snapshotMeta = snap;
    return read;
  }

  private async walkEntries(
    first: number,
    last: number,
    visit: (term: number, type: number, data: Buffer) => void,
  ): Promise<void> {
    if (last < first) return;
    const it = this.db.iterator({ gte: entryKey(first), lte: entryKey(last) });
    let expected = first;
    let prevTerm = 0;
    try {
      for (;;) {
        const rows = await it.nextv(LOAD_BATCH_ENTRIES);
        if (rows.length === 0) break;
        for (const [key, value] of rows) {
          const where = `${this.dbPath} key ${describeKey(key)}`;
          if (!key.equals(entryKey(expected)))
            corrupt(where, `expected entry ${expected} here: the log has a hole`);
          const e = decodeEntryPayload(openRecord(key, value, this.dbPath), where);
          if (e.term < prevTerm)
            corrupt(where, `term ${e.term} is lower than the previous entry's ${prevTerm}`);
          visit(e.term, e.type, e.data);
          prevTerm = e.term;
          expected++;
        }
      }
    } finally {
      await it.close();
    }
    if (expected !== last + 1) {
      corrupt(
        `${this.dbPath} key ${describeKey(entryKey(expected))}`,
        `entry missing: m/log says the log ends at ${last}`,
      );
    }
  }
}

function openError(dbPath: string, err: unknown): StorageFatalError {
  const text = errText(err);
  if (/While lock file|lock hold by current process/i.test(text)) {
    return new StorageFatalError(
      "locked",
      `data dir ${dbPath} is in use by another raftq process (its RocksDB LOCK is held): ${text}`,
      { cause: err },
    );
  }
  return new StorageFatalError("io", `cannot open RocksDB at ${dbPath}: ${text}`, { cause: err });
}

function asFatal(err: unknown, dbPath: string): StorageFatalError {
  if (err instanceof StorageFatalError) return err;
  return new StorageFatalError("io", `write to ${dbPath} failed: ${errText(err)}`, { cause: err });
}

/** abstract-level wraps binding errors; the useful text is usually in `cause`. */
function errText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

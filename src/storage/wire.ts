/**
 * Messages between RocksStorage (main thread) and its worker. Entry bytes
 * travel in freshly allocated ArrayBuffers that are transferred, not cloned:
 * the main thread copies each byte once while laying out records, the worker
 * seals them in place and hands views to RocksDB. Snapshot data travels as it
 * is and the worker writes it to its file from there: a snapshot the node built
 * or received lives in a SharedArrayBuffer (see SnapshotReceiver), so posting it
 * copies nothing and the snapshot's bytes are never copied at all.
 */
import type { Entry, EntryType, HardState, Snapshot, SnapshotMetadata } from "../raft/types.js";
import { StorageFatalError, type StorageErrorCode } from "./errors.js";
import type { DiskFaultPlan } from "./fault-injection.js";
import type { PersistedState, StorageMeta, WriteBatch } from "./raft-storage.js";
import { entryRecordBytes, writeEntryRecord } from "./record-codec.js";

export interface WorkerConfig {
  readonly dbPath: string;
  readonly snapshotDir: string;
  readonly faults: DiskFaultPlan;
}

export interface WireEntries {
  readonly firstIndex: number;
  readonly terms: number[];
  /** Record i spans [ends[i-1] ?? 0, ends[i]) of `buf`; each is a full entry value with a zero CRC. */
  readonly ends: number[];
  readonly buf: ArrayBuffer;
}

export interface WireSnapshot {
  readonly metadata: SnapshotMetadata;
  /** The snapshot's bytes; shared with the main thread when they live in a SharedArrayBuffer (read only). */
  readonly data: Uint8Array;
}

export interface WireWrite {
  readonly meta?: StorageMeta;
  readonly hardState?: HardState;
  readonly compactThrough?: number;
  readonly entries?: WireEntries;
  readonly snapshot?: WireSnapshot;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: "load" }
  | { readonly id: number; readonly op: "write"; readonly batch: WireWrite }
  | {
      readonly id: number;
      readonly op: "stage";
      readonly index: number;
      readonly term: number;
      /** Shared with the main thread when in a SharedArrayBuffer (read only). */
      readonly data: Uint8Array;
    }
  | { readonly id: number; readonly op: "close" };

export interface WireLoaded {
  readonly meta: StorageMeta | null;
  readonly hardState: HardState;
  readonly snapshot: { readonly metadata: SnapshotMetadata; readonly data: ArrayBuffer } | null;
  readonly entries: {
    readonly firstIndex: number;
    readonly terms: number[];
    readonly types: number[];
    /** Entry i's data spans [ends[i-1] ?? 0, ends[i]) of `data`. */
    readonly ends: number[];
    readonly data: ArrayBuffer;
  };
}

export interface WireError {
  readonly code: StorageErrorCode;
  readonly message: string;
}

export type WorkerReply =
  | { readonly type: "ready" }
  | { readonly type: "fatal"; readonly error: WireError }
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly value?: WireLoaded }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: WireError };

export function toWireError(err: unknown): WireError {
  if (err instanceof StorageFatalError) return { code: err.code, message: err.message };
  return { code: "io", message: err instanceof Error ? err.message : String(err) };
}

export function fromWireError(e: WireError): StorageFatalError {
  return new StorageFatalError(e.code, e.message);
}

/** Builds the write message and the buffers to transfer with it. */
export function encodeWrite(batch: WriteBatch): { msg: WireWrite; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const entries =
    batch.entries !== undefined && batch.entries.length > 0 ? encodeEntries(batch.entries) : undefined;
  if (entries !== undefined) transfer.push(entries.buf);
  const snapshot = batch.snapshot !== undefined ? encodeSnapshot(batch.snapshot) : undefined;
  const msg: WireWrite = {
    ...(batch.meta !== undefined && { meta: { clusterId: batch.meta.clusterId, nodeId: batch.meta.nodeId } }),
    ...(batch.hardState !== undefined && { hardState: batch.hardState }),
    ...(batch.compactThrough !== undefined && { compactThrough: batch.compactThrough }),
    ...(entries !== undefined && { entries }),
    ...(snapshot !== undefined && { snapshot }),
  };
  return { msg, transfer };
}

function encodeEntries(entries: readonly Entry[]): WireEntries {
  let total = 0;
  for (const e of entries) total += entryRecordBytes(e.data.length);
  const buf = Buffer.from(new ArrayBuffer(total));
  const terms: number[] = [];
  const ends: number[] = [];
  let offset = 0;
  for (const e of entries) {
    offset = writeEntryRecord(buf, offset, e.term, e.type, e.data);
    terms.push(e.term);
    ends.push(offset);
  }
  return { firstIndex: entries[0]!.index, terms, ends, buf: buf.buffer as ArrayBuffer };
}

function encodeSnapshot(snapshot: Snapshot): WireSnapshot {
  return {
    metadata: structuredClone(snapshot.metadata),
    data: snapshot.data,
  };
}

/** Turns the worker's answer into entries and a snapshot that are views of the transferred buffers. */
export function decodeLoaded(w: WireLoaded): PersistedState {
  const entries: Entry[] = [];
  let start = 0;
  for (let i = 0; i < w.entries.terms.length; i++) {
    const end = w.entries.ends[i]!;
    entries.push({
      index: w.entries.firstIndex + i,
      term: w.entries.terms[i]!,
      type: w.entries.types[i]! as EntryType,
      data: new Uint8Array(w.entries.data, start, end - start),
    });
    start = end;
  }
  return {
    meta: w.meta,
    hardState: w.hardState,
    snapshot:
      w.snapshot === null ? null : { metadata: w.snapshot.metadata, data: new Uint8Array(w.snapshot.data) },
    entries,
  };
}

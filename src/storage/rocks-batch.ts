/**
 * What one group of writes puts into RocksDB (the records of each write, as
 * RocksEngine batches them) and what load() hands back to the main thread.
 * Layout and framing: record-codec.ts and docs/storage.md.
 */
import type { BatchOp } from "@nxtedition/rocksdb";
import { firstIndex, type BatchOutline, type LogState } from "./log-state.js";
import {
  entryKey,
  HARD_STATE_KEY,
  jsonRecord,
  LOG_KEY,
  META_KEY,
  sealRecord,
  SNAPSHOT_KEY,
} from "./record-codec.js";
import type { SnapshotFileRef } from "./snapshot-files.js";
import type { StoredSnapshotMeta } from "./stored-records.js";
import type { WireLoaded, WireWrite } from "./wire.js";

/** What readState() found: entry terms/types/data in index order, the snapshot's bytes. */
export interface StoredPayloads {
  terms: number[];
  types: number[];
  datas: Buffer[];
  snapshotData: Uint8Array | null;
}

/** Adds the puts for one write; returns the new snapshot record when the write carries one. */
export function appendOps(
  ops: BatchOp[],
  w: WireWrite,
  next: LogState,
  file: SnapshotFileRef | undefined,
): StoredSnapshotMeta | null {
  let snapshot: StoredSnapshotMeta | null = null;
  if (w.meta !== undefined) ops.push(put(META_KEY, jsonRecord(META_KEY, w.meta)));
  if (w.snapshot !== undefined) {
    if (file === undefined) throw new Error("appendOps: a snapshot write without its file");
    snapshot = {
      metadata: w.snapshot.metadata,
      file: file.file,
      totalBytes: file.totalBytes,
      crc32: file.crc32,
    };
    ops.push(put(SNAPSHOT_KEY, jsonRecord(SNAPSHOT_KEY, snapshot)));
  }
  if (w.entries !== undefined && w.entries.terms.length > 0) {
    const buf = Buffer.from(w.entries.buf);
    let start = 0;
    w.entries.ends.forEach((end, i) => {
      const key = entryKey(w.entries!.firstIndex + i);
      ops.push(put(key, sealRecord(key, buf.subarray(start, end))));
      start = end;
    });
  }
  if (w.snapshot !== undefined || (w.entries !== undefined && w.entries.terms.length > 0)) {
    ops.push(put(LOG_KEY, jsonRecord(LOG_KEY, { lastIndex: next.lastIndex })));
  }
  if (w.hardState !== undefined) ops.push(put(HARD_STATE_KEY, jsonRecord(HARD_STATE_KEY, next.hardState)));
  return snapshot;
}

export function outlineOfWire(w: WireWrite): BatchOutline {
  return {
    ...(w.meta !== undefined && { meta: w.meta }),
    ...(w.snapshot !== undefined && {
      snapshot: { index: w.snapshot.metadata.index, term: w.snapshot.metadata.term },
    }),
    ...(w.compactThrough !== undefined && { compactThrough: w.compactThrough }),
    ...(w.entries !== undefined && { entries: { firstIndex: w.entries.firstIndex, terms: w.entries.terms } }),
    ...(w.hardState !== undefined && { hardState: w.hardState }),
  };
}

export function assembleLoaded(
  state: LogState,
  snap: StoredSnapshotMeta | null,
  read: StoredPayloads,
): WireLoaded {
  const { datas, snapshotData } = read;
  const data = new Uint8Array(datas.reduce((n, d) => n + d.length, 0));
  const ends: number[] = [];
  let offset = 0;
  for (const d of datas) {
    data.set(d, offset);
    offset += d.length;
    ends.push(offset);
  }
  let snapshot: WireLoaded["snapshot"] = null;
  if (snap !== null) {
    if (
      snapshotData === null ||
      snapshotData.byteOffset !== 0 ||
      snapshotData.byteLength !== snap.totalBytes
    ) {
      throw new Error("assembleLoaded: the snapshot's bytes were not read into a buffer of their own");
    }
    snapshot = { metadata: snap.metadata, data: snapshotData.buffer as ArrayBuffer };
  }
  return {
    meta: state.meta,
    hardState: state.hardState,
    snapshot,
    entries: { firstIndex: firstIndex(state), terms: read.terms, types: read.types, ends, data: data.buffer },
  };
}

export function put(key: Buffer, value: Buffer): BatchOp {
  return { type: "put", key, value };
}

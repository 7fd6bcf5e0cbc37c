/**
 * Reading snapshots stored by format v1, which kept them inside RocksDB as
 * 1 MiB chunk records under `s/<n>`. Format v2 writes snapshot files instead
 * (snapshot-files.ts); a v1 data dir keeps its chunked snapshot until the next
 * snapshot replaces it, after which the chunk keys are deleted.
 */
import type { RocksLevel } from "@nxtedition/rocksdb";
import type { SnapshotMetadata } from "../raft/types.js";
import { chunkKey, corrupt, describeKey, openRecord } from "./record-codec.js";

/** `m/snapshot` as format v1 wrote it. */
export interface ChunkedSnapshotMeta {
  readonly metadata: SnapshotMetadata;
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly chunkCount: number;
}

export function isChunkedSnapshotMeta(v: Partial<ChunkedSnapshotMeta>): boolean {
  return (
    typeof v.totalBytes === "number" &&
    typeof v.chunkBytes === "number" &&
    v.chunkBytes > 0 &&
    v.chunkCount === Math.ceil(v.totalBytes / v.chunkBytes)
  );
}

/** Reads and verifies every chunk, then joins them into one fresh buffer. */
export async function readChunkedSnapshot(
  db: RocksLevel,
  dbPath: string,
  snap: ChunkedSnapshotMeta,
): Promise<Uint8Array> {
  const data = new Uint8Array(snap.totalBytes);
  let n = 0;
  const it = db.iterator({ gte: chunkKey(0), lt: chunkKey(snap.chunkCount) });
  try {
    for (;;) {
      const rows = await it.nextv(16);
      if (rows.length === 0) break;
      for (const [key, value] of rows) {
        const where = `${dbPath} key ${describeKey(key)}`;
        if (!key.equals(chunkKey(n))) corrupt(where, `expected snapshot chunk ${n}`);
        const payload = openRecord(key, value, dbPath);
        const expectBytes = Math.min(snap.chunkBytes, snap.totalBytes - n * snap.chunkBytes);
        if (payload.length !== expectBytes) {
          corrupt(where, `chunk is ${payload.length} bytes, expected ${expectBytes}`);
        }
        data.set(payload, n * snap.chunkBytes);
        n++;
      }
    }
  } finally {
    await it.close();
  }
  if (n !== snap.chunkCount) {
    corrupt(`${dbPath} key ${describeKey(chunkKey(n))}`, `snapshot chunk missing (of ${snap.chunkCount})`);
  }
  return data;
}

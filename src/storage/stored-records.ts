/**
 * Parsing the small JSON records RocksEngine reads back (`m/meta`,
 * `m/hardstate`, `m/log`, `m/snapshot`): a record that does not have the
 * expected shape is corruption, reported with its key.
 */
import type { HardState, SnapshotMetadata } from "../raft/types.js";
import { isChunkedSnapshotMeta, type ChunkedSnapshotMeta } from "./legacy-snapshot-chunks.js";
import type { StorageMeta } from "./raft-storage.js";
import { corrupt } from "./record-codec.js";
import type { SnapshotFileRef } from "./snapshot-files.js";

/** `m/snapshot` since format v2: the metadata and a pointer to the file. */
export interface FileSnapshotMeta extends SnapshotFileRef {
  readonly metadata: SnapshotMetadata;
}

export type StoredSnapshotMeta = FileSnapshotMeta | ChunkedSnapshotMeta;

export function parseMeta(v: unknown, dir: string): StorageMeta {
  const m = v as Partial<StorageMeta> | null;
  if (typeof m?.clusterId !== "string" || typeof m.nodeId !== "string")
    corrupt(`${dir} key m/meta`, JSON.stringify(v));
  return { clusterId: m.clusterId, nodeId: m.nodeId };
}

export function parseHardState(v: unknown, dir: string): HardState {
  const h = v as Partial<HardState> | null;
  const ok =
    typeof h?.term === "number" &&
    typeof h.commit === "number" &&
    (h.vote === null || typeof h.vote === "string");
  if (!ok) corrupt(`${dir} key m/hardstate`, JSON.stringify(v));
  return { term: h.term!, vote: h.vote!, commit: h.commit! };
}

export function parseLog(v: unknown, dir: string): number {
  const l = v as { lastIndex?: unknown } | null;
  if (typeof l?.lastIndex !== "number" || !Number.isSafeInteger(l.lastIndex))
    corrupt(`${dir} key m/log`, JSON.stringify(v));
  return l.lastIndex as number;
}

export function parseSnapshotMeta(v: unknown, dir: string): StoredSnapshotMeta {
  const s = v as Partial<FileSnapshotMeta & ChunkedSnapshotMeta> | null;
  const metadataOk =
    typeof s?.metadata?.index === "number" &&
    typeof s.metadata.term === "number" &&
    Array.isArray(s.metadata.membership?.members);
  const fileOk =
    typeof s?.file === "string" &&
    Number.isSafeInteger(s.totalBytes) &&
    s.totalBytes! >= 0 &&
    Number.isInteger(s.crc32);
  if (!metadataOk || !(fileOk || isChunkedSnapshotMeta(s)))
    corrupt(`${dir} key m/snapshot`, JSON.stringify(v));
  return s as StoredSnapshotMeta;
}

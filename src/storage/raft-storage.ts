/**
 * Durable Raft state behind one small interface (in the spirit of hashicorp/raft's
 * LogStore + StableStore): load everything once at start, then apply atomic,
 * synced write batches in call order.
 */
import type { Entry, HardState, Snapshot } from "../raft/types.js";

/** Which cluster and member a data dir belongs to; set once, refused if it ever differs. */
export interface StorageMeta {
  readonly clusterId: string;
  readonly nodeId: string;
}

export interface PersistedState {
  /** null until the first write that carries `meta`. */
  readonly meta: StorageMeta | null;
  /** {term: 0, vote: null, commit: 0} when nothing was written yet. */
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Contiguous, starting right after the snapshot index (or at 1 without a snapshot). */
  readonly entries: Entry[];
}

/**
 * One atomic, synced write. The parts apply in this order: meta, snapshot,
 * entries, compactThrough, hardState — except that entries starting at or
 * before the snapshot's index apply before the snapshot (a leader snapshotting
 * entries it persists in the same batch). A batch with no parts is a no-op.
 */
export interface WriteBatch {
  /** Binds the store to a cluster member. Idempotent; a different value is refused. */
  readonly meta?: StorageMeta;
  /**
   * Replaces the stored snapshot and deletes entries <= its index. Entries after
   * it are kept only if the stored log has the snapshot's term at its index
   * (Raft §7); otherwise the whole log is dropped. Index must not go backwards.
   */
  readonly snapshot?: Snapshot;
  /** Delete entries <= n. Must be <= the snapshot index: compaction never drops uncovered entries. */
  readonly compactThrough?: number;
  /**
   * Contiguous entries; they replace stored entries at index >= entries[0].index
   * (a follower truncating a conflicting tail). Empty = nothing.
   */
  readonly entries?: readonly Entry[];
  /** Term never decreases, a vote never changes within a term, commit never decreases. */
  readonly hardState?: HardState;
}

export type StorageKind = "memory" | "rocksdb";

export interface RaftStorage {
  readonly kind: StorageKind;
  /** The state as of all writes issued before this call. */
  load(): Promise<PersistedState>;
  /**
   * ONE synced, atomic write: when the promise resolves, the batch is on disk.
   * Several writes may be in flight; they apply and resolve in call order.
   * Any failure rejects with StorageFatalError and poisons the store: every
   * later write rejects too (crash-fail-safe, never continue after a failed write).
   */
  write(batch: WriteBatch): Promise<void>;
  /**
   * Optional. Makes a snapshot's bytes durable now, beside the ordered writes
   * (which go on meanwhile), ahead of the write() that will carry this
   * snapshot (same index and term, same bytes): that write then only commits
   * a pointer. A large snapshot thus never holds up the writes queued after
   * it. A staged snapshot that no write carries is dropped later. A failure
   * rejects with StorageFatalError (the node must stop, as for write()).
   */
  stageSnapshot?(index: number, term: number, data: Uint8Array): Promise<void>;
  /** Waits for in-flight writes, then releases the store. Idempotent. */
  close(): Promise<void>;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: null, commit: 0 });

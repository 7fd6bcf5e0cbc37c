/**
 * The one error storage raises. Every cause is fatal: the runtime logs it and
 * exits non-zero rather than continue with state it cannot trust.
 */
export type StorageErrorCode =
  /** A read or write failed at the disk/RocksDB level (or an injected fault). */
  | "io"
  /** A record's CRC32 does not match its bytes. */
  | "checksum"
  /** A record is malformed or missing (e.g. a hole in the log). */
  | "corruption"
  /** The caller asked for something that would break the log's invariants. */
  | "invalid-write"
  /** Another process (or another instance in this one) holds the data dir. */
  | "locked"
  /** The data dir belongs to another cluster or node. */
  | "cluster-mismatch"
  /** The data dir is not a raftq store, or was written by a newer format. */
  | "format"
  /** Used after close(). */
  | "closed";

export class StorageFatalError extends Error {
  override readonly name = "StorageFatalError";

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStorageFatalError(err: unknown): err is StorageFatalError {
  return err instanceof StorageFatalError;
}

export function invalidWrite(message: string): StorageFatalError {
  return new StorageFatalError("invalid-write", `invalid write: ${message}`);
}

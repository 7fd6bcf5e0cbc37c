/** Durable Raft state: one interface, an in-memory and a RocksDB implementation. */
export type { PersistedState, RaftStorage, StorageKind, StorageMeta, WriteBatch } from "./raft-storage.js";
export { EMPTY_HARD_STATE } from "./raft-storage.js";
export { isStorageFatalError, StorageFatalError, type StorageErrorCode } from "./errors.js";
export {
  FAIL_AFTER_WRITES_ENV,
  FAULT_FILE_ENV,
  failAfterWritesFromEnv,
  setDiskFault,
} from "./fault-injection.js";
export type { DiskFaultPlan } from "./fault-injection.js";
export { MemoryStorage, type MemoryStorageOptions } from "./memory-storage.js";
export { RocksStorage, ROCKS_SUBDIR, type RocksStorageOptions } from "./rocks-storage.js";
export { openStorage, type OpenStorageOptions } from "./open-storage.js";

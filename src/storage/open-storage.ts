/** Picks the store from the node's flags: RocksDB with --data-dir, memory without. */
import { failAfterWritesFromEnv } from "./fault-injection.js";
import { MemoryStorage } from "./memory-storage.js";
import type { RaftStorage } from "./raft-storage.js";
import { RocksStorage } from "./rocks-storage.js";

export interface OpenStorageOptions {
  /** `--data-dir`; absent = in-memory state, lost on restart. */
  readonly dataDir?: string;
  /** Fault injection; defaults to RAFTQ_FAULT_STORAGE_FAIL_AFTER_WRITES for both kinds. */
  readonly failAfterWrites?: number;
}

export async function openStorage(options: OpenStorageOptions = {}): Promise<RaftStorage> {
  const failAfterWrites = options.failAfterWrites ?? failAfterWritesFromEnv();
  if (options.dataDir === undefined) {
    return new MemoryStorage(failAfterWrites === undefined ? {} : { failAfterWrites });
  }
  return RocksStorage.open(options.dataDir, failAfterWrites === undefined ? {} : { failAfterWrites });
}

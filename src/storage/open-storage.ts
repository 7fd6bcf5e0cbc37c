/** Picks the store from the node's flags: RocksDB with --data-dir, memory without. */
import { diskFaultPlan, type DiskFaultPlan } from "./fault-injection.js";
import { MemoryStorage } from "./memory-storage.js";
import type { RaftStorage } from "./raft-storage.js";
import { RocksStorage } from "./rocks-storage.js";

/** The fault-injection switches (DiskFaultPlan) default to their env vars for both kinds. */
export interface OpenStorageOptions extends DiskFaultPlan {
  /** `--data-dir`; absent = in-memory state, lost on restart. */
  readonly dataDir?: string;
}

export async function openStorage(options: OpenStorageOptions = {}): Promise<RaftStorage> {
  const faults = diskFaultPlan(options);
  if (options.dataDir === undefined) return new MemoryStorage(faults);
  return RocksStorage.open(options.dataDir, faults);
}

/** Creates RocksStorage instances over temp dirs, with raw RocksDB access for corruption tests. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RocksLevel } from "@nxtedition/rocksdb";
import type { DiskFaultPlan } from "../../src/storage/fault-injection.js";
import { entryKey, HARD_STATE_KEY } from "../../src/storage/record-codec.js";
import { ROCKS_SUBDIR, RocksStorage, SNAPSHOT_SUBDIR } from "../../src/storage/rocks-storage.js";
import type { CorruptTarget, StoreHandle } from "./conformance.js";

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "raftq-storage-"));
}

export async function openHandle(dir: string, faults: DiskFaultPlan = {}): Promise<StoreHandle> {
  const storage = await RocksStorage.open(dir, faults);
  const handle: StoreHandle = {
    storage,
    reopen: async () => {
      await storage.close();
      return openHandle(dir);
    },
    corrupt: (what) => flipByte(dir, what),
    dispose: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** Runs `fn` with the store's RocksDB opened directly (the store must be closed). */
export async function withRawDb<T>(dir: string, fn: (db: RocksLevel) => Promise<T>): Promise<T> {
  const db = new RocksLevel(join(dir, ROCKS_SUBDIR), { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Names of the files in the data dir's snapshot directory. */
export function snapshotFileNames(dir: string): string[] {
  return readdirSync(join(dir, SNAPSHOT_SUBDIR)).sort();
}

async function flipByte(dir: string, what: CorruptTarget): Promise<void> {
  if (what === "snapshot") {
    const [name] = snapshotFileNames(dir).filter((n) => n.endsWith(".snap"));
    const path = join(dir, SNAPSHOT_SUBDIR, name!);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0x40;
    writeFileSync(path, bytes);
    return;
  }
  const key = what === "hardstate" ? HARD_STATE_KEY : entryKey(3);
  await withRawDb(dir, async (db) => {
    const value = Buffer.from(await db.get(key));
    value[value.length - 1]! ^= 0x40;
    await db.put(key, value, { sync: true });
  });
}

import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FAIL_AFTER_WRITES_ENV, FAULT_FILE_ENV } from "../../src/storage/fault-injection.js";
import { entryKey, jsonRecord, FORMAT_KEY } from "../../src/storage/record-codec.js";
import { RocksStorage } from "../../src/storage/rocks-storage.js";
import { entries, entry, expectFatal, runConformance } from "./conformance.js";
import { openHandle, tempDataDir, withRawDb } from "./rocks-harness.js";

runConformance({
  name: "rocksdb",
  propertyRuns: 4,
  concurrent: true,
  create: (options) => openHandle(tempDataDir(), options),
});

describe("RocksStorage data dir", () => {
  it("refuses a data dir that is already open", async () => {
    const dir = tempDataDir();
    const first = await RocksStorage.open(dir);
    try {
      await expectFatal(RocksStorage.open(dir), "locked", /in use by another raftq process/);
    } finally {
      await first.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a store written by a newer format, and a RocksDB that is not a raftq store", async () => {
    const dir = tempDataDir();
    await (await RocksStorage.open(dir)).close();
    await withRawDb(dir, (db) =>
      db.put(FORMAT_KEY, jsonRecord(FORMAT_KEY, { format: "raftq-raft-storage", version: 99 }), {
        sync: true,
      }),
    );
    await expectFatal(RocksStorage.open(dir), "format", /format v99 by a newer raftq/);
    await withRawDb(dir, (db) =>
      db.del(FORMAT_KEY, { sync: true }).then(() => db.put(Buffer.from("x"), Buffer.from("y"))),
    );
    await expectFatal(RocksStorage.open(dir), "format", /not a raftq data dir/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("ignores and removes dead keys a crash left beyond the log (a lost range delete)", async () => {
    const h = await openHandle(tempDataDir());
    await h.storage.write({ entries: entries(1, 3, 1) });
    await h.storage.close();
    await withRawDb(h.storage instanceof RocksStorage ? h.storage.dataDir : "", async (db) => {
      const stale = (await db.get(entryKey(3))).subarray(); // a sealed record, valid only under key l/3
      await db.put(entryKey(4), stale, { sync: true });
    });
    const again = await h.reopen!();
    expect((await again.storage.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
    await again.storage.write({ entries: [entry(4, 2)] });
    expect((await again.storage.load()).entries.at(-1)).toMatchObject({ index: 4, term: 2 });
    await again.dispose();
  });

  it("reports a hole in the log as corruption, naming the key", async () => {
    const dir = tempDataDir();
    const h = await openHandle(dir);
    await h.storage.write({ entries: entries(1, 5, 1) });
    await h.storage.close();
    await withRawDb(dir, (db) => db.del(entryKey(3), { sync: true }));
    await expectFatal(RocksStorage.open(dir), "corruption", /key l\/4: expected entry 3 here/);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`honours ${FAIL_AFTER_WRITES_ENV}`, async () => {
    const dir = tempDataDir();
    process.env[FAIL_AFTER_WRITES_ENV] = "1";
    let s: RocksStorage;
    try {
      s = await RocksStorage.open(dir);
    } finally {
      delete process.env[FAIL_AFTER_WRITES_ENV];
    }
    await s.write({ entries: [entry(1, 1)] });
    await expectFatal(s.write({ entries: [entry(2, 1)] }), "io", /injected disk fault/);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`honours ${FAULT_FILE_ENV} (the switch chaos flips in a running node)`, async () => {
    const dir = tempDataDir();
    const file = join(dir, "disk-fails");
    process.env[FAULT_FILE_ENV] = file;
    let s: RocksStorage;
    try {
      s = await RocksStorage.open(dir);
    } finally {
      delete process.env[FAULT_FILE_ENV];
    }
    await s.write({ entries: [entry(1, 1)] });
    writeFileSync(file, "fail");
    await expectFatal(s.write({ entries: [entry(2, 1)] }), "io", /injected disk fault.*disk-fails says fail/);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

// Snapshots in files next to RocksDB (src/storage/snapshot-files.ts): where the
// bytes go, what a crash can leave behind, what damage is caught, and how a data
// dir written by format v1 (snapshots as chunk records) is read and moved on.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  chunkKey,
  CHUNK_KEYS_END,
  entryKey,
  FORMAT_KEY,
  jsonRecord,
  LOG_KEY,
  openRecord,
  sealRecord,
  SNAPSHOT_KEY,
  writeEntryRecord,
  entryRecordBytes,
  CRC_BYTES,
} from "../../src/storage/record-codec.js";
import { RocksStorage, SNAPSHOT_SUBDIR } from "../../src/storage/rocks-storage.js";
import { SnapshotFiles, TRASH_SUFFIX } from "../../src/storage/snapshot-files.js";
import { entries, entry, expectFatal, snapshot } from "./conformance.js";
import { snapshotFileNames, tempDataDir, withRawDb } from "./rocks-harness.js";

const dirs: string[] = [];
function freshDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function keysIn(dir: string, gte: Buffer, lt: Buffer): Promise<number> {
  return withRawDb(dir, async (db) => {
    const it = db.iterator({ gte, lt });
    const rows = await it.nextv(1000);
    await it.close();
    return rows.length;
  });
}

async function formatVersion(dir: string): Promise<unknown> {
  return withRawDb(dir, async (db) => {
    const raw = await db.get(FORMAT_KEY);
    return (JSON.parse(openRecord(FORMAT_KEY, raw, dir).toString("utf8")) as { version: unknown }).version;
  });
}

describe("RocksStorage snapshot files", () => {
  it("writes a snapshot as one file under snap/ and keeps only a pointer in RocksDB", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    const big = snapshot(10, 2, 3 * 1024 * 1024 + 17);
    await s.write({ entries: entries(1, 12, 2), snapshot: big });
    await s.close();

    const names = snapshotFileNames(dir);
    expect(names).toEqual([
      `${"a".padStart(16, "0")}-${"2".padStart(16, "0")}-${names[0]!.slice(34, 42)}.snap`,
    ]);
    expect(statSync(join(dir, SNAPSHOT_SUBDIR, names[0]!)).size).toBe(big.data.byteLength);
    expect(await keysIn(dir, chunkKey(0), CHUNK_KEYS_END)).toBe(0);
    const pointer = await withRawDb(dir, async (db) =>
      JSON.parse(openRecord(SNAPSHOT_KEY, await db.get(SNAPSHOT_KEY), dir).toString("utf8")),
    );
    expect(pointer).toMatchObject({
      file: names[0],
      totalBytes: big.data.byteLength,
      metadata: big.metadata,
    });

    const again = await RocksStorage.open(dir);
    const loaded = await again.load();
    expect(Buffer.from(loaded.snapshot!.data).equals(Buffer.from(big.data))).toBe(true);
    expect(loaded.entries.map((e) => e.index)).toEqual([11, 12]);
    await again.close();
  });

  it("deletes the replaced snapshot's file once the new pointer is written", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 8, 1), snapshot: snapshot(4, 1, 5000) });
    const first = snapshotFileNames(dir);
    await s.write({ snapshot: snapshot(8, 1, 7000) });
    await s.close(); // the worker deletes dead files right after answering a write; close waits for that
    const second = snapshotFileNames(dir);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(second[0]!.startsWith("0000000000000008-")).toBe(true);
  });

  it("deletes at open the files a crash left: an unfinished .tmp and a file never pointed to", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 6, 1), snapshot: snapshot(5, 1, 4000) });
    await s.close();
    const [live] = snapshotFileNames(dir);
    const snapDir = join(dir, SNAPSHOT_SUBDIR);
    writeFileSync(
      join(snapDir, "0000000000000009-0000000000000001-00000000.snap"),
      "written, never committed",
    );
    writeFileSync(join(snapDir, "0000000000000009-0000000000000001-00000000.snap.tmp"), "half writ");

    const again = await RocksStorage.open(dir);
    expect(snapshotFileNames(dir)).toEqual([live]);
    const loaded = await again.load();
    expect(Buffer.from(loaded.snapshot!.data).equals(Buffer.from(snapshot(5, 1, 4000).data))).toBe(true);
    await again.close();
  });

  it("refuses to open when the snapshot file is missing or has the wrong size", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ snapshot: snapshot(3, 1, 9000) });
    await s.close();
    const path = join(dir, SNAPSHOT_SUBDIR, snapshotFileNames(dir)[0]!);

    truncateSync(path, 100);
    await expectFatal(RocksStorage.open(dir), "corruption", /is 100 bytes, m\/snapshot records 9000/);
    rmSync(path);
    await expectFatal(RocksStorage.open(dir), "corruption", /named by m\/snapshot cannot be opened/);
  });

  it("fails a snapshot write whose file cannot be written, and every write after it", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 3, 1) });
    const snapDir = join(dir, SNAPSHOT_SUBDIR);
    rmSync(snapDir, { recursive: true });
    writeFileSync(snapDir, "not a directory");
    await expectFatal(s.write({ snapshot: snapshot(2, 1) }), "io", /cannot write snapshot file/);
    await expectFatal(s.write({ entries: [entry(4, 1)] }), "io", /cannot write snapshot file/);
    await s.close();
    rmSync(snapDir);
    mkdirSync(snapDir);
    const again = await RocksStorage.open(dir); // nothing of the failed write was committed
    const loaded = await again.load();
    expect(loaded.snapshot).toBeNull();
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    await again.close();
  });

  it("reads a format-v1 dir (snapshot in chunk records); the next snapshot moves to a file and marks the dir v2", async () => {
    const dir = freshDir();
    await (await RocksStorage.open(dir)).close(); // creates the RocksDB and the format record
    const old = snapshot(6, 1, 2 * 1024 * 1024 + 5);
    const chunkBytes = 1024 * 1024;
    const chunkCount = Math.ceil(old.data.byteLength / chunkBytes);
    await withRawDb(dir, async (db) => {
      const ops = [];
      const v1 = { format: "raftq-raft-storage", version: 1 };
      ops.push({ type: "put" as const, key: FORMAT_KEY, value: jsonRecord(FORMAT_KEY, v1) });
      for (let n = 0; n < chunkCount; n++) {
        const chunk = old.data.subarray(n * chunkBytes, Math.min((n + 1) * chunkBytes, old.data.byteLength));
        const record = Buffer.alloc(CRC_BYTES + chunk.byteLength);
        record.set(chunk, CRC_BYTES);
        ops.push({ type: "put" as const, key: chunkKey(n), value: sealRecord(chunkKey(n), record) });
      }
      const meta = { metadata: old.metadata, totalBytes: old.data.byteLength, chunkBytes, chunkCount };
      ops.push({ type: "put" as const, key: SNAPSHOT_KEY, value: jsonRecord(SNAPSHOT_KEY, meta) });
      const e7 = entry(7, 1);
      const record = Buffer.alloc(entryRecordBytes(e7.data.byteLength));
      writeEntryRecord(record, 0, e7.term, e7.type, e7.data);
      ops.push({ type: "put" as const, key: entryKey(7), value: sealRecord(entryKey(7), record) });
      ops.push({ type: "put" as const, key: LOG_KEY, value: jsonRecord(LOG_KEY, { lastIndex: 7 }) });
      await db.batch(ops, { sync: true });
    });

    const s = await RocksStorage.open(dir);
    const loaded = await s.load();
    expect(loaded.snapshot?.metadata).toEqual(old.metadata);
    expect(Buffer.from(loaded.snapshot!.data).equals(Buffer.from(old.data))).toBe(true);
    expect(loaded.entries.map((e) => e.index)).toEqual([7]);
    await s.write({ entries: [entry(8, 1)], snapshot: snapshot(8, 1, 3000) });
    await s.close();

    expect(await formatVersion(dir)).toBe(2);
    expect(await keysIn(dir, chunkKey(0), CHUNK_KEYS_END)).toBe(0);
    expect(snapshotFileNames(dir)).toHaveLength(1);
    const again = await RocksStorage.open(dir);
    expect((await again.load()).snapshot?.metadata.index).toBe(8);
    await again.close();
  });

  it("commits a staged snapshot by its pointer: the write that carries it does not write the file again", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 10, 3) });
    const snap = snapshot(9, 3, 2 * 1024 * 1024 + 9);
    const data = new Uint8Array(new SharedArrayBuffer(snap.data.byteLength));
    data.set(snap.data);
    const staging = s.stageSnapshot(9, 3, data);
    // Writes issued while the file is written are served meanwhile, in their order.
    await s.write({ entries: [entry(11, 3)] });
    await staging;
    const [staged] = snapshotFileNames(dir);
    const inode = statSync(join(dir, SNAPSHOT_SUBDIR, staged!)).ino;
    await s.write({ snapshot: { ...snap, data } });
    await s.close();

    expect(snapshotFileNames(dir)).toEqual([staged]);
    expect(statSync(join(dir, SNAPSHOT_SUBDIR, staged!)).ino).toBe(inode);
    const again = await RocksStorage.open(dir);
    const loaded = await again.load();
    expect(loaded.snapshot?.metadata).toEqual(snap.metadata);
    expect(Buffer.from(loaded.snapshot!.data).equals(Buffer.from(snap.data))).toBe(true);
    expect(loaded.entries.map((e) => e.index)).toEqual([10, 11]);
    await again.close();
  });

  it("spares staged files from cleanup until they are carried or abandoned; open deletes abandoned ones", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 20, 1) });
    await s.stageSnapshot(12, 1, snapshot(12, 1, 3000).data);
    await s.write({ snapshot: snapshot(5, 1, 1000) }); // another snapshot's cleanup runs
    await s.write({ entries: [entry(21, 1)] }); // and the worker has finished it
    expect(snapshotFileNames(dir).map((n) => n.slice(0, 16))).toEqual([
      "0000000000000005",
      "000000000000000c",
    ]);
    // Two more staged: the oldest (12) is abandoned and goes with the next cleanup.
    await s.stageSnapshot(14, 1, snapshot(14, 1, 3000).data);
    await s.stageSnapshot(16, 1, snapshot(16, 1, 3000).data);
    await s.write({ snapshot: snapshot(14, 1, 3000) });
    await s.close();
    expect(snapshotFileNames(dir).map((n) => n.slice(0, 16))).toEqual([
      "000000000000000e",
      "0000000000000010",
    ]);
    const again = await RocksStorage.open(dir); // 16 was never carried
    expect(snapshotFileNames(dir).map((n) => n.slice(0, 16))).toEqual(["000000000000000e"]);
    expect((await again.load()).snapshot?.metadata.index).toBe(14);
    await again.close();
  });

  it("a snapshot staged twice is durable when either call resolves", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 10, 3) });
    const data = snapshot(9, 3, 4 * 1024 * 1024).data;
    const first = s.stageSnapshot(9, 3, data);
    await s.stageSnapshot(9, 3, data);
    expect(snapshotFileNames(dir)).toHaveLength(1);
    expect(snapshotFileNames(dir)[0]).toMatch(/^0000000000000009-0000000000000003-[0-9a-f]{8}\.snap$/);
    await first;
    await s.close();
  });

  it("marks a new data dir v2 at once", async () => {
    const dir = freshDir();
    await (await RocksStorage.open(dir)).close();
    expect(await formatVersion(dir)).toBe(2);
  });
});

describe("SnapshotFiles deletion (rename into the trash, unlink in the background)", () => {
  const trashOf = (dir: string): string => join(dir, SNAPSHOT_SUBDIR + TRASH_SUFFIX);

  it("leaves only the kept files in snap/ when removeAllBut returns, and an empty trash once settled", async () => {
    const dir = freshDir();
    const files = SnapshotFiles.open(join(dir, SNAPSHOT_SUBDIR));
    const old = await files.write(4, 1, new Uint8Array(2 * 1024 * 1024).fill(1), () => {});
    const live = await files.write(8, 1, new Uint8Array(1000).fill(2), () => {});
    writeFileSync(join(files.dir, "0000000000000009-0000000000000001-00000000.snap.tmp"), "half writ");

    files.removeAllBut(new Set([live.file]));
    expect(snapshotFileNames(dir)).toEqual([live.file]);
    await files.settled();
    expect(readdirSync(trashOf(dir))).toEqual([]);
    expect(snapshotFileNames(dir)).toEqual([live.file]);
    expect(old.file).not.toBe(live.file);
  });

  it("never deletes a file written again under a name that was just deleted", async () => {
    // A staged snapshot abandoned and staged again has the same index, term and CRC, so the
    // same name: an unlink by that name still pending in the background would remove the new
    // file. Here the new file lands before the background work has had a turn.
    const dir = freshDir();
    const files = SnapshotFiles.open(join(dir, SNAPSHOT_SUBDIR));
    const first = await files.write(12, 3, new Uint8Array(64 * 1024).fill(7), () => {});
    files.removeAllBut(new Set());
    writeFileSync(join(files.dir, first.file), "the same name, written again");
    await files.settled();
    expect(snapshotFileNames(dir)).toEqual([first.file]);
    expect(readFileSync(join(files.dir, first.file), "utf8")).toBe("the same name, written again");
  });

  it("deletes every dead file even when more die at once than are unlinked in the background", async () => {
    const dir = freshDir();
    const files = SnapshotFiles.open(join(dir, SNAPSHOT_SUBDIR));
    for (let i = 0; i < 20; i++)
      writeFileSync(join(files.dir, `${String(i).padStart(16, "0")}-x.snap`), "old");
    files.removeAllBut(new Set());
    expect(snapshotFileNames(dir)).toEqual([]);
    await files.settled();
    expect(readdirSync(trashOf(dir))).toEqual([]);
  });

  it("empties at open a trash that a previous run left full", async () => {
    const dir = freshDir();
    const s = await RocksStorage.open(dir);
    await s.write({ entries: entries(1, 6, 1), snapshot: snapshot(5, 1, 4000) });
    await s.write({ snapshot: snapshot(6, 1, 4000) });
    await s.close();
    expect(readdirSync(trashOf(dir))).toEqual([]); // close waited for the unlink of the first file
    writeFileSync(
      join(trashOf(dir), "0-0000000000000005-0000000000000001-00000000.snap"),
      "not yet unlinked",
    );

    const again = await RocksStorage.open(dir);
    expect(readdirSync(trashOf(dir))).toEqual([]);
    expect(snapshotFileNames(dir)).toHaveLength(1);
    expect((await again.load()).snapshot!.metadata.index).toBe(6);
    await again.close();
    expect(existsSync(trashOf(dir))).toBe(true);
  });
});

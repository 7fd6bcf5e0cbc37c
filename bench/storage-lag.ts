/**
 * Event-loop lag on the main thread while synced Raft batches are written
 * continuously, through RocksStorage (DB in a worker thread) and, for contrast,
 * through the binding called directly on the main thread.
 *
 *   npx tsx bench/storage-lag.ts [--seconds 3] [--dir /tmp/x] [--snapshot-mib 64]
 *
 * Entries are 200 bytes. "depth" is how many writes are kept in flight.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { RocksLevel } from "@nxtedition/rocksdb";
import type { Entry } from "../src/raft/types.js";
import { entryKey } from "../src/storage/record-codec.js";
import { RocksStorage } from "../src/storage/rocks-storage.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    dir: { type: "string" },
    "snapshot-mib": { type: "string", default: "64" },
  },
});
const seconds = Number(args.seconds);
const ENTRY_BYTES = 200;
const payload = new Uint8Array(ENTRY_BYTES).fill(7);

interface Figures {
  readonly name: string;
  readonly batches: number;
  readonly entries: number;
  readonly elapsedS: number;
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
}

async function measure(name: string, run: (until: number) => Promise<number[]>): Promise<Figures> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const start = performance.now();
  h.enable();
  const [batches, entries] = await run(start + seconds * 1000);
  h.disable();
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  return {
    name,
    batches: batches!,
    entries: entries!,
    elapsedS: (performance.now() - start) / 1000,
    lagP50Ms: ms(h.percentile(50)),
    lagP99Ms: ms(h.percentile(99)),
    lagMaxMs: ms(h.max),
  };
}

function makeEntries(from: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: from + i, term: 1, type: 0, data: payload }));
}

async function viaWorker(dir: string, perBatch: number, depth: number, until: number): Promise<number[]> {
  const s = await RocksStorage.open(dir);
  let next = 1;
  let batches = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < until) {
      const es = makeEntries(next, perBatch);
      next += perBatch;
      await s.write({ entries: es, hardState: { term: 1, vote: "n1", commit: next - 1 } });
      batches++;
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  await s.close();
  return [batches, next - 1];
}

/**
 * The binding on the main thread. Its synced write completes through process.nextTick,
 * so an await loop never returns to the event loop: timers starve for the whole run.
 * With `yieldEachWrite`, each write still blocks the loop for its full fsync.
 */
async function onMainThread(
  dir: string,
  perBatch: number,
  yieldEachWrite: boolean,
  until: number,
): Promise<number[]> {
  const db = new RocksLevel(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open({ createIfMissing: true });
  const value = Buffer.alloc(4 + 9 + ENTRY_BYTES, 7);
  let next = 1;
  let batches = 0;
  while (performance.now() < until) {
    const ops = Array.from({ length: perBatch }, (_, i) => ({
      type: "put" as const,
      key: entryKey(next + i),
      value,
    }));
    next += perBatch;
    await db.batch(ops, { sync: true });
    batches++;
    if (yieldEachWrite) await new Promise((r) => setImmediate(r));
  }
  await db.close();
  return [batches, next - 1];
}

/** Printed after the table: how long a snapshot write takes, and an append queued right behind it. */
const snapshotNotes: string[] = [];

async function snapshotRoundTrip(dir: string, mib: number): Promise<Figures[]> {
  const s = await RocksStorage.open(dir);
  // In shared memory, as the node's snapshots are (the worker reads them in place).
  const data = new Uint8Array(new SharedArrayBuffer(mib * 1024 * 1024)).fill(3);
  await s.write({ entries: makeEntries(1, 1) });
  let index = 1;
  // Three in a row: the first file lands in memory the machine may never have used
  // (slow on a fresh VM); the next ones reuse the page cache of deleted snapshots.
  const write = await measure(`worker snapshot ${mib} MiB write x3`, async () => {
    const rounds: string[] = [];
    for (let round = 0; round < 3; round++) {
      const metadata = { index, term: 1, membership: { members: [] } };
      const t0 = performance.now();
      const snapshotDone = s.write({ snapshot: { metadata, data } }).then(() => performance.now() - t0);
      const appendDone = s.write({ entries: makeEntries(++index, 1) }).then(() => performance.now() - t0);
      const [snapshotMs, appendMs] = await Promise.all([snapshotDone, appendDone]);
      rounds.push(`${snapshotMs.toFixed(0)} / ${appendMs.toFixed(0)} ms`);
    }
    snapshotNotes.push(
      `snapshot of ${mib} MiB, three in a row: synced write / a 1-entry append queued behind it: ` +
        `${rounds.join(", ")} (writes are applied in order)`,
    );
    return [3, 3];
  });
  // As the node does it: stage the file beside the writes, then write the snapshot (a pointer).
  const staged = await measure(`worker snapshot ${mib} MiB staged x3`, async () => {
    const rounds: string[] = [];
    for (let round = 0; round < 3; round++) {
      const metadata = { index, term: 1, membership: { members: [] } };
      const t0 = performance.now();
      const stageDone = s.stageSnapshot(index, 1, data).then(() => performance.now() - t0);
      const appendMs = await s.write({ entries: makeEntries(++index, 1) }).then(() => performance.now() - t0);
      const stageMs = await stageDone;
      const t1 = performance.now();
      await s.write({ snapshot: { metadata, data } });
      rounds.push(
        `${stageMs.toFixed(0)} / ${appendMs.toFixed(0)} / ${(performance.now() - t1).toFixed(0)} ms`,
      );
    }
    snapshotNotes.push(
      `snapshot of ${mib} MiB staged, three in a row: staging / a 1-entry append issued with it / ` +
        `then the write carrying the snapshot: ${rounds.join(", ")}`,
    );
    return [3, 6];
  });
  const load = await measure(`worker snapshot ${mib} MiB load`, async () => {
    const loaded = await s.load();
    if (loaded.snapshot?.data.length !== data.length) throw new Error("snapshot did not read back");
    return [1, 0];
  });
  await s.close();
  return [write, staged, load];
}

const base = args.dir ?? mkdtempSync(join(tmpdir(), "raftq-bench-"));
let n = 0;
const fresh = (): string => join(base, `run-${n++}`);
const results: Figures[] = [];
try {
  results.push(await measure("worker  1-entry  depth 1", (u) => viaWorker(fresh(), 1, 1, u)));
  results.push(await measure("worker  1-entry  depth 8", (u) => viaWorker(fresh(), 1, 8, u)));
  results.push(await measure("worker 100-entry depth 1", (u) => viaWorker(fresh(), 100, 1, u)));
  results.push(await measure("main    1-entry  await loop", (u) => onMainThread(fresh(), 1, false, u)));
  results.push(await measure("main   100-entry await loop", (u) => onMainThread(fresh(), 100, false, u)));
  results.push(await measure("main    1-entry  yield each", (u) => onMainThread(fresh(), 1, true, u)));
  results.push(await measure("main   100-entry yield each", (u) => onMainThread(fresh(), 100, true, u)));
  const mib = Number(args["snapshot-mib"]);
  if (mib > 0) results.push(...(await snapshotRoundTrip(fresh(), mib)));
} finally {
  if (args.dir === undefined) rmSync(base, { recursive: true, force: true });
}

console.log(
  `entries of ${ENTRY_BYTES} B, every batch synced, ${seconds} s per row; lag = main-thread event-loop delay ` +
    `(monitorEventLoopDelay, 1 ms resolution: an idle loop reads ~1.1 ms)`,
);
console.log(
  ["scenario".padEnd(34), "batches/s", "entries/s", "lag p50 ms", "p99 ms", "max ms"]
    .map((c) => c.padStart(10))
    .join(" "),
);
for (const r of results) {
  const row = [
    r.name.padEnd(34),
    Math.round(r.batches / r.elapsedS),
    Math.round(r.entries / r.elapsedS),
    r.lagP50Ms,
    r.lagP99Ms,
    r.lagMaxMs,
  ];
  console.log(row.map((c) => String(c).padStart(10)).join(" "));
}
for (const note of snapshotNotes) console.log(note);

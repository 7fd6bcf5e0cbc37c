/**
 * How long small synced log writes stall while a node writes a large snapshot file on the
 * same file system (SnapshotFiles.write, the real code). A second thread appends 300-byte
 * records with fdatasync in a loop, as a Raft log does (this node's, or another node's on a
 * shared disk), and records each one's latency; the snapshot is written three times.
 *
 *   npx tsx bench/storage-snapshot-fsync.ts [--snapshot-mib 160] [--dir /var/tmp]   (or BENCH_SNAPSHOT_MIB)
 *
 * On ext4 (data=ordered) every fsync's journal commit waits for the dirty data of a file
 * being synced: this is why SnapshotFiles syncs in steps (see SYNC_STEP_BYTES there).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { SnapshotFiles } from "../src/storage/snapshot-files.js";
import { sleep } from "./lib/cluster.js";
import { ms, summarize, table } from "./lib/stats.js";

const RECORD_BYTES = 300;
const ROUNDS = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "snapshot-mib": { type: "string", default: process.env.BENCH_SNAPSHOT_MIB ?? "160" },
      dir: { type: "string" },
    },
  });
  const mib = Number(values["snapshot-mib"]);
  const dir = mkdtempSync(join(values.dir ?? tmpdir(), "raftq-snapshot-fsync-"));
  try {
    const files = SnapshotFiles.open(join(dir, "snap"));
    const data = new Uint8Array(mib * 1024 * 1024).fill(1);
    console.log(
      `snapshot file of ${mib} MiB written ${ROUNDS} times beside a thread doing ${RECORD_BYTES}-byte fdatasync'd appends (${dir})`,
    );
    const rows: string[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const writer = new Worker(LOG_WRITER, { eval: true, workerData: { dir } });
      await new Promise<void>((r) => writer.once("message", () => r())); // started
      await sleep(200);
      const t0 = performance.now();
      const ref = await files.write(round, 1, data, () => {});
      const writeMs = performance.now() - t0;
      await sleep(200);
      writer.postMessage("stop");
      const lat = await new Promise<number[]>((r) => writer.once("message", r));
      await writer.terminate();
      files.removeAllBut(new Set([ref.file]));
      const l = summarize(lat);
      const over10 = lat.filter((x) => x > 10).length;
      rows.push([
        String(round),
        ms(writeMs),
        String(l.count),
        ms(l.p50),
        ms(l.p99),
        ms(l.max),
        String(over10),
      ]);
    }
    console.log(table(["round", "snapshot write", "log fsyncs", "p50", "p99", "max", "over 10 ms"], rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The log-like writer, as plain JavaScript (a worker cannot load this .ts file): append,
 * fdatasync, record the latency, until told to stop (bounded at 200k records).
 */
const LOG_WRITER = `
const { parentPort, workerData } = require("node:worker_threads");
const { closeSync, fdatasyncSync, openSync, rmSync, writeSync } = require("node:fs");
const { join } = require("node:path");
let stop = false;
parentPort.on("message", () => (stop = true));
const path = join(workerData.dir, "log-" + process.pid + "-" + Date.now());
const fd = openSync(path, "w");
const record = Buffer.alloc(${RECORD_BYTES}, 2);
const lat = [];
parentPort.postMessage("started");
(async () => {
  while (!stop && lat.length < 200000) {
    const t = performance.now();
    writeSync(fd, record);
    fdatasyncSync(fd);
    lat.push(performance.now() - t);
    if (lat.length % 20 === 0) await new Promise((r) => setImmediate(r)); // let "stop" arrive
  }
  closeSync(fd);
  rmSync(path, { force: true });
  parentPort.postMessage(lat);
})();
`;

await main();

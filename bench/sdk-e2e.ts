// End to end through the SDK, as an application would run it: RaftqClient.submitMany (x100,
// 16 calls in flight) to the leader, two SDK Workers (concurrency 500 each, no-op handler,
// their streams on the followers, default batching of assignments and reports), all in this
// one process; a warmed 3-node cluster (RocksDB, sync on). Prints jobs/s from the first submit
// to the last completion and CPU per process. Asserts nothing.
// Run: npx tsx bench/sdk-e2e.ts [--quick: 1 s warm-up]   Settings: BENCH_E2E_JOBS (50,000), BENCH_ROUNDS (2).
import { RaftqClient, Worker } from "../src/client/index.js";
import { type BenchCluster, sleep } from "./lib/cluster.js";
import { cpuMeter } from "./lib/loadgens.js";
import { row, type Row } from "./lib/report.js";
import { isMain, runStandalone } from "./lib/standalone.js";
import { warmCluster } from "./warm-up.js";

const JOBS = Number(process.env.BENCH_E2E_JOBS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const IN_FLIGHT = 16;
const BATCH = 100;

async function round(c: BenchCluster, leader: string, queue: string): Promise<Row> {
  const endpoints = c.nodes.map((n) => n.address);
  const followers = c.nodes.filter((n) => n.id !== leader).map((n) => n.address);
  const workers = followers.map(
    (address, i) =>
      new Worker({
        endpoints: [address, ...endpoints],
        queues: [queue],
        concurrency: 500,
        workerId: `${queue}-w${i}`,
        handler: async () => undefined,
      }),
  );
  await Promise.all(workers.map((w) => w.start()));
  await sleep(1000); // registrations commit, streams open
  const client = new RaftqClient({ endpoints: [c.node(leader).address] });
  const meter = cpuMeter(
    new Map([
      ...c.nodes.map((n): [string, number | null] => [
        n.id === leader ? `${n.id}*` : n.id,
        n.proc?.pid ?? null,
      ]),
      ["client+workers", process.pid],
    ]),
  );
  const payload = Buffer.alloc(128, 120);
  const t0 = Date.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < JOBS) {
        sent += BATCH;
        await client.submitMany(Array.from({ length: BATCH }, () => ({ queue, type: "bench", payload })));
      }
    }),
  );
  const completed = (): number => workers.reduce((sum, w) => sum + w.stats().completed, 0);
  while (completed() < sent && Date.now() - t0 < 120_000) await sleep(10);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = meter();
  const done = completed();
  await Promise.all(workers.map((w) => w.close({ drain: false })));
  client.close();
  return row({
    group: "sdk-e2e",
    name: `submitMany x${BATCH} (${IN_FLIGHT} in flight) -> 2 SDK Workers -> completed`,
    settings: `${sent} jobs, 128-byte payloads; RaftqClient.submitMany to the leader; 2 Workers (concurrency 500, no-op handler, streams on the followers, maxEventsPerMessage and reports at their defaults) in the same process as the client; rate = jobs / (first submit .. last completion)`,
    rate: done / seconds,
    cpu,
    extra: { submitted: sent, completed: done, seconds },
  });
}

if (isMain(import.meta.url))
  await runStandalone(async (c, { quick }) => {
    await warmCluster(c, quick);
    const rows: Row[] = [];
    for (let i = 0; i < ROUNDS; i++) rows.push(await round(c, await c.waitForLeader(), `sdk-e2e-${i}`));
    return rows;
  });

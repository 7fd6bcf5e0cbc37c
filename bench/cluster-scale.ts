// Scale: fill the queue to 1,000,000 pending jobs (no workers) and measure, as depth grows,
// SubmitJob throughput (should stay flat); then at full depth a follower's restart-to-ready
// time, InstallSnapshot time for a wiped follower, and heap per job.
// Run: npx tsx bench/cluster-scale.ts [--quick]
// Settings: BENCH_DEPTH (1,000,000; quick 20,000), BENCH_SECONDS (5; quick 2).
import { performance } from "node:perf_hooks";
import { isMain, runStandalone } from "./lib/standalone.js";
import { BenchCluster, sleep } from "./lib/cluster.js";
import { measureSubmit } from "./cluster-submit.js";
import { DEFAULT_LOAD, LoadGens, merge } from "./lib/loadgens.js";
import { printRows, row, type Row } from "./lib/report.js";

const HEAP = "raftq_process_nodejs_heap_size_used_bytes";

async function fill(c: BenchCluster, leader: string, jobs: number, tag: string): Promise<number> {
  if (jobs <= 0) return 0;
  const procs = 2;
  const per = Math.ceil(jobs / procs / 1000) * 1000;
  const g = await LoadGens.spawn(
    Array.from({ length: procs }, (_, i) => ({
      ...DEFAULT_LOAD,
      mode: "submit" as const,
      targets: [c.node(leader).address],
      queue: "scale",
      batch: 1000,
      inFlight: 4,
      total: per,
      deadlineMs: 30_000,
      tag: `${tag}-${i}`,
    })),
  );
  g.go(0, 0);
  const m = merge(await g.collect());
  return m.ok;
}

/** Applied index of `id` as it reports it itself. */
async function applied(c: BenchCluster, id: string): Promise<number> {
  const st = await c.localStatus(id);
  return st.members.find((m) => m.id === id)?.appliedIndex ?? 0;
}

async function waitApplied(c: BenchCluster, id: string, index: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await applied(c, id).catch(() => 0)) >= index) return;
    if (c.node(id).proc === null)
      throw new Error(`${id} exited while catching up (see ${c.baseDir}/${id}.log)`);
    await sleep(10);
  }
  throw new Error(`${id} did not apply index ${index} within ${timeoutMs} ms`);
}

async function heapOf(c: BenchCluster, id: string): Promise<number> {
  return (await c.metric(id, HEAP)) ?? NaN;
}

export async function runScale(c: BenchCluster, o: { quick: boolean; depth?: number }): Promise<Row[]> {
  const depth = o.depth ?? Number(process.env.BENCH_DEPTH ?? (o.quick ? 20_000 : 1_000_000));
  const seconds = Number(process.env.BENCH_SECONDS ?? (o.quick ? 2 : 5));
  const steps = o.quick ? [0, 1] : [0, 0.25, 0.5, 0.75, 1];
  const rows: Row[] = [];
  let leader = await c.waitForLeader();
  const heap0 = new Map<string, number>();
  for (const n of c.nodes) heap0.set(n.id, await heapOf(c, n.id));
  let filled = 0;
  const fillStart = performance.now();
  let fillMs = 0;
  for (const f of steps) {
    const want = Math.round(depth * f);
    const t = performance.now();
    filled += await fill(c, leader, want - filled, `fill${f}`);
    fillMs += performance.now() - t;
    leader = await c.waitForLeader();
    const r = await measureSubmit(c, leader, {
      group: "scale",
      name: `SubmitJob 64 in flight at ${filled.toLocaleString("en-US")} pending`,
      inFlight: 64,
      batch: 0,
      seconds,
      warmupMs: 500,
      tag: `depth${f}`,
    });
    filled += Number(r.extra.jobs ?? 0);
    rows.push(r);
    console.error(printRows(rows.slice(-1)));
  }
  void fillStart;
  rows.push(
    row({
      group: "scale",
      name: `fill to ${filled.toLocaleString("en-US")} pending`,
      settings: "SubmitJobs x1000, 2 processes x 4 in flight, to the leader",
      rate: (filled * 1000) / fillMs,
      extra: { seconds: fillMs / 1000 },
    }),
  );
  // Heap per job, every node (after the fill; GC state is whatever it is: heapUsed, not a forced GC).
  const heapExtra: Record<string, number> = {};
  for (const n of c.nodes) {
    const h = await heapOf(c, n.id);
    heapExtra[`${n.id}_MB`] = Math.round(h / 1e6);
    heapExtra[`${n.id}_bytes_per_job`] = Math.round((h - (heap0.get(n.id) ?? 0)) / filled);
  }
  const rss: Record<string, number | null> = {};
  for (const n of c.nodes) rss[n.id] = c.rss(n.id);
  rows.push(
    row({
      group: "scale",
      name: "heap per pending job",
      settings: `${HEAP} after the fill minus before, / ${filled} jobs (128-byte payloads); rss MB ${Object.entries(
        rss,
      )
        .map(([k, v]) => `${k} ${v === null ? "-" : Math.round(v / 1e6)}`)
        .join(", ")}`,
      extra: heapExtra,
    }),
  );
  console.error(printRows(rows.slice(-1)));

  // Restart-to-ready of a follower at full depth: kill -9, start, time to /readyz 200 and to caught up.
  leader = await c.waitForLeader();
  const follower = c.nodes.find((n) => n.id !== leader)!.id;
  const target = (await c.localStatus(leader)).commitIndex;
  await c.kill(follower);
  let t0 = performance.now();
  await c.startNode(follower);
  const listening = performance.now() - t0;
  await c.waitReady(follower, 300_000);
  const ready = performance.now() - t0;
  await waitApplied(c, follower, target, 300_000);
  const caughtUp = performance.now() - t0;
  rows.push(
    row({
      group: "scale",
      name: "follower restart -> ready",
      settings: `kill -9 of ${follower} at ${filled} pending, restart from its RocksDB dir; times from spawn: listening, /readyz 200, applied >= leader commit at kill (${target})`,
      p50: ready,
      extra: {
        listening_ms: Math.round(listening),
        readyz_ms: Math.round(ready),
        caught_up_ms: Math.round(caughtUp),
      },
    }),
  );
  console.error(printRows(rows.slice(-1)));

  // InstallSnapshot for a lagging follower: down while the leader appends more than two
  // snapshot thresholds of entries (so its log is compacted past the follower), then restarted.
  leader = await c.waitForLeader();
  const lagging = c.nodes.find((n) => n.id !== leader)!.id;
  await c.kill(lagging);
  const before = (await c.metric(leader, "raftq_snapshots_total")) ?? 0;
  const extra = await LoadGens.spawn([
    {
      ...DEFAULT_LOAD,
      mode: "submit",
      targets: [c.node(leader).address],
      queue: "scale",
      batch: 1,
      inFlight: 64,
      total: o.quick ? 2500 : 3000,
      tag: "lag",
    },
  ]);
  extra.go(0, 0);
  filled += merge(await extra.collect()).ok;
  const target3 = (await c.localStatus(leader)).commitIndex;
  const installed0 = 0;
  t0 = performance.now();
  await c.startNode(lagging);
  const listening3 = performance.now() - t0;
  let caught3 = NaN;
  let failure3 = "";
  try {
    await waitApplied(c, lagging, target3, 600_000);
    caught3 = performance.now() - t0;
  } catch (e) {
    failure3 = (e as Error).message;
  }
  rows.push(
    row({
      group: "scale",
      name: "lagging follower -> caught up (InstallSnapshot)",
      settings: `${lagging} killed, ${o.quick ? 2500 : 3000} entries appended while it was down (leader snapshots: ${before} -> ${(await c.metric(leader, "raftq_snapshots_total")) ?? "-"}), restarted at ${filled} pending; time from spawn to applied >= leader commit (${target3})`,
      p50: caught3,
      errors: failure3 ? { "node exited": 1 } : {},
      extra: {
        listening_ms: Math.round(listening3),
        caught_up_ms: Math.round(caught3),
        ...(failure3 ? { failure: failure3 } : {}),
        snapshots_installed: ((await c.metric(lagging, "raftq_snapshots_installed_total")) ?? 0) - installed0,
      },
    }),
  );
  console.error(printRows(rows.slice(-1)));
  if (c.node(lagging).proc === null) await c.startNode(lagging);

  // InstallSnapshot: a wiped follower comes back empty and catches up from the leader's snapshot.
  leader = await c.waitForLeader();
  const wiped = c.nodes.find((n) => n.id !== leader)!.id;
  await c.kill(wiped);
  await c.wipe(wiped);
  const target2 = (await c.localStatus(leader)).commitIndex;
  t0 = performance.now();
  await c.startNode(wiped);
  const listening2 = performance.now() - t0;
  let caught2 = NaN;
  let failure2 = "";
  try {
    await waitApplied(c, wiped, target2, 600_000);
    caught2 = performance.now() - t0;
  } catch (e) {
    failure2 = (e as Error).message;
  }
  const snapBytes = await c.metric(leader, "raftq_snapshot_bytes");
  const installed = await c.metric(wiped, "raftq_snapshots_installed_total");
  rows.push(
    row({
      group: "scale",
      name: "wiped follower -> caught up (InstallSnapshot)",
      settings: `${wiped} killed, data dir deleted, restarted empty at ${filled} pending; time from spawn to applied >= leader commit (${target2})`,
      p50: caught2,
      errors: failure2 ? { "node exited": 1 } : {},
      extra: {
        listening_ms: Math.round(listening2),
        caught_up_ms: Math.round(caught2),
        snapshot_MB: snapBytes === null ? "-" : Math.round(snapBytes / 1e6),
        ...(failure2 ? { failure: failure2 } : {}),
        snapshots_installed: installed ?? "-",
      },
    }),
  );
  console.error(printRows(rows.slice(-1)));
  return rows;
}

if (isMain(import.meta.url)) await runStandalone(runScale);

// SubmitJob and SubmitJobs throughput and latency against a real 3-node cluster
// (loopback, RocksDB data dirs, sync on), driven by separate load-generator processes.
// Run: npx tsx bench/cluster-submit.ts [--quick]
// Settings: BENCH_SECONDS (measure window, default 10; quick 2), BENCH_INFLIGHT (1,16,64,256).
import { isMain, runStandalone } from "./lib/standalone.js";
import { BenchCluster, type ClusterActivity } from "./lib/cluster.js";
import { cpuMeter, DEFAULT_LOAD, LoadGens, merge } from "./lib/loadgens.js";
import type { LoadConfig } from "./lib/loadgen.js";
import { printRows, row, type Row } from "./lib/report.js";

export interface SubmitOptions {
  quick: boolean;
  seconds?: number;
  inFlight?: number[];
  batchInFlight?: number[];
}

/**
 * The cases every submit section measures (raftq, etcd, the do-nothing server), so their rows
 * line up: SubmitJob (or Put) calls in flight, and SubmitJobs x100 calls in flight.
 */
export function submitCases(quick: boolean): { inFlight: number[]; batchInFlight: number[] } {
  return quick
    ? { inFlight: [1, 16], batchInFlight: [4] }
    : { inFlight: [1, 16, 64, 256], batchInFlight: [1, 16, 64, 256] };
}

/**
 * How many client processes for a given number of calls in flight. SubmitJobs batches
 * (batch > 0) come from at most two: each call already carries many jobs.
 */
export function processesFor(inFlight: number, batch = 0): number {
  if (batch > 0) return Math.min(inFlight, 2);
  if (inFlight <= 1) return 1;
  if (inFlight <= 16) return 2;
  return 4;
}

/** What a window of submits is aimed at: the addresses to send to and the server processes to meter. */
export interface SubmitTarget {
  addresses: string[];
  /** Server processes by label (the leader marked `*`), for CPU use. */
  pids: Map<string, number | null>;
  /**
   * The servers' leader-change, stall, snapshot, fsync, round-trip and commit counters so far
   * (compared before and after): what happened in a window and where its time went
   * (activityExtra); absent: not counted.
   */
  activity?: () => Promise<ClusterActivity>;
  /** What the settings line says the calls went to. */
  describe: string;
  /** The calls: raftq's SubmitJob(s) (default) or etcd's KV.Put, with the settings line's name for them. */
  call?: { mode: "submit" | "etcd"; what: string };
}

export interface WindowOptions {
  group: string;
  name: string;
  inFlight: number;
  batch: number;
  seconds: number;
  warmupMs: number;
  processes?: number;
  tag: string;
}

/** One measured window: `inFlight` calls split over load-generator processes; returns a row. */
export async function measureLoad(t: SubmitTarget, o: WindowOptions): Promise<Row> {
  const procs = Math.min(o.processes ?? processesFor(o.inFlight, o.batch), o.inFlight);
  const configs: LoadConfig[] = Array.from({ length: procs }, (_, i) => ({
    ...DEFAULT_LOAD,
    mode: t.call?.mode ?? "submit",
    targets: t.addresses,
    inFlight: Math.floor(o.inFlight / procs) + (i < o.inFlight % procs ? 1 : 0),
    batch: o.batch,
    tag: `${o.tag}-${i}`,
  }));
  const g = await LoadGens.spawn(configs);
  const pids = new Map(t.pids);
  g.pids().forEach((p, i) => pids.set(`lg${i + 1}`, p));
  const activity0 = await t.activity?.();
  g.go(o.warmupMs, o.seconds * 1000);
  await new Promise((r) => setTimeout(r, o.warmupMs));
  const meter = cpuMeter(pids);
  const results = await g.collect();
  const m = merge(results);
  const activity1 = await t.activity?.();
  const cpu = { ...meter() };
  m.loadgenCpu.forEach((v, i) => (cpu[`lg${i + 1}`] = Math.round(v)));
  const what = t.call?.what ?? (o.batch === 0 ? "SubmitJob" : `SubmitJobs x${o.batch}`);
  return row({
    group: o.group,
    name: o.name,
    settings: `${what}, ${o.inFlight} in flight over ${procs} client process(es), 128-byte payloads, to ${t.describe}, ${o.seconds} s after ${o.warmupMs} ms warm-up`,
    rate: m.rate,
    p50: m.latency.p50,
    p99: m.latency.p99,
    max: m.latency.max,
    errors: m.errors,
    cpu,
    extra: {
      jobs: m.ok,
      calls: m.calls,
      ...(activity0 !== undefined && activity1 !== undefined && activityExtra(activity0, activity1)),
    },
  });
}

/**
 * A window's counters as row fields: leader changes and event-loop stalls, snapshots finished and their seconds (a slow window
 * may have serialized the whole queue), and the mean in ms of a synced write (all nodes),
 * of the leader's append round trip to a peer (out, the peer's write, ack back) and of a
 * proposal's commit on the leader (proposed to applied). Client p50 minus commit_ms is
 * what the gRPC hops and the handler cost. A mean with nothing counted is left out.
 */
export function activityExtra(a: ClusterActivity, b: ClusterActivity): Record<string, number> {
  const meanMs = (n: number, seconds: number): number => Number(((seconds / n) * 1000).toFixed(2));
  const out: Record<string, number> = {
    leader_changes: b.leaderChanges - a.leaderChanges,
    event_loop_stalls: b.eventLoopStalls - a.eventLoopStalls,
    snapshots: b.snapshots - a.snapshots,
    snapshot_seconds: Number((b.snapshotSeconds - a.snapshotSeconds).toFixed(2)),
  };
  const fsyncs = b.fsyncs - a.fsyncs;
  const roundTrips = b.roundTrips - a.roundTrips;
  const commits = b.commits - a.commits;
  if (fsyncs > 0) out.fsync_ms = meanMs(fsyncs, b.fsyncSeconds - a.fsyncSeconds);
  if (roundTrips > 0) out.round_trip_ms = meanMs(roundTrips, b.roundTripSeconds - a.roundTripSeconds);
  if (commits > 0) out.commit_ms = meanMs(commits, b.commitSeconds - a.commitSeconds);
  return out;
}

/** One measured window against a raftq cluster (to its leader, or to every node). */
export async function measureSubmit(
  c: BenchCluster,
  leader: string,
  o: WindowOptions & { target?: "leader" | "all" },
): Promise<Row> {
  return measureLoad(
    {
      addresses: o.target === "all" ? c.nodes.map((n) => n.address) : [c.node(leader).address],
      pids: new Map(c.nodes.map((n) => [n.id === leader ? `${n.id}*` : n.id, n.proc?.pid ?? null])),
      activity: () => c.activity(),
      describe: `${o.target === "all" ? "all nodes" : "the leader"}, 3 nodes, RocksDB sync on`,
    },
    o,
  );
}

export async function runSubmit(c: BenchCluster, o: SubmitOptions): Promise<Row[]> {
  const seconds = o.seconds ?? Number(process.env.BENCH_SECONDS ?? (o.quick ? 2 : 10));
  const warmupMs = o.quick ? 300 : 1500;
  const inFlight = o.inFlight ?? submitCases(o.quick).inFlight;
  const batchInFlight = o.batchInFlight ?? submitCases(o.quick).batchInFlight;
  const rows: Row[] = [];
  for (const n of inFlight) {
    const leader = await c.waitForLeader();
    rows.push(
      await measureSubmit(c, leader, {
        group: "submit",
        name: `SubmitJob ${n} in flight`,
        inFlight: n,
        batch: 0,
        seconds,
        warmupMs,
        tag: `s${n}`,
      }),
    );
    console.error(printRows(rows.slice(-1)));
  }
  for (const n of batchInFlight) {
    const leader = await c.waitForLeader();
    rows.push(
      await measureSubmit(c, leader, {
        group: "submit",
        name: `SubmitJobs x100, ${n} in flight`,
        inFlight: n,
        batch: 100,
        seconds,
        warmupMs,
        tag: `b${n}`,
      }),
    );
    console.error(printRows(rows.slice(-1)));
  }
  return rows;
}

if (isMain(import.meta.url)) await runStandalone(runSubmit);

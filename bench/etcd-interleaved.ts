// The two goals measured against etcd (latency at 1 call in flight, rate at 256 in flight),
// raftq next to etcd in alternating windows.
//
// Why: the submit and etcd sections measure each system once, minutes apart, and on this
// machine (a VM whose host is shared) a quiet minute and a busy one differ more than the two
// systems do: across full runs raftq's SubmitJob at 1 in flight gave p50 2.77-4.01 ms (1.99-2.3
// ms on a quiet machine), etcd's Put 1.87-2.71 ms; etcd's Put at 256 in flight 1,740-3,098/s.
// Here both clusters run side by side (warmed the same way as in their own sections), and
// short windows alternate raftq, etcd, etcd, raftq, ... so a slow minute hits both. The verdict
// is the median of each system's windows. Both clusters stay up the whole time: each idles (a
// few % of a core) while the other is measured. All 1-in-flight rounds come first: the jobs
// the 256-in-flight windows leave pending would otherwise be snapshotted in the later ones.
//
// Run: npx tsx bench/etcd-interleaved.ts [--quick]   (needs `etcd` on PATH)
// Settings: BENCH_INTERLEAVED_ROUNDS (4; quick 1), BENCH_INTERLEAVED_SECONDS (window, 6; quick 2),
// BENCH_INTERLEAVED_INFLIGHT (1,256; quick 1).
import { EtcdCluster, etcdVersionOrSkip, measureEtcd, warmEtcd } from "./compare-etcd.js";
import { measureSubmit } from "./cluster-submit.js";
import { warmCluster } from "./warm-up.js";
import { buildProduct, harnessWithoutSourceMaps } from "./lib/build.js";
import { BenchCluster } from "./lib/cluster.js";
import { machineLine } from "./lib/procstat.js";
import { printRows, row, type Row } from "./lib/report.js";
import { isMain } from "./lib/standalone.js";
import { median } from "./lib/stats.js";

export interface InterleavedOptions {
  quick: boolean;
  rounds?: number;
  seconds?: number;
  inFlight?: number[];
}

/** Each process's CPU (% of one core) averaged over the windows that metered it. */
function meanCpu(windows: Row[]): Record<string, number | null> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const w of windows)
    for (const [k, v] of Object.entries(w.cpu)) {
      if (v === null) continue;
      const s = sums.get(k) ?? { sum: 0, n: 0 };
      sums.set(k, { sum: s.sum + v, n: s.n + 1 });
    }
  return Object.fromEntries([...sums].map(([k, s]) => [k, Math.round(s.sum / s.n)]));
}

/** `{ [field]: sum }` over the windows that have the numeric field; `{}` when none has it. */
function sumOf(windows: Row[], field: string): Record<string, number> {
  const values = windows.map((w) => w.extra[field]).filter((v): v is number => typeof v === "number");
  return values.length === 0 ? {} : { [field]: values.reduce((a, b) => a + b, 0) };
}

/** What each system's windows add up to: a summary row (median rate, p50 and p99; worst max). */
function summary(
  system: string,
  inFlight: number,
  windows: Row[],
  o: { rounds: number; seconds: number; settings: string },
): Row {
  const p50s = windows.map((w) => w.p50 ?? Number.NaN);
  const p99s = windows.map((w) => w.p99 ?? Number.NaN);
  const rates = windows.map((w) => w.rate ?? 0);
  const errors: Record<string, number> = {};
  for (const w of windows) for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
  return row({
    group: "interleaved",
    name: `${system}, ${inFlight} in flight, interleaved`,
    settings: `${o.settings}; ${windows.length} windows of ${o.seconds} s in ${o.rounds} rounds alternating with the other system (ABBA); rate, p50 and p99 are the medians of the windows', CPU their mean (the leader may differ between windows)`,
    rate: median(rates),
    p50: median(p50s),
    p99: median(p99s),
    max: Math.max(...windows.map((w) => w.max ?? 0)),
    errors,
    cpu: meanCpu(windows),
    extra: {
      windows: windows.length,
      // raftq's windows count these from the nodes' metrics (etcd's do not): summed over the windows.
      ...sumOf(windows, "leader_changes"),
      ...sumOf(windows, "event_loop_stalls"),
      window_p50s_ms: p50s.map((x) => x.toFixed(2)).join(" / "),
      window_rates: rates.map((x) => Math.round(x)).join(" / "),
    },
  });
}

export async function runInterleaved(o: InterleavedOptions): Promise<Row[]> {
  const version = etcdVersionOrSkip("the interleaved comparison");
  if (version === null) return [];
  const rounds = o.rounds ?? Number(process.env.BENCH_INTERLEAVED_ROUNDS ?? (o.quick ? 1 : 4));
  const seconds = o.seconds ?? Number(process.env.BENCH_INTERLEAVED_SECONDS ?? (o.quick ? 2 : 6));
  const levels =
    o.inFlight ??
    (process.env.BENCH_INTERLEAVED_INFLIGHT ?? (o.quick ? "1" : "1,256")).split(",").map(Number);
  const warmupMs = o.quick ? 300 : 1000;
  const c = await BenchCluster.start({ entry: "built" });
  let e: EtcdCluster | null = null;
  try {
    await c.waitForLeader();
    await warmCluster(c, o.quick);
    e = await EtcdCluster.start();
    await warmEtcd(e, o.quick);
    const rows: Row[] = [];
    for (const n of levels) {
      const raftqWindows: Row[] = [];
      const etcdWindows: Row[] = [];
      const line = (system: string, r: Row): string =>
        `  ${system} ${n} in flight: ${Math.round(r.rate ?? 0)}/s, p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms`;
      const measureRaftq = async (tag: string): Promise<void> => {
        const leader = await c.waitForLeader();
        const r = await measureSubmit(c, leader, {
          group: "interleaved-window",
          name: `raftq SubmitJob ${n} in flight`,
          inFlight: n,
          batch: 0,
          seconds,
          warmupMs,
          tag,
        });
        raftqWindows.push(r);
        console.error(line("raftq", r));
      };
      const measureOther = async (tag: string): Promise<void> => {
        const r = await measureEtcd(e!, version, {
          inFlight: n,
          seconds,
          warmupMs,
          tag,
          group: "interleaved-window",
        });
        etcdWindows.push(r);
        console.error(line("etcd ", r));
      };
      for (let round = 1; round <= rounds; round++) {
        const order = round % 2 === 1 ? [measureRaftq, measureOther] : [measureOther, measureRaftq];
        for (const m of order) await m(`il${n}-${round}`);
      }
      const settings = (what: string): string =>
        `${what}, ${n} in flight, 128-byte payloads, to the leader, 3 members, fsync on`;
      const pair = [
        summary("raftq SubmitJob", n, raftqWindows, {
          rounds,
          seconds,
          settings: settings("SubmitJob, RocksDB sync on"),
        }),
        summary(`etcd ${version} Put`, n, etcdWindows, { rounds, seconds, settings: settings("KV.Put") }),
      ];
      pair[0]!.extra.p50_vs_etcd = Number((pair[0]!.p50! / pair[1]!.p50!).toFixed(2));
      pair[0]!.extra.rate_vs_etcd = Number((pair[0]!.rate! / pair[1]!.rate!).toFixed(2));
      rows.push(...pair);
    }
    return rows;
  } finally {
    await e?.stop();
    await c.stop();
  }
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes("--quick");
  console.log(machineLine());
  harnessWithoutSourceMaps();
  buildProduct();
  console.log(printRows(await runInterleaved({ quick })));
}

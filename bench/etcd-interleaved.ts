// Latency at 1 call in flight, raftq next to etcd, in alternating windows.
//
// Why: the submit and etcd sections measure each system once, minutes apart, and on this
// machine (a VM whose host is shared) a quiet minute and a busy one differ more than the two
// systems do: raftq's SubmitJob at 1 in flight gave p50 2.77-4.01 ms in full runs and 1.99-2.3 ms
// on a quiet machine, etcd's Put 1.87-2.71 ms. Here both clusters run side by side (warmed
// the same way as in their own sections), and short windows alternate raftq, etcd, etcd, raftq,
// ... so a slow minute hits both. The verdict is the median of each system's window p50s.
// Both clusters stay up the whole time: each idles (a few % of a core) while the other is
// measured.
//
// Run: npx tsx bench/latency-interleaved.ts [--quick]   (needs `etcd` on PATH)
// Settings: BENCH_LATENCY_ROUNDS (4; quick 1), BENCH_LATENCY_SECONDS (window, 6; quick 2).
import { EtcdCluster, etcdAvailable, measureEtcd, warmEtcd } from "./compare-etcd.js";
import { measureSubmit } from "./cluster-submit.js";
import { warmCluster } from "./warm-up.js";
import { buildProduct, harnessWithoutSourceMaps } from "./lib/build.js";
import { BenchCluster } from "./lib/cluster.js";
import { machineLine } from "./lib/procstat.js";
import { printRows, row, type Row } from "./lib/report.js";
import { isMain } from "./lib/standalone.js";
import { median } from "./lib/stats.js";

export interface LatencyOptions {
  quick: boolean;
  rounds?: number;
  seconds?: number;
}

/** What each system's windows add up to: a summary row (median p50 and p99, mean rate, worst max). */
function summary(
  system: string,
  windows: Row[],
  o: { rounds: number; seconds: number; settings: string },
): Row {
  const p50s = windows.map((w) => w.p50 ?? Number.NaN);
  const p99s = windows.map((w) => w.p99 ?? Number.NaN);
  const rates = windows.map((w) => w.rate ?? 0);
  const errors: Record<string, number> = {};
  for (const w of windows) for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
  return row({
    group: "latency",
    name: `${system}, 1 in flight, interleaved`,
    settings: `${o.settings}; ${windows.length} windows of ${o.seconds} s in ${o.rounds} rounds alternating with the other system (ABBA); p50 and p99 are the medians of the windows'`,
    rate: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
    p50: median(p50s),
    p99: median(p99s),
    max: Math.max(...windows.map((w) => w.max ?? 0)),
    errors,
    cpu: windows.at(-1)?.cpu ?? {},
    extra: {
      windows: windows.length,
      window_p50s_ms: p50s.map((x) => x.toFixed(2)).join(" / "),
      window_rates: rates.map((x) => Math.round(x)).join(" / "),
    },
  });
}

export async function runLatencyInterleaved(o: LatencyOptions): Promise<Row[]> {
  const version = etcdAvailable();
  if (version === null) {
    console.error(
      "etcd is not installed (apt-get install etcd-server): skipping the interleaved latency comparison",
    );
    return [];
  }
  const rounds = o.rounds ?? Number(process.env.BENCH_LATENCY_ROUNDS ?? (o.quick ? 1 : 4));
  const seconds = o.seconds ?? Number(process.env.BENCH_LATENCY_SECONDS ?? (o.quick ? 2 : 6));
  const warmupMs = o.quick ? 300 : 1000;
  const c = await BenchCluster.start({ entry: "built" });
  let e: EtcdCluster | null = null;
  try {
    await c.waitForLeader();
    await warmCluster(c, o.quick);
    e = await EtcdCluster.start();
    await warmEtcd(e, o.quick);
    const raftqWindows: Row[] = [];
    const etcdWindows: Row[] = [];
    const measureRaftq = async (tag: string): Promise<void> => {
      const leader = await c.waitForLeader();
      const r = await measureSubmit(c, leader, {
        group: "latency-window",
        name: "raftq SubmitJob 1 in flight",
        inFlight: 1,
        batch: 0,
        seconds,
        warmupMs,
        tag,
      });
      raftqWindows.push(r);
      console.error(
        `  raftq window: ${Math.round(r.rate ?? 0)}/s, p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms`,
      );
    };
    const measureOther = async (tag: string): Promise<void> => {
      const r = await measureEtcd(e!, version, {
        inFlight: 1,
        seconds,
        warmupMs,
        tag,
        group: "latency-window",
      });
      etcdWindows.push(r);
      console.error(
        `  etcd window:  ${Math.round(r.rate ?? 0)}/s, p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms`,
      );
    };
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [measureRaftq, measureOther] : [measureOther, measureRaftq];
      for (const m of order) await m(`lat${round}`);
    }
    const settings = (what: string): string =>
      `${what}, 128-byte payloads, to the leader, 3 members, fsync on`;
    const rows = [
      summary("raftq SubmitJob", raftqWindows, {
        rounds,
        seconds,
        settings: settings("SubmitJob, RocksDB sync on"),
      }),
      summary(`etcd ${version} Put`, etcdWindows, { rounds, seconds, settings: settings("KV.Put") }),
    ];
    const [r, x] = rows.map((w) => w.p50!);
    rows[0]!.extra.p50_vs_etcd = Number((r! / x!).toFixed(2));
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
  console.log(printRows(await runLatencyInterleaved({ quick })));
}

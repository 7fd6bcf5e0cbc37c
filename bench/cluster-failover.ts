// Failover: kill -9 of the leader N times (20; quick 3) under light load; time from the kill
// to the first acknowledged SubmitJob issued after it. Prints min, median, p99, max.
// Run: npx tsx bench/cluster-failover.ts [--quick]   Settings: BENCH_KILLS.
import { isMain, runStandalone } from "./lib/standalone.js";
import { BenchCluster, sleep } from "./lib/cluster.js";
import { measureFailover, type FailoverTarget } from "./lib/failover.js";
import { DEFAULT_LOAD, LoadGens, merge } from "./lib/loadgens.js";
import { row, type Row } from "./lib/report.js";

export function raftqFailoverTarget(c: BenchCluster): FailoverTarget {
  return {
    ids: c.nodes.map((n) => n.id),
    leader: (exclude = []) => c.waitForLeader(20_000, exclude),
    kill: (id) => c.kill(id),
    restart: async (id) => {
      await c.startNode(id);
      await c.waitReady(id, 60_000);
      // All three agree on the leader again before the next kill.
      await c.waitForLeader(20_000);
    },
    write: async (id, seq, deadlineMs) => {
      await c.call(
        id,
        "JobService",
        "SubmitJob",
        {
          job: { queue: "failover", type: "probe", payload: Buffer.alloc(128, 1), idempotencyKey: `p${seq}` },
        },
        deadlineMs,
      );
    },
  };
}

export async function runFailover(c: BenchCluster, o: { quick: boolean; kills?: number }): Promise<Row[]> {
  const kills = o.kills ?? Number(process.env.BENCH_KILLS ?? (o.quick ? 3 : 20));
  await c.waitForLeader();
  // Light background load: 2 SubmitJob calls in flight spread over all nodes.
  const g = await LoadGens.spawn([
    {
      ...DEFAULT_LOAD,
      mode: "submit",
      targets: c.nodes.map((n) => n.address),
      inFlight: 2,
      deadlineMs: 1000,
      queue: "failover-bg",
      tag: "fbg",
    },
  ]);
  g.go(0, 0);
  await sleep(500);
  const res = await measureFailover(raftqFailoverTarget(c), kills, (s) => console.error(s));
  g.stop();
  const bg = merge(await g.collect());
  const s = res.summary;
  return [
    row({
      group: "failover",
      name: `kill -9 leader x${kills}: kill -> first acked SubmitJob`,
      settings: `3 nodes, RocksDB sync on, election timeout 150-300 ms, heartbeat 50 ms (defaults); light load: 1 process, 2 SubmitJob in flight over all nodes (${Math.round(bg.rate)}/s); probes: a SubmitJob to each survivor every 5 ms (2 s deadline, at most 500 outstanding each)`,
      rate: null,
      p50: s.p50,
      p99: s.p99,
      max: s.max,
      errors: {},
      cpu: { lg1: Math.round(bg.loadgenCpu[0] ?? 0) }, // node pids change with every kill
      extra: {
        min: Math.round(Math.min(...res.samples)),
        median: Math.round(s.p50),
        samples: res.samples.map((x) => Math.round(x)).join(","),
      },
    }),
  ];
}

if (isMain(import.meta.url)) await runStandalone(runFailover);

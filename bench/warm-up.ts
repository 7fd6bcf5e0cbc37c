/**
 * Load on a freshly started server before its first measured window, measured nowhere.
 *
 * Why: V8 compiles a Node server's hot paths (ours, grpc-js, HTTP/2) while it serves its
 * first requests, on background threads that share the machine's two cores with everything
 * else. `perf record -g` on a leader in the SubmitJob 1-in-flight window right after start
 * (the benchmark started a fresh cluster for every case): the optimizing compiler's threads
 * took 12-19% of the leader's CPU, still compiling 10 s into the load, and the window gave
 * 125/s, p50 7.18 ms; after 15 s of load first, 3.8% and 209/s, p50 3.97 ms. A server in
 * production is warm; etcd (Go, compiled ahead of time) has no such phase. So every cluster
 * and the do-nothing server get BENCH_WARM_SECONDS of SubmitJob at 16 in flight (the
 * do-nothing server then 3 s of SubmitJobs x100 too); a cluster also runs 10,000 jobs through
 * workers (own queue, all completed), so the assignment and completion paths are warm too.
 * The SubmitJobs stay pending in the benchmark's queue (~8-20k jobs): the measured windows
 * start from that backlog.
 */
import type { BenchCluster } from "./lib/cluster.js";
import { runE2e } from "./cluster-e2e.js";
import { measureLoad, measureSubmit, type SubmitTarget } from "./cluster-submit.js";

/** Seconds of SubmitJob load before measuring (BENCH_WARM_SECONDS; 10, quick 1; 0 = no warm-up). */
export function warmSeconds(quick: boolean): number {
  return Number(process.env.BENCH_WARM_SECONDS ?? (quick ? 1 : 10));
}

/** Warms whatever `t` points at with submits; the rows are dropped. */
export async function warmTarget(t: SubmitTarget, quick: boolean): Promise<void> {
  const seconds = warmSeconds(quick);
  if (seconds <= 0) return;
  const common = { group: "warm-up", warmupMs: 0, tag: "warm" };
  await measureLoad(t, { ...common, name: "SubmitJob", inFlight: 16, batch: 0, seconds });
  await measureLoad(t, { ...common, name: "SubmitJobs", inFlight: 4, batch: 100, seconds: quick ? 1 : 3 });
}

/**
 * Warms a fresh cluster: SubmitJobs to its leader, then (full runs) jobs through workers. No
 * SubmitJobs x100 phase here: its ~60k pending jobs made the measured windows slower than
 * no warm-up at all (the full run of 13:44: SubmitJob 64 in flight 1,172/s); without it,
 * alternating fresh clusters, 1,798-1,857/s warm against 1,140/s cold, and at 1 in flight
 * 207-228/s, p50 3.87-4.27 ms against 146/s, p50 6.08 ms.
 */
export async function warmCluster(c: BenchCluster, quick: boolean): Promise<void> {
  const seconds = warmSeconds(quick);
  if (seconds <= 0) return;
  const started = Date.now();
  const leader = await c.waitForLeader();
  await measureSubmit(c, leader, {
    group: "warm-up",
    name: "SubmitJob",
    inFlight: 16,
    batch: 0,
    seconds,
    warmupMs: 0,
    tag: "warm",
  });
  // Quick runs skip this part: they only check that every path works, and CI time counts.
  if (!quick) await runE2e(c, { quick, jobs: 10_000, batch: 100, submitInFlight: 4, quiet: true });
  console.error(`(cluster warmed for ${((Date.now() - started) / 1000).toFixed(1)} s, not measured)`);
}

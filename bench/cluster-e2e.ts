// End to end: N jobs submitted, run by workers with no-op handlers, completed.
// Prints jobs/s (first submit to last completion) and submit-to-completed latency.
// Run: npx tsx bench/cluster-e2e.ts [--quick]
// Settings: BENCH_E2E_JOBS (50,000; quick 3,000), BENCH_EVENTS_PER_MESSAGE (1000; 1 = one assignment
// per stream message). Standalone runs start a cold cluster (no warm-up, unlike `npm run bench`).
import { isMain, runStandalone } from "./lib/standalone.js";
import { BenchCluster, sleep } from "./lib/cluster.js";
import { cpuMeter, DEFAULT_LOAD, LoadGens, merge } from "./lib/loadgens.js";
import type { LoadConfig } from "./lib/loadgen.js";
import { printRows, row, type Row } from "./lib/report.js";

export interface E2eOptions {
  quick: boolean;
  jobs?: number;
  /** SubmitJobs batch size (0 = SubmitJob one by one) */
  batch?: number;
  submitInFlight?: number;
  workerProcesses?: number;
  /** Where workers send registrations, heartbeats and outcomes: the leader (as the SDK does, default) or their stream's node. */
  workersReportTo?: "leader" | "stream-node";
  /** Print no rows as they are measured (a warm-up's). */
  quiet?: boolean;
}

async function completed(c: BenchCluster, leader: string, queue: string): Promise<number> {
  const st = await c.call<{ queues: { queue: string; completed: number }[] }>(
    leader,
    "ClusterService",
    "GetClusterStatus",
    {},
    2000,
  );
  return st.queues.find((q) => q.queue === queue)?.completed ?? 0;
}

export async function runE2e(c: BenchCluster, o: E2eOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const jobs = o.jobs ?? Number(process.env.BENCH_E2E_JOBS ?? (o.quick ? 3000 : 50_000));
  const variants: { batch: number; inFlight: number }[] =
    o.batch !== undefined
      ? [{ batch: o.batch, inFlight: o.submitInFlight ?? 4 }]
      : [
          // 16 in flight: at 4, SubmitJobs x100 (~50 ms each under this load) cap the submit
          // rate near 8,000 jobs/s before the cluster is busy; 4 stays for comparison with
          // earlier runs.
          { batch: 100, inFlight: 16 },
          { batch: 100, inFlight: 4 },
          { batch: 0, inFlight: 64 },
        ];
  for (const [vi, v] of variants.entries()) {
    const leader = await c.waitForLeader();
    const queue = `e2e-${vi}-${Date.now()}`;
    const workerProcs = o.workerProcesses ?? 2;
    const followers = c.nodes.filter((n) => n.id !== leader);
    // Workers: one process per follower (their streams come from the follower they talk to).
    const workerCfgs: LoadConfig[] = Array.from({ length: workerProcs }, (_, i) => ({
      ...DEFAULT_LOAD,
      mode: "worker",
      targets: [(followers[i % followers.length] ?? c.node(leader)).address],
      queue,
      workers: 2,
      reportTarget: (o.workersReportTo ?? "leader") === "leader" ? c.node(leader).address : "",
      concurrency: 500,
      tag: `${queue}-wp${i}`,
    }));
    const wg = await LoadGens.spawn(workerCfgs);
    wg.go(0, 0);
    await sleep(1000); // registrations commit, streams open
    const subProcs = v.batch > 0 ? 1 : 4;
    const perCall = Math.max(1, v.batch);
    const calls = Math.ceil(jobs / perCall);
    const subCfgs: LoadConfig[] = Array.from({ length: subProcs }, (_, i) => ({
      ...DEFAULT_LOAD,
      mode: "submit",
      targets: [c.node(leader).address],
      queue,
      batch: v.batch,
      inFlight: Math.max(1, Math.floor(v.inFlight / subProcs)),
      total: Math.ceil(calls / subProcs) * perCall,
      tag: `${queue}-s${i}`,
    }));
    const sg = await LoadGens.spawn(subCfgs);
    const pids = new Map<string, number | null>(
      c.nodes.map((n) => [n.id === leader ? `${n.id}*` : n.id, n.proc?.pid ?? null]),
    );
    const meter = cpuMeter(pids);
    const activity0 = await c.activity();
    const t0 = Date.now();
    sg.go(0, 0);
    const sub = merge(await sg.collect());
    const target = sub.ok;
    let done = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      done = await completed(c, leader, queue).catch(() => done);
      if (done >= target) break;
      await sleep(50);
    }
    wg.stop();
    const work = merge(await wg.collect());
    const cpu = { ...meter() };
    const activity1 = await c.activity();
    sub.loadgenCpu.forEach((x, i) => (cpu[`submitter${i + 1}`] = Math.round(x)));
    work.loadgenCpu.forEach((x, i) => (cpu[`workers${i + 1}`] = Math.round(x)));
    const endMs = Math.max(t0 + 1, work.lastAtMs);
    const seconds = (endMs - t0) / 1000;
    rows.push(
      row({
        group: "e2e",
        name: `${v.batch > 0 ? `SubmitJobs x${v.batch}` : "SubmitJob"} (${v.inFlight} in flight) -> workers -> completed`,
        settings: `${target} jobs, 128-byte payloads, submitted by ${subProcs} process(es) with ${v.inFlight} calls in flight (${v.batch > 0 ? `SubmitJobs x${v.batch}` : "SubmitJob"}) to the leader; ${workerProcs} worker processes x 2 workers (concurrency 500 each) streaming from the followers, no-op handler, assignments up to ${DEFAULT_LOAD.eventsPerMessage} per stream message (max_events_per_message, as the SDK's Worker asks), registrations, heartbeats and completions (BatchUpdateJobStatus, up to 500 per call) to ${(o.workersReportTo ?? "leader") === "leader" ? "the leader, as the SDK's Worker sends them" : "the node of their stream (forwarded to the leader)"}; rate = jobs / (first submit .. last completion)`,
        rate: target / seconds,
        p50: work.latency.p50,
        p99: work.latency.p99,
        max: work.latency.max,
        errors: { ...sub.errors, ...work.errors },
        cpu,
        extra: {
          submitted: target,
          completed: done,
          completedByWorkers: work.ok,
          submitRate: Math.round(sub.rate),
          leader_changes: activity1.leaderChanges - activity0.leaderChanges,
          event_loop_stalls: activity1.eventLoopStalls - activity0.eventLoopStalls,
          seconds,
        },
      }),
    );
    if (o.quiet !== true) console.error(printRows(rows.slice(-1)));
  }
  return rows;
}

if (isMain(import.meta.url)) await runStandalone(runE2e);

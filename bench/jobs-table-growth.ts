// The longest single apply while the job table grows: SubmitJobBatch entries of 100 jobs
// applied one by one into a fresh state until BENCH_JOBS (2,000,000) jobs are pending.
// Run: npx tsx bench/jobs-table-growth.ts   (node --trace-gc --import tsx ... to see the GC pauses)
// The longest apply is what a node's event loop is held for at once while the queue grows
// (every node applies the same entries at about the same moment). With one Map for the
// jobs, its rehash when it doubled was part of it (src/jobs/job-table.ts); what is left is
// V8's mark-compact of a heap of a few hundred MB.
import { performance } from "node:perf_hooks";
import { JobQueueState, makeLimits, type JobCommand } from "../src/jobs/index.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 2_000_000);
const BATCH = 100;
const ROUNDS = 2;
const limits = makeLimits({ maxJobs: JOBS + BATCH });
const payload = new Uint8Array(100);

console.log(
  `job table growth to ${JOBS} pending jobs, SubmitJobBatch x${BATCH} per apply, node ${process.version}`,
);
for (let round = 1; round <= ROUNDS; round++) {
  const state = new JobQueueState(limits);
  const jobs = Array.from({ length: BATCH }, () => ({ queue: "q", type: "t", payload }));
  const applyMs: number[] = [];
  for (let index = 1; index <= JOBS / BATCH; index++) {
    const cmd: JobCommand = { kind: "SubmitJobBatch", nowMs: 1_700_000_000_000, jobs };
    const t0 = performance.now();
    state.apply(index, cmd);
    applyMs.push(performance.now() - t0);
  }
  const total = applyMs.reduce((a, b) => a + b, 0);
  const sorted = [...applyMs].sort((a, b) => a - b);
  const over = (ms: number): number => applyMs.filter((d) => d > ms).length;
  console.log(
    `round ${round}: ${state.stats().jobs} jobs in ${total.toFixed(0)} ms (${Math.round((JOBS / total) * 1000).toLocaleString("en-US")} jobs/s), ` +
      `apply p99 ${sorted[Math.floor(sorted.length * 0.99)]!.toFixed(2)} ms, longest ${sorted.at(-1)!.toFixed(1)} ms, ` +
      `over 20 ms: ${over(20)}, over 50 ms: ${over(50)}`,
  );
}

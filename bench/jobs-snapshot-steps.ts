// How long one step of a node's snapshot holds the event loop: serializeSteps over a state of
// finished jobs (each keeps its worker and result, the costliest to copy) and one of pending
// jobs, with the node's step size (SNAPSHOT_STEP_BYTES), three snapshots in a row with one
// warm scratch as a node keeps. The replica runs steps in 4 ms slices and yields between
// slices, so the longest step is the longest stall a snapshot can cause on an idle machine.
// Run: npx tsx bench/jobs-snapshot-steps.ts   (BENCH_JOBS=100000)
import {
  JobQueueState,
  makeLimits,
  serializeSteps,
  SnapshotScratch,
  type JobStatusUpdate,
} from "../src/jobs/index.js";
import { SNAPSHOT_STEP_BYTES } from "../src/node/job-machine.js";
import { registerWorkers } from "./lib/job-workers.js";
import { ms, table } from "./lib/stats.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const NOW_MS = 1_700_000_000_000;
const WORKERS = 100;

function stateOf(finished: boolean): JobQueueState {
  const state = new JobQueueState(makeLimits({ maxJobs: JOBS + 10 }));
  let index = registerWorkers(state, { count: WORKERS, queues: ["q"], concurrency: 100, nowMs: NOW_MS });
  const payload = new Uint8Array(128).fill(7);
  for (let b = 0; b < JOBS / 1000; b++) {
    const jobs = Array.from({ length: 1000 }, () => ({ queue: "q", type: "noop", payload }));
    state.apply(++index, { kind: "SubmitJobBatch", nowMs: NOW_MS, jobs });
  }
  if (!finished) return state;
  const result = new Uint8Array(16).fill(1);
  for (let first = 1; first <= JOBS; first += 5000) {
    const assignments = Array.from({ length: Math.min(5000, JOBS - first + 1) }, (_, i) => ({
      jobId: String(first + i),
      workerId: `worker-${i % WORKERS}`,
    }));
    const assigned = state.apply(++index, { kind: "AssignJobs", nowMs: NOW_MS, assignments });
    const updates: JobStatusUpdate[] = [];
    for (const e of assigned.events) {
      if (e.type === "assigned") {
        updates.push({ jobId: e.jobId, workerId: e.workerId, token: e.token, outcome: "completed", result });
      }
    }
    state.apply(++index, { kind: "BatchUpdateJobStatus", nowMs: NOW_MS, jitterSeed: 0, updates });
  }
  return state;
}

const rows: string[][] = [];
for (const finished of [true, false]) {
  const state = stateOf(finished);
  const scratch = new SnapshotScratch();
  const label = `${JSON.stringify(state.stats().byState)}`;
  for (let round = 1; round <= 3; round++) {
    const steps = serializeSteps(state, { scratch, stepBytes: SNAPSHOT_STEP_BYTES });
    const copying: number[] = [];
    const writing: number[] = [];
    const t0 = performance.now();
    let bytes = 0;
    for (;;) {
      const s = performance.now();
      const r = steps.next();
      const took = performance.now() - s;
      if (r.done) {
        writing.push(took);
        bytes = r.value.byteLength;
        break;
      }
      (r.value === "copying" ? copying : writing).push(took);
    }
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    rows.push([
      finished ? "finished" : "pending",
      String(round),
      ms(performance.now() - t0),
      `${copying.length} / ${ms(sum(copying))} / ${ms(Math.max(...copying))}`,
      `${writing.length} / ${ms(sum(writing))} / ${ms(Math.max(...writing))}`,
      (bytes / 1e6).toFixed(1),
    ]);
  }
  console.log(`${finished ? "finished" : "pending"} state: ${label}`);
}
console.log(`${JOBS} jobs, steps of ${SNAPSHOT_STEP_BYTES} bytes (copying: freezeSteps' own step size)`);
console.log(
  table(["jobs", "snapshot", "total", "copying steps / sum / max", "writing steps / sum / max", "MB"], rows),
);

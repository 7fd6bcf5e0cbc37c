// Snapshot of a large job state: serialize (in chunks, yielding to the event loop between them;
// then as the node does, in steps into shared memory), restore times, size, longest pauses.
// Run: node --expose-gc --import tsx bench/jobs-snapshot.ts   (or npx tsx bench/jobs-snapshot.ts)
// Settings: BENCH_JOBS (1,000,000), BENCH_CHUNK_BYTES (1 MiB).
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import {
  JobQueueState,
  makeLimits,
  restore,
  serializeChunks,
  serializeSteps,
  SnapshotScratch,
  type JobStatusUpdate,
} from "../src/jobs/index.js";
import { concat } from "../src/jobs/snapshot.js";
import { registerWorkers } from "./lib/job-workers.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 1_000_000);
const CHUNK_BYTES = Number(process.env.BENCH_CHUNK_BYTES ?? 1024 * 1024);
const NOW_MS = 1_700_000_000_000;

// A realistic mix: 90% pending, some delayed, running on 100 workers, completed with results, failed.
const state = new JobQueueState(makeLimits({ maxJobs: JOBS + 10 }));
let index = registerWorkers(state, {
  count: 100,
  queues: ["emails", "reports"],
  concurrency: 100,
  nowMs: NOW_MS,
});
const payload = new Uint8Array(100).fill(7);
const BATCH = 10_000;
for (let b = 0; b < JOBS / BATCH; b++) {
  state.apply(++index, {
    kind: "SubmitJobBatch",
    nowMs: NOW_MS,
    jobs: Array.from({ length: BATCH }, (_, i) => ({
      queue: i % 2 ? "emails" : "reports",
      type: "send",
      payload,
      priority: i % 3,
      ...(i % 20 === 0 ? { runAtMs: NOW_MS + 3_600_000 } : {}),
      ...(i % 10 === 0 ? { idempotencyKey: `key-${b}-${i}` } : {}),
    })),
  });
}
for (let round = 0; round < 20; round++) {
  const assignments = Array.from({ length: 1000 }, (_, i) => ({
    jobId: String(2 + round * 1000 + i),
    workerId: `worker-${i % 100}`,
  }));
  const assigned = state.apply(++index, { kind: "AssignJobs", nowMs: NOW_MS, assignments });
  if (round >= 10) continue; // leave 10,000 running
  const updates: JobStatusUpdate[] = [];
  for (const e of assigned.events) {
    if (e.type !== "assigned") continue;
    updates.push(
      round % 2
        ? { jobId: e.jobId, workerId: e.workerId, token: e.token, outcome: "completed", result: payload }
        : {
            jobId: e.jobId,
            workerId: e.workerId,
            token: e.token,
            outcome: "failed",
            error: "boom",
            retryable: false,
          },
    );
  }
  state.apply(++index, { kind: "BatchUpdateJobStatus", nowMs: NOW_MS, jitterSeed: 0, updates });
}
console.log(`job state snapshot, node ${process.version}`);
console.log("state:", JSON.stringify(state.stats().byState));
(globalThis as { gc?: () => void }).gc?.();

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const chunks: Uint8Array[] = [];
const chunkWallMs: number[] = [];
const chunkCpuMs: number[] = [];
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const generator = serializeChunks(state, CHUNK_BYTES);
for (;;) {
  const c0 = performance.now();
  const u0 = process.cpuUsage();
  const next = generator.next();
  chunkWallMs.push(performance.now() - c0);
  const u = process.cpuUsage(u0);
  chunkCpuMs.push((u.user + u.system) / 1000);
  if (next.done) break;
  chunks.push(next.value);
  await yieldToLoop();
}
const serializeMs = performance.now() - t0;
const serializeCpu = process.cpuUsage(cpu0);
delay.disable();
const bytes = concat(chunks);
const quantiles = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `median ${at(0.5)} / p99 ${at(0.99)} / max ${at(1)} ms`;
};
console.log(
  `serializeChunks: ${serializeMs.toFixed(0)} ms wall (${((serializeCpu.user + serializeCpu.system) / 1000).toFixed(0)} ms cpu), ` +
    `${chunks.length} chunks of ${CHUNK_BYTES} bytes, ${(bytes.length / 1e6).toFixed(1)} MB (${(bytes.length / JOBS).toFixed(0)} bytes/job)`,
);
console.log(`  pause per chunk (wall): ${quantiles(chunkWallMs)}; cpu: ${quantiles(chunkCpuMs)}`);
console.log(
  `  event-loop delay while serializing: max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms (includes GC and other processes)`,
);

// The node's path: serializeSteps into one SharedArrayBuffer with a scratch kept warm across
// snapshots (SnapshotScheduler + JobMachine). Apply waits only for the "copying" steps.
const scratch = new SnapshotScratch();
for (const round of ["first (cold scratch)", "second (warm scratch)"]) {
  (globalThis as { gc?: () => void }).gc?.();
  const stepMs = { copying: [] as number[], writing: [] as number[] };
  const s0 = performance.now();
  const steps = serializeSteps(state, {
    allocate: (n) => new Uint8Array(new SharedArrayBuffer(n)),
    scratch,
  });
  let out: Uint8Array | undefined;
  while (out === undefined) {
    const c0 = performance.now();
    const r = steps.next();
    if (r.done) out = r.value;
    else stepMs[r.value].push(performance.now() - c0);
  }
  const total = performance.now() - s0;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0).toFixed(0);
  console.log(
    `serializeSteps, ${round}: ${total.toFixed(0)} ms, ${(out.length / 1e6).toFixed(1)} MB; ` +
      `copying ${sum(stepMs.copying)} ms in ${stepMs.copying.length + 1} steps (apply waits), ` +
      `writing ${sum(stepMs.writing)} ms in ${stepMs.writing.length} steps; longest step ${Math.max(
        ...stepMs.copying,
        ...stepMs.writing,
      ).toFixed(1)} ms; same bytes: ${Buffer.from(out).equals(Buffer.from(bytes))}`,
  );
}

for (const verify of [false, true]) {
  (globalThis as { gc?: () => void }).gc?.();
  const r0 = performance.now();
  const u0 = process.cpuUsage();
  const copy = restore(bytes, { verify });
  const restoreMs = performance.now() - r0;
  const u = process.cpuUsage(u0);
  console.log(
    `restore (${verify ? "with" : "without"} full invariant check): ${restoreMs.toFixed(0)} ms wall ` +
      `(${((u.user + u.system) / 1000).toFixed(0)} ms cpu) in one call, which is its pause; ${copy.stats().jobs} jobs`,
  );
}
const h0 = performance.now();
state.stateHash();
console.log(`stateHash: ${(performance.now() - h0).toFixed(0)} ms`);

// Memory held by the job state: heap plus external (ArrayBuffer) bytes for N pending jobs.
// Run: node --expose-gc --import tsx bench/jobs-memory.ts
// Settings: BENCH_PENDING (1,000,000), BENCH_PAYLOAD_BYTES (100).
import { JobQueueState, makeLimits } from "../src/jobs/index.js";

const PENDING = Number(process.env.BENCH_PENDING ?? 1_000_000);
const PAYLOAD_BYTES = Number(process.env.BENCH_PAYLOAD_BYTES ?? 100);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc --import tsx bench/jobs-memory.ts");

function used(): { heap: number; external: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  // arrayBuffers is part of external.
  return { heap: m.heapUsed, external: m.external };
}

const before = used();
const state = new JobQueueState(makeLimits({ maxJobs: PENDING + 10 }));
const BATCH = 10_000;
let index = 0;
for (let b = 0; b < PENDING / BATCH; b++) {
  state.apply(++index, {
    kind: "SubmitJobBatch",
    nowMs: 1_700_000_000_000 + b,
    jobs: Array.from({ length: BATCH }, (_, i) => ({
      queue: `queue-${i % 10}`,
      type: "send-email",
      payload: new Uint8Array(PAYLOAD_BYTES).fill(i & 255),
    })),
  });
}
const after = used();
const heapMb = (after.heap - before.heap) / 1e6;
const externalMb = (after.external - before.external) / 1e6;
const total = heapMb + externalMb;
console.log(`job state memory, node ${process.version}`);
console.log(
  `${state.stats().jobs} pending jobs, ${PAYLOAD_BYTES}-byte payloads, 10 queues: heap ${heapMb.toFixed(0)} MB + external ${externalMb.toFixed(0)} MB = ${total.toFixed(0)} MB (${((total * 1e6) / PENDING).toFixed(0)} bytes/job)`,
);

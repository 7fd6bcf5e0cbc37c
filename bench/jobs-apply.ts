// Apply throughput of the job state machine on one core, and the command codec.
// Run: node --expose-gc --import tsx bench/jobs-apply.ts   (or npx tsx bench/jobs-apply.ts)
// BENCH_JOBS=500000 by default. Each case starts from a fresh state after a full GC (when exposed).
// Payloads are views into one buffer, as when decoded from a log entry (no ArrayBuffer per command).
import { performance } from "node:perf_hooks";
import {
  decodeCommand,
  encodeCommand,
  JobQueueState,
  makeLimits,
  type ApplyResult,
  type JobCommand,
  type JobStatusUpdate,
} from "../src/jobs/index.js";
import { registerWorkers } from "./lib/job-workers.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 500_000);
const PAYLOAD_BYTES = 100;
const NOW_MS = 1_700_000_000_000;
const limits = makeLimits({ maxJobs: 2 * JOBS + 10 });

/** Starts a measurement; the returned function prints rates per wall second and per CPU second. */
function start(): (name: string, count: number, extra?: string) => void {
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  return (name, count, extra = "") => {
    const wallMs = performance.now() - wall0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const rate = (ms: number) =>
      Math.round((count / ms) * 1000)
        .toLocaleString("en-US")
        .padStart(11);
    console.log(
      `${name.padEnd(48)} ${rate(wallMs)} /s wall ${rate(cpuMs)} /s cpu  (${count} in ${wallMs.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms cpu)${extra}`,
    );
  };
}

const payloads = new Uint8Array(PAYLOAD_BYTES * 1024).map((_, i) => i & 255);
const payloadOf = (i: number): Uint8Array =>
  payloads.subarray((i % 1024) * PAYLOAD_BYTES, ((i % 1024) + 1) * PAYLOAD_BYTES);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function submitCommand(i: number): JobCommand {
  return {
    kind: "SubmitJob",
    nowMs: NOW_MS + i,
    job: { queue: "emails", type: "send-welcome", payload: payloadOf(i) },
  };
}

function check(result: ApplyResult): void {
  if (!result.items[0]?.ok) throw new Error(`rejected: ${JSON.stringify(result.items[0])}`);
}

console.log(`job state machine apply, ${JOBS} jobs, ${PAYLOAD_BYTES}-byte payloads, node ${process.version}`);

// 1. Submits, already decoded.
{
  gc();
  const commands = Array.from({ length: JOBS }, (_, i) => submitCommand(i));
  const state = new JobQueueState(limits);
  const measured = start();
  for (let i = 0; i < JOBS; i++) check(state.apply(i + 1, commands[i]!));
  measured("SubmitJob apply", JOBS);
}

// 2. Submits from log bytes: decode + apply (what a follower does per entry).
{
  gc();
  const encoded = Array.from({ length: JOBS }, (_, i) => encodeCommand(submitCommand(i)));
  const state = new JobQueueState(limits);
  const measured = start();
  for (let i = 0; i < JOBS; i++) check(state.apply(i + 1, decodeCommand(encoded[i]!)));
  measured("SubmitJob decode + apply", JOBS, `  entry ${encoded[0]!.length} bytes`);
}

// 3. Batched submits (100 per entry).
{
  gc();
  const BATCH = 100;
  const batches: JobCommand[] = [];
  for (let b = 0; b < JOBS / BATCH; b++) {
    batches.push({
      kind: "SubmitJobBatch",
      nowMs: NOW_MS + b,
      jobs: Array.from({ length: BATCH }, (_, i) => ({
        queue: "emails",
        type: "send-welcome",
        payload: payloadOf(i),
      })),
    });
  }
  const state = new JobQueueState(limits);
  const measured = start();
  batches.forEach((cmd, i) => check(state.apply(i + 1, cmd)));
  measured(`SubmitJobBatch (${BATCH}/entry) apply`, JOBS);
}

// 4. Assign + complete pairs, one job per command (the worst case), then batched.
function assignCompletePairs(perCommand: number): void {
  gc();
  const WORKERS = 100;
  const state = new JobQueueState(limits);
  let index = registerWorkers(state, {
    count: WORKERS,
    queues: ["emails"],
    concurrency: 1000,
    nowMs: NOW_MS,
  });
  const SUBMIT_BATCH = 1000;
  for (let b = 0; b < JOBS / SUBMIT_BATCH; b++) {
    state.apply(++index, {
      kind: "SubmitJobBatch",
      nowMs: NOW_MS,
      jobs: Array.from({ length: SUBMIT_BATCH }, () => ({
        queue: "emails",
        type: "t",
        payload: new Uint8Array(PAYLOAD_BYTES),
      })),
    });
  }
  const firstId = 1;
  const result = new Uint8Array(16);
  gc();
  const measured = start();
  for (let start = 0; start < JOBS; start += perCommand) {
    const assignments = [];
    for (let i = start; i < start + perCommand; i++) {
      assignments.push({ jobId: String(firstId + i), workerId: `worker-${i % WORKERS}` });
    }
    const assigned = state.apply(++index, { kind: "AssignJobs", nowMs: NOW_MS + start, assignments });
    const updates: JobStatusUpdate[] = [];
    for (const event of assigned.events) {
      if (event.type !== "assigned") continue;
      updates.push({
        jobId: event.jobId,
        workerId: event.workerId,
        token: event.token,
        outcome: "completed",
        result,
      });
    }
    if (updates.length !== perCommand) throw new Error("assignment rejected");
    const done =
      perCommand === 1
        ? state.apply(++index, {
            kind: "UpdateJobStatus",
            nowMs: NOW_MS + start,
            jitterSeed: 1,
            update: updates[0]!,
          })
        : state.apply(++index, {
            kind: "BatchUpdateJobStatus",
            nowMs: NOW_MS + start,
            jitterSeed: 1,
            updates,
          });
    if (!done.items.every((item) => item.ok)) throw new Error("completion rejected");
  }
  measured(`AssignJobs + UpdateJobStatus pairs (${perCommand}/entry)`, JOBS);
}
assignCompletePairs(1);
assignCompletePairs(100);

// 5. Codec alone: a small submit, encode + decode.
{
  const cmd = submitCommand(1);
  const N = 1_000_000;
  let bytes = 0;
  const measured = start();
  for (let i = 0; i < N; i++) bytes += decodeCommand(encodeCommand(cmd)).kind.length;
  measured("encodeCommand + decodeCommand (small submit)", N, bytes > 0 ? "" : "!");
}

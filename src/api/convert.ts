/**
 * Conversions between the wire (proto-loader objects: camelCase, numbers for
 * 64-bit integers, enum names as strings) and the job state machine's types.
 */
import type { WireJob, WireJobSpec } from "../wire/raftq-v1.js";
import { parseJobStateName, type JobStateName, type JobView, type SubmitJobSpec } from "../jobs/index.js";

export type { WireJob, WireJobSpec };

const STATE_TO_WIRE: Record<JobStateName, string> = {
  pending: "JOB_STATE_PENDING",
  scheduled: "JOB_STATE_SCHEDULED",
  running: "JOB_STATE_RUNNING",
  completed: "JOB_STATE_COMPLETED",
  failed: "JOB_STATE_FAILED",
  cancelled: "JOB_STATE_CANCELLED",
};

export function stateToWire(state: JobStateName): string {
  return STATE_TO_WIRE[state];
}

/** JOB_STATE_PENDING -> pending; unspecified -> undefined; anything else -> null (invalid). */
export function stateFromWire(state: string | undefined): JobStateName | undefined | null {
  if (state === undefined || state === "" || state === "JOB_STATE_UNSPECIFIED") return undefined;
  const name = state.startsWith("JOB_STATE_") ? state.slice("JOB_STATE_".length).toLowerCase() : state;
  return parseJobStateName(name) === undefined ? null : (name as JobStateName);
}

function asBuffer(bytes: Uint8Array | null): Buffer {
  if (bytes === null) return Buffer.alloc(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function jobToWire(job: JobView): WireJob {
  return {
    id: job.id,
    queue: job.queue,
    type: job.type,
    payload: asBuffer(job.payload),
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    leaseMs: job.leaseMs,
    runAtMs: job.runAtMs,
    idempotencyKey: job.idempotencyKey ?? "",
    submittedAtMs: job.submittedAtMs,
    attempts: job.attempts,
    state: stateToWire(job.state),
    workerId: job.workerId ?? "",
    token: job.token,
    leaseDeadlineMs: job.leaseDeadlineMs ?? 0,
    lastError: job.lastError ?? "",
    result: asBuffer(job.result),
    finishedAtMs: job.finishedAtMs ?? 0,
  };
}

/** Zero/empty wire values mean "use the default", as the proto documents. */
export function specFromWire(w: Partial<WireJobSpec> | null | undefined): SubmitJobSpec {
  const spec: { -readonly [K in keyof SubmitJobSpec]: SubmitJobSpec[K] } = {
    queue: w?.queue ?? "",
    type: w?.type ?? "",
    payload: w?.payload ?? new Uint8Array(0),
  };
  if (w?.priority) spec.priority = w.priority;
  if (w?.maxAttempts) spec.maxAttempts = w.maxAttempts;
  if (w?.leaseMs) spec.leaseMs = w.leaseMs;
  if (w?.runAtMs) spec.runAtMs = w.runAtMs;
  if (w?.idempotencyKey) spec.idempotencyKey = w.idempotencyKey;
  if (w?.backoffInitialMs) spec.backoffInitialMs = w.backoffInitialMs;
  if (w?.backoffMaxMs) spec.backoffMaxMs = w.backoffMaxMs;
  if (w?.backoffMultiplier) spec.backoffMultiplier = w.backoffMultiplier;
  return spec;
}

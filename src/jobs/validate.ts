/**
 * Input checks shared by the API (before proposing, so bad input never reaches
 * the log) and by apply (which must reject the same things deterministically,
 * whatever a buggy or old leader proposed). Messages say what is wrong and
 * what the limit is.
 */
import type { JobStatusUpdate, SubmitJobSpec } from "./commands.js";
import type { JobLimits } from "./limits.js";

export interface Problem {
  readonly field: string;
  readonly message: string;
}

/** Names are printable: no control characters (they end up in logs and metrics labels). */
function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function checkName(problems: Problem[], field: string, value: unknown, maxChars: number): void {
  if (typeof value !== "string") {
    problems.push({ field, message: `${field} must be a string` });
  } else if (value.length === 0) {
    problems.push({ field, message: `${field} must not be empty` });
  } else if (value.length > maxChars) {
    problems.push({ field, message: `${field} is ${value.length} characters; the limit is ${maxChars}` });
  } else if (hasControlChar(value)) {
    problems.push({ field, message: `${field} must not contain control characters` });
  }
}

function checkInteger(problems: Problem[], field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    problems.push({ field, message: `${field} must be an integer, got ${String(value)}` });
  } else if (value < min || value > max) {
    problems.push({ field, message: `${field} is ${value}; it must be between ${min} and ${max}` });
  }
}

/** A time or count the codec carries as an unsigned integer. */
export function checkTime(problems: Problem[], field: string, value: unknown): void {
  checkInteger(problems, field, value, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Problems with a submit, empty when it is acceptable. `nowMs`, when given,
 * also bounds how far in the future run-at may be.
 */
export function validateSubmit(spec: SubmitJobSpec, limits: JobLimits, nowMs?: number): Problem[] {
  const problems: Problem[] = [];
  checkName(problems, "queue", spec.queue, limits.maxQueueNameChars);
  checkName(problems, "type", spec.type, limits.maxJobTypeChars);
  if (!(spec.payload instanceof Uint8Array)) {
    problems.push({ field: "payload", message: "payload must be bytes" });
  } else if (spec.payload.length > limits.maxPayloadBytes) {
    problems.push({
      field: "payload",
      message: `payload is ${spec.payload.length} bytes; the limit is ${limits.maxPayloadBytes}`,
    });
  }
  if (spec.priority !== undefined) {
    checkInteger(problems, "priority", spec.priority, -limits.maxPriority, limits.maxPriority);
  }
  if (spec.maxAttempts !== undefined) {
    checkInteger(problems, "maxAttempts", spec.maxAttempts, 1, limits.maxMaxAttempts);
  }
  if (spec.leaseMs !== undefined) {
    checkInteger(problems, "leaseMs", spec.leaseMs, limits.minLeaseMs, limits.maxLeaseMs);
  }
  if (spec.backoffInitialMs !== undefined) {
    checkInteger(problems, "backoffInitialMs", spec.backoffInitialMs, 0, limits.maxBackoffMs);
  }
  if (spec.backoffMaxMs !== undefined) {
    checkInteger(problems, "backoffMaxMs", spec.backoffMaxMs, 0, limits.maxBackoffMs);
  }
  const initialMs = spec.backoffInitialMs ?? limits.defaultBackoffInitialMs;
  const maxMs = spec.backoffMaxMs ?? limits.defaultBackoffMaxMs;
  if (typeof initialMs === "number" && typeof maxMs === "number" && maxMs < initialMs) {
    problems.push({
      field: "backoffMaxMs",
      message: `backoffMaxMs (${maxMs}) must not be below backoffInitialMs (${initialMs})`,
    });
  }
  if (spec.backoffMultiplier !== undefined) {
    const m = spec.backoffMultiplier;
    if (typeof m !== "number" || !Number.isFinite(m) || m < 1 || m > limits.maxBackoffMultiplier) {
      problems.push({
        field: "backoffMultiplier",
        message: `backoffMultiplier is ${String(m)}; it must be between 1 and ${limits.maxBackoffMultiplier}`,
      });
    }
  }
  if (spec.runAtMs !== undefined) {
    checkTime(problems, "runAtMs", spec.runAtMs);
    if (nowMs !== undefined && spec.runAtMs > nowMs + limits.maxRunAtDelayMs) {
      problems.push({
        field: "runAtMs",
        message: `runAtMs is ${spec.runAtMs - nowMs} ms in the future; the limit is ${limits.maxRunAtDelayMs} ms`,
      });
    }
  }
  if (spec.idempotencyKey !== undefined) {
    checkName(problems, "idempotencyKey", spec.idempotencyKey, limits.maxIdempotencyKeyChars);
  }
  return problems;
}

export function validateRegisterWorker(
  worker: { readonly workerId: string; readonly queues: readonly string[]; readonly concurrency: number },
  limits: JobLimits,
): Problem[] {
  const problems: Problem[] = [];
  checkName(problems, "workerId", worker.workerId, limits.maxWorkerIdChars);
  if (!Array.isArray(worker.queues) || worker.queues.length === 0) {
    problems.push({ field: "queues", message: "a worker must serve at least one queue" });
  } else if (worker.queues.length > limits.maxQueuesPerWorker) {
    problems.push({
      field: "queues",
      message: `a worker serves ${worker.queues.length} queues; the limit is ${limits.maxQueuesPerWorker}`,
    });
  } else {
    const seen = new Set<string>();
    for (const queue of worker.queues) {
      checkName(problems, "queues", queue, limits.maxQueueNameChars);
      if (seen.has(queue)) problems.push({ field: "queues", message: `queue ${queue} is listed twice` });
      seen.add(queue);
    }
  }
  checkInteger(problems, "concurrency", worker.concurrency, 1, limits.maxWorkerConcurrency);
  return problems;
}

export function validateStatusUpdate(update: JobStatusUpdate, limits: JobLimits): Problem[] {
  const problems: Problem[] = [];
  checkName(problems, "jobId", update.jobId, 32);
  checkName(problems, "workerId", update.workerId, limits.maxWorkerIdChars);
  checkInteger(problems, "token", update.token, 1, Number.MAX_SAFE_INTEGER);
  if (update.outcome === "completed") {
    if (!(update.result instanceof Uint8Array)) {
      problems.push({ field: "result", message: "result must be bytes" });
    } else if (update.result.length > limits.maxResultBytes) {
      problems.push({
        field: "result",
        message: `result is ${update.result.length} bytes; the limit is ${limits.maxResultBytes}`,
      });
    }
  } else if (update.outcome === "failed") {
    if (typeof update.error !== "string")
      problems.push({ field: "error", message: "error must be a string" });
    if (typeof update.retryable !== "boolean") {
      problems.push({ field: "retryable", message: "retryable must be true or false" });
    }
  } else {
    problems.push({ field: "outcome", message: "outcome must be completed or failed" });
  }
  return problems;
}

export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => p.message).join("; ");
}

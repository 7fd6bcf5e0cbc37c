/**
 * Command handlers: each validates against the state as it is when the entry
 * is applied (the world may have changed since the leader proposed it) and
 * either changes the state or returns a rejection that changes nothing.
 * Batch commands handle each item on its own.
 */
import type {
  AssignJobs,
  CancelJob,
  DeregisterWorker,
  ExpireFinished,
  JobCommand,
  JobStatusUpdate,
  RegisterWorker,
  RequeueJobs,
  RetryJob,
  SubmitJobSpec,
} from "./commands.js";
import { formatJobId } from "./ids.js";
import { JobState, jobStateName } from "./job-state.js";
import { WorkerRecord, type JobRecord } from "./records.js";
import {
  ACCEPTED,
  rejected,
  type ApplyResult,
  type ItemOutcome,
  type JobEvent,
  type Rejected,
} from "./results.js";
import type { JobQueueState } from "./state.js";
import {
  describeProblems,
  validateRegisterWorker,
  validateStatusUpdate,
  validateSubmit,
} from "./validate.js";

const EMPTY_BYTES = new Uint8Array(0);

export function applyCommand(state: JobQueueState, cmd: JobCommand): ApplyResult {
  const events: JobEvent[] = [];
  const invalid = checkEnvelope(state, cmd);
  if (invalid !== undefined) return { items: [invalid], events };
  state.promoteDue(cmd.nowMs);
  switch (cmd.kind) {
    case "SubmitJob":
      return { items: [submit(state, cmd.job, cmd.nowMs)], events };
    case "SubmitJobBatch":
      return { items: cmd.jobs.map((spec) => submit(state, spec, cmd.nowMs)), events };
    case "AssignJobs":
      return { items: assign(state, cmd, events), events };
    case "RegisterWorker":
      return { items: [registerWorker(state, cmd)], events };
    case "DeregisterWorker":
      return { items: [deregisterWorker(state, cmd, events)], events };
    case "UpdateJobStatus":
      return { items: [updateStatus(state, cmd.update, cmd.nowMs, cmd.jitterSeed, events)], events };
    case "BatchUpdateJobStatus":
      return {
        items: cmd.updates.map((u) => updateStatus(state, u, cmd.nowMs, cmd.jitterSeed, events)),
        events,
      };
    case "CancelJob":
      return { items: [cancel(state, cmd, events)], events };
    case "RequeueJobs":
      return { items: requeue(state, cmd, events), events };
    case "RetryJob":
      return { items: [retry(state, cmd)], events };
    case "ExpireFinished":
      return { items: [expire(state, cmd)], events };
  }
}

/** What must hold for any command before its items are looked at; a failure rejects it whole. */
function checkEnvelope(state: JobQueueState, cmd: JobCommand): Rejected | undefined {
  const c = cmd as unknown as Partial<Record<string, unknown>>;
  if (!Number.isSafeInteger(c.nowMs) || (c.nowMs as number) < 0) {
    return invalidCommand(`nowMs must be an unsigned integer, got ${String(c.nowMs)}`);
  }
  const items = batchItems(cmd);
  if (items === -1) return invalidCommand(`unknown command kind ${String(c.kind)}`);
  if (items > state.limits.maxBatchItems) {
    return invalidCommand(`the batch has ${items} items; the limit is ${state.limits.maxBatchItems}`);
  }
  if (
    "jitterSeed" in cmd &&
    !(Number.isInteger(cmd.jitterSeed) && cmd.jitterSeed >= 0 && cmd.jitterSeed < 2 ** 32)
  ) {
    return invalidCommand(`jitterSeed must be a 32-bit unsigned integer, got ${String(cmd.jitterSeed)}`);
  }
  return undefined;
}

function batchItems(cmd: JobCommand): number {
  switch (cmd.kind) {
    case "SubmitJobBatch":
      return cmd.jobs.length;
    case "AssignJobs":
      return cmd.assignments.length;
    case "BatchUpdateJobStatus":
      return cmd.updates.length;
    case "RequeueJobs":
      return cmd.jobs.length;
    case "SubmitJob":
    case "RegisterWorker":
    case "DeregisterWorker":
    case "UpdateJobStatus":
    case "CancelJob":
    case "RetryJob":
      return 1;
    case "ExpireFinished":
      return 0;
    default:
      return -1;
  }
}

function invalidCommand(message: string): Rejected {
  return rejected("INVALID_ARGUMENT", "INVALID_COMMAND", message);
}

function jobNotFound(jobId: string): Rejected {
  return rejected("NOT_FOUND", "JOB_NOT_FOUND", `job ${jobId} does not exist (or has expired)`);
}

function describeState(job: JobRecord): string {
  return jobStateName(job.state);
}

// ---- SubmitJob, SubmitJobBatch ----

function submit(state: JobQueueState, spec: SubmitJobSpec, nowMs: number): ItemOutcome {
  const limits = state.limits;
  const problems = validateSubmit(spec, limits, nowMs);
  if (problems.length > 0) return rejected("INVALID_ARGUMENT", "INVALID_COMMAND", describeProblems(problems));

  const key = spec.idempotencyKey;
  // A key past its window may be reused; it is replaced only once the submit is sure to succeed,
  // so a rejected submit changes nothing.
  let expiredKey = false;
  if (key !== undefined) {
    const seen = state.idempotencyKeys.get(key);
    if (seen !== undefined) {
      if (seen.expiresAtMs > nowMs) return { ok: true, jobId: formatJobId(seen.jobId), duplicate: true };
      expiredKey = true;
    }
    if (!expiredKey && state.idempotencyKeys.size >= limits.maxIdempotencyKeys) {
      return rejected(
        "RESOURCE_EXHAUSTED",
        "TOO_MANY_IDEMPOTENCY_KEYS",
        `${state.idempotencyKeys.size} idempotency keys are remembered; the limit is ${limits.maxIdempotencyKeys}`,
      );
    }
  }
  if (state.jobs.size >= limits.maxJobs) {
    return rejected(
      "RESOURCE_EXHAUSTED",
      "TOO_MANY_JOBS",
      `the queue holds ${state.jobs.size} jobs; the limit is ${limits.maxJobs}`,
    );
  }
  if (state.payloadBytes + spec.payload.length > limits.maxTotalPayloadBytes) {
    return rejected(
      "RESOURCE_EXHAUSTED",
      "TOO_MUCH_PAYLOAD",
      `jobs hold ${state.payloadBytes} payload bytes; this one would pass the limit of ${limits.maxTotalPayloadBytes}`,
    );
  }
  const queue = state.queueFor(spec.queue, true);
  if (queue === undefined) {
    return rejected(
      "RESOURCE_EXHAUSTED",
      "TOO_MANY_QUEUES",
      `there are ${state.queueRecords.size} queues; the limit is ${limits.maxQueues}`,
    );
  }
  const job = state.createJob(spec, queue, nowMs);
  if (key !== undefined) {
    if (expiredKey) state.idempotencyKeys.delete(key); // re-inserted last: the map stays in submission order
    state.idempotencyKeys.set(key, { jobId: job.id, expiresAtMs: nowMs + limits.idempotencyRetentionMs });
  }
  return { ok: true, jobId: formatJobId(job.id) };
}

// ---- AssignJobs ----

function assign(state: JobQueueState, cmd: AssignJobs, events: JobEvent[]): ItemOutcome[] {
  const nowMs = cmd.nowMs;
  return cmd.assignments.map(({ jobId, workerId }): ItemOutcome => {
    const job = state.findJob(jobId);
    if (job === undefined) return jobNotFound(jobId);
    if (job.state === JobState.Scheduled) {
      if (job.runAtMs > nowMs) {
        return rejected(
          "FAILED_PRECONDITION",
          "JOB_NOT_DUE",
          `job ${jobId} may not run before ${job.runAtMs} (now ${nowMs})`,
        );
      }
      // Due, but not promoted yet (promotion is bounded per command).
      state.unplace(job);
      state.place(job, JobState.Pending);
    }
    if (job.state !== JobState.Pending) {
      return rejected(
        "FAILED_PRECONDITION",
        "JOB_NOT_PENDING",
        `job ${jobId} is ${describeState(job)}, not pending`,
      );
    }
    const worker = state.workerRecords.get(workerId);
    if (worker === undefined) {
      return rejected("NOT_FOUND", "WORKER_NOT_FOUND", `worker ${workerId} is not registered`);
    }
    if (!job.queue.workers.has(worker)) {
      return rejected(
        "FAILED_PRECONDITION",
        "WORKER_NOT_SERVING_QUEUE",
        `worker ${workerId} does not serve queue ${job.queue.name}`,
      );
    }
    if (!worker.hasRoom()) {
      return rejected(
        "RESOURCE_EXHAUSTED",
        "WORKER_FULL",
        `worker ${workerId} already runs ${worker.running.size} jobs; its concurrency is ${worker.concurrency}`,
      );
    }
    state.startAttempt(job, worker, nowMs);
    events.push({
      type: "assigned",
      jobId,
      workerId,
      token: job.token,
      attempt: job.attempts,
      leaseDeadlineMs: job.leaseDeadlineMs,
    });
    return { ok: true, jobId };
  });
}

// ---- RegisterWorker, DeregisterWorker ----

function registerWorker(state: JobQueueState, cmd: RegisterWorker): ItemOutcome {
  const limits = state.limits;
  const problems = validateRegisterWorker(cmd, limits);
  if (problems.length > 0) return rejected("INVALID_ARGUMENT", "INVALID_COMMAND", describeProblems(problems));
  const existing = state.workerRecords.get(cmd.workerId);
  if (existing === undefined && state.workerRecords.size >= limits.maxWorkers) {
    return rejected(
      "RESOURCE_EXHAUSTED",
      "TOO_MANY_WORKERS",
      `${state.workerRecords.size} workers are registered; the limit is ${limits.maxWorkers}`,
    );
  }
  if (existing !== undefined && cmd.concurrency < existing.running.size) {
    return rejected(
      "FAILED_PRECONDITION",
      "CONCURRENCY_BELOW_RUNNING",
      `worker ${cmd.workerId} runs ${existing.running.size} jobs; its concurrency cannot drop to ${cmd.concurrency} before they finish`,
    );
  }
  const newQueues = cmd.queues.filter((name) => !state.queueRecords.has(name)).length;
  if (state.queueRecords.size + newQueues > limits.maxQueues) {
    return rejected(
      "RESOURCE_EXHAUSTED",
      "TOO_MANY_QUEUES",
      `there are ${state.queueRecords.size} queues; ${newQueues} more would pass the limit of ${limits.maxQueues}`,
    );
  }
  const queues = cmd.queues.map((name) => state.queueFor(name, true)!);
  const oldQueues = existing?.queues ?? [];
  let worker = existing;
  if (worker === undefined) {
    worker = new WorkerRecord(cmd.workerId, queues, cmd.concurrency, cmd.nowMs);
    state.workerRecords.set(worker.id, worker);
  } else {
    for (const queue of worker.queues) queue.workers.delete(worker);
    worker.queues = queues;
    worker.concurrency = cmd.concurrency;
  }
  for (const queue of queues) queue.workers.add(worker);
  for (const queue of oldQueues) state.releaseQueueIfUnused(queue);
  return existing === undefined ? ACCEPTED : { ok: true, duplicate: true };
}

function deregisterWorker(state: JobQueueState, cmd: DeregisterWorker, events: JobEvent[]): ItemOutcome {
  const worker = state.workerRecords.get(cmd.workerId);
  if (worker === undefined) {
    return rejected("NOT_FOUND", "WORKER_NOT_FOUND", `worker ${cmd.workerId} is not registered`);
  }
  const message =
    cmd.reason === "lost" ? `worker ${worker.id} was lost` : `worker ${worker.id} shut down before finishing`;
  for (const job of [...worker.running]) {
    state.endAttemptUnsuccessfully(job, cmd.nowMs, cmd.jitterSeed, cmd.reason, message, true, events);
  }
  state.workerRecords.delete(worker.id);
  for (const queue of worker.queues) {
    queue.workers.delete(worker);
    state.releaseQueueIfUnused(queue);
  }
  return ACCEPTED;
}

// ---- UpdateJobStatus, BatchUpdateJobStatus ----

function updateStatus(
  state: JobQueueState,
  update: JobStatusUpdate,
  nowMs: number,
  jitterSeed: number,
  events: JobEvent[],
): ItemOutcome {
  const problems = validateStatusUpdate(update, state.limits);
  if (problems.length > 0) return rejected("INVALID_ARGUMENT", "INVALID_COMMAND", describeProblems(problems));
  const jobId = update.jobId;
  const job = state.findJob(jobId);
  if (job === undefined) return jobNotFound(jobId);
  if (update.token !== job.token) {
    return rejected(
      "FAILED_PRECONDITION",
      "STALE_TOKEN",
      `token ${update.token} is not the current assignment of job ${jobId}; it was requeued and assigned again since`,
    );
  }
  if (job.workerId !== null && job.workerId !== update.workerId) {
    return rejected(
      "FAILED_PRECONDITION",
      "WRONG_WORKER",
      `job ${jobId} is assigned to worker ${job.workerId}, not ${update.workerId}`,
    );
  }
  if (job.state !== JobState.Running) {
    // A worker retrying a report that already went through gets the same answer again.
    const repeated =
      (update.outcome === "completed" && job.state === JobState.Completed) ||
      (update.outcome === "failed" && job.state === JobState.Failed);
    if (repeated && job.workerId === update.workerId) return { ok: true, jobId, duplicate: true };
    if (job.state === JobState.Pending || job.state === JobState.Scheduled) {
      return rejected(
        "FAILED_PRECONDITION",
        "JOB_NOT_RUNNING",
        `job ${jobId} is ${describeState(job)} again: its lease expired or its worker was considered lost`,
      );
    }
    return rejected("FAILED_PRECONDITION", "JOB_FINISHED", `job ${jobId} is already ${describeState(job)}`);
  }
  const workerId = job.workerId!;
  if (update.outcome === "completed") {
    state.setResult(job, update.result.length === 0 ? EMPTY_BYTES : update.result.slice());
    state.finish(job, JobState.Completed, nowMs);
    events.push({ type: "finished", jobId, state: "completed", workerId });
  } else {
    state.endAttemptUnsuccessfully(job, nowMs, jitterSeed, "failed", update.error, update.retryable, events);
  }
  return { ok: true, jobId };
}

// ---- CancelJob ----

function cancel(state: JobQueueState, cmd: CancelJob, events: JobEvent[]): ItemOutcome {
  const job = state.findJob(cmd.jobId);
  if (job === undefined) return jobNotFound(cmd.jobId);
  if (job.state === JobState.Cancelled) return { ok: true, jobId: cmd.jobId, duplicate: true };
  if (job.state === JobState.Completed || job.state === JobState.Failed) {
    return rejected(
      "FAILED_PRECONDITION",
      "JOB_FINISHED",
      `job ${cmd.jobId} is already ${describeState(job)}; only unfinished jobs can be cancelled`,
    );
  }
  const runningOn = job.state === JobState.Running ? job.workerId : null;
  job.lastError = state.truncateError(cmd.reason === "" ? "cancelled" : `cancelled: ${cmd.reason}`);
  state.finish(job, JobState.Cancelled, cmd.nowMs);
  events.push({ type: "finished", jobId: cmd.jobId, state: "cancelled", workerId: runningOn });
  return { ok: true, jobId: cmd.jobId };
}

// ---- RequeueJobs ----

function requeue(state: JobQueueState, cmd: RequeueJobs, events: JobEvent[]): ItemOutcome[] {
  return cmd.jobs.map(({ jobId, token }): ItemOutcome => {
    const job = state.findJob(jobId);
    if (job === undefined) return jobNotFound(jobId);
    if (token !== job.token) {
      return rejected(
        "FAILED_PRECONDITION",
        "STALE_TOKEN",
        `token ${token} is not the current assignment of job ${jobId}`,
      );
    }
    if (job.state !== JobState.Running) {
      return rejected(
        "FAILED_PRECONDITION",
        "JOB_NOT_RUNNING",
        `job ${jobId} is ${describeState(job)}, not running`,
      );
    }
    if (cmd.reason === "lease_expired" && job.leaseDeadlineMs > cmd.nowMs) {
      return rejected(
        "FAILED_PRECONDITION",
        "LEASE_NOT_EXPIRED",
        `the lease of job ${jobId} runs until ${job.leaseDeadlineMs} (now ${cmd.nowMs})`,
      );
    }
    const message =
      cmd.reason === "lease_expired"
        ? `attempt ${job.attempts} timed out after ${job.options.leaseMs} ms on worker ${job.workerId}`
        : `worker ${job.workerId} was lost during attempt ${job.attempts}`;
    state.endAttemptUnsuccessfully(job, cmd.nowMs, cmd.jitterSeed, cmd.reason, message, true, events);
    return { ok: true, jobId };
  });
}

// ---- RetryJob ----

function retry(state: JobQueueState, cmd: RetryJob): ItemOutcome {
  const job = state.findJob(cmd.jobId);
  if (job === undefined) return jobNotFound(cmd.jobId);
  if (job.state !== JobState.Failed) {
    return rejected(
      "FAILED_PRECONDITION",
      "JOB_NOT_FAILED",
      `job ${cmd.jobId} is ${describeState(job)}; only failed (dead-lettered) jobs can be retried`,
    );
  }
  state.unplace(job);
  job.attempts = 0;
  job.workerId = null;
  job.finishedAtMs = 0;
  job.runAtMs = 0;
  state.setResult(job, null);
  state.placeRunnable(job, cmd.nowMs);
  return { ok: true, jobId: cmd.jobId };
}

// ---- ExpireFinished ----

function expire(state: JobQueueState, cmd: ExpireFinished): ItemOutcome {
  const max = Math.min(cmd.maxItems, state.limits.maxBatchItems);
  const cutoffMs = cmd.nowMs - state.limits.finishedRetentionMs;
  let expiredJobs = 0;
  while (expiredJobs < max) {
    const oldest = state.finished.peek();
    if (oldest === undefined || oldest.finishedAtMs > cutoffMs) break;
    state.deleteJob(oldest);
    expiredJobs++;
  }
  // Keys are in submission order, which is expiry order unless the leader's clock went back;
  // then a key waits behind an older one a little longer, which is harmless.
  let expiredKeys = 0;
  for (const [key, entry] of state.idempotencyKeys) {
    if (expiredKeys >= max || entry.expiresAtMs > cmd.nowMs) break;
    state.idempotencyKeys.delete(key);
    expiredKeys++;
  }
  return { ok: true, expiredJobs, expiredKeys };
}

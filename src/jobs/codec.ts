/**
 * Binary encoding of JobCommand: what the Raft log carries. Compact (varints,
 * no field names) and fast (no JSON on the hot path).
 *
 * Layout: [format version = 1] [kind tag] then the command's fields in a fixed
 * order. Optional submit fields are announced by a bit set. Decoding checks
 * every length, tag and enum and rejects trailing bytes, throwing CodecError.
 * Decoded payloads and results are views into the input bytes (no copy); the
 * state copies what it keeps. Encoded bytes are views into shared slabs (see copyOut).
 */
import { ByteReader, ByteWriter, CodecError } from "./bytes.js";
import type {
  Assignment,
  DeregisterReason,
  JobCommand,
  JobStatusUpdate,
  RequeueItem,
  RequeueReason,
  SubmitJobSpec,
} from "./commands.js";

export { CodecError } from "./bytes.js";

const FORMAT_VERSION = 1;

const Tag = {
  SubmitJob: 1,
  SubmitJobBatch: 2,
  AssignJobs: 3,
  RegisterWorker: 4,
  DeregisterWorker: 5,
  UpdateJobStatus: 6,
  BatchUpdateJobStatus: 7,
  CancelJob: 8,
  RequeueJobs: 9,
  RetryJob: 10,
  ExpireFinished: 11,
} as const;

/** Bits announcing which optional submit fields follow. */
const Has = {
  priority: 1,
  maxAttempts: 2,
  leaseMs: 4,
  backoffInitialMs: 8,
  backoffMaxMs: 16,
  backoffMultiplier: 32,
  runAtMs: 64,
  idempotencyKey: 128,
} as const;

/** Hard cap on items in a decoded batch, far above any limit, so garbage cannot ask for a huge array. */
const MAX_DECODED_ITEMS = 1_000_000;

const DEREGISTER_REASONS: readonly DeregisterReason[] = ["shutdown", "lost"];
const REQUEUE_REASONS: readonly RequeueReason[] = ["lease_expired", "worker_lost"];

/** Reused between calls: encoding is synchronous, so one scratch buffer is enough. */
const scratch = new ByteWriter(4096);

/**
 * Encoded commands are carved out of shared 64 KiB slabs: allocating a fresh
 * ArrayBuffer per command costs ~10x more than the encoding itself. So the
 * result's `.buffer` is shared: use the view (byteOffset, length), never the
 * whole buffer.
 */
const SLAB_BYTES = 64 * 1024;
const MAX_SLAB_COMMAND_BYTES = 4 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

function copyOut(bytes: Uint8Array): Uint8Array {
  const length = bytes.length;
  if (length > MAX_SLAB_COMMAND_BYTES) return bytes.slice();
  if (slabUsed + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const start = slabUsed;
  slab.set(bytes, start);
  slabUsed += length;
  return slab.subarray(start, start + length);
}

export function encodeCommand(cmd: JobCommand): Uint8Array {
  const w = scratch;
  w.reset();
  w.u8(FORMAT_VERSION);
  switch (cmd.kind) {
    case "SubmitJob":
      w.u8(Tag.SubmitJob);
      w.uint(cmd.nowMs);
      writeSubmit(w, cmd.job);
      break;
    case "SubmitJobBatch":
      w.u8(Tag.SubmitJobBatch);
      w.uint(cmd.nowMs);
      w.uint(cmd.jobs.length);
      for (const job of cmd.jobs) writeSubmit(w, job);
      break;
    case "AssignJobs":
      w.u8(Tag.AssignJobs);
      w.uint(cmd.nowMs);
      w.uint(cmd.assignments.length);
      for (const a of cmd.assignments) {
        w.string(a.jobId);
        w.string(a.workerId);
      }
      break;
    case "RegisterWorker":
      w.u8(Tag.RegisterWorker);
      w.uint(cmd.nowMs);
      w.string(cmd.workerId);
      w.uint(cmd.queues.length);
      for (const queue of cmd.queues) w.string(queue);
      w.uint(cmd.concurrency);
      break;
    case "DeregisterWorker":
      w.u8(Tag.DeregisterWorker);
      w.uint(cmd.nowMs);
      w.u32(cmd.jitterSeed);
      w.string(cmd.workerId);
      w.u8(enumIndex(DEREGISTER_REASONS, cmd.reason, "deregister reason"));
      break;
    case "UpdateJobStatus":
      w.u8(Tag.UpdateJobStatus);
      w.uint(cmd.nowMs);
      w.u32(cmd.jitterSeed);
      writeUpdate(w, cmd.update);
      break;
    case "BatchUpdateJobStatus":
      w.u8(Tag.BatchUpdateJobStatus);
      w.uint(cmd.nowMs);
      w.u32(cmd.jitterSeed);
      w.uint(cmd.updates.length);
      for (const update of cmd.updates) writeUpdate(w, update);
      break;
    case "CancelJob":
      w.u8(Tag.CancelJob);
      w.uint(cmd.nowMs);
      w.string(cmd.jobId);
      w.string(cmd.reason);
      break;
    case "RequeueJobs":
      w.u8(Tag.RequeueJobs);
      w.uint(cmd.nowMs);
      w.u32(cmd.jitterSeed);
      w.u8(enumIndex(REQUEUE_REASONS, cmd.reason, "requeue reason"));
      w.uint(cmd.jobs.length);
      for (const item of cmd.jobs) {
        w.string(item.jobId);
        w.uint(item.token);
      }
      break;
    case "RetryJob":
      w.u8(Tag.RetryJob);
      w.uint(cmd.nowMs);
      w.string(cmd.jobId);
      break;
    case "ExpireFinished":
      w.u8(Tag.ExpireFinished);
      w.uint(cmd.nowMs);
      w.uint(cmd.maxItems);
      break;
    default:
      throw new CodecError(`unknown command kind ${String((cmd as { kind: unknown }).kind)}`);
  }
  return copyOut(w.peek());
}

export function decodeCommand(bytes: Uint8Array): JobCommand {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== FORMAT_VERSION) {
    throw new CodecError(
      `unsupported job command format version ${version} (this node reads ${FORMAT_VERSION})`,
    );
  }
  const tag = r.u8();
  const nowMs = r.uint();
  let cmd: JobCommand;
  switch (tag) {
    case Tag.SubmitJob:
      cmd = { kind: "SubmitJob", nowMs, job: readSubmit(r) };
      break;
    case Tag.SubmitJobBatch: {
      const count = readCount(r);
      const jobs: SubmitJobSpec[] = [];
      for (let i = 0; i < count; i++) jobs.push(readSubmit(r));
      cmd = { kind: "SubmitJobBatch", nowMs, jobs };
      break;
    }
    case Tag.AssignJobs: {
      const count = readCount(r);
      const assignments: Assignment[] = [];
      for (let i = 0; i < count; i++) assignments.push({ jobId: r.string(), workerId: r.string() });
      cmd = { kind: "AssignJobs", nowMs, assignments };
      break;
    }
    case Tag.RegisterWorker: {
      const workerId = r.string();
      const count = readCount(r);
      const queues: string[] = [];
      for (let i = 0; i < count; i++) queues.push(r.string());
      cmd = { kind: "RegisterWorker", nowMs, workerId, queues, concurrency: r.uint() };
      break;
    }
    case Tag.DeregisterWorker: {
      const jitterSeed = r.u32();
      const workerId = r.string();
      const reason = readEnum(r, DEREGISTER_REASONS, "deregister reason");
      cmd = { kind: "DeregisterWorker", nowMs, jitterSeed, workerId, reason };
      break;
    }
    case Tag.UpdateJobStatus: {
      const jitterSeed = r.u32();
      cmd = { kind: "UpdateJobStatus", nowMs, jitterSeed, update: readUpdate(r) };
      break;
    }
    case Tag.BatchUpdateJobStatus: {
      const jitterSeed = r.u32();
      const count = readCount(r);
      const updates: JobStatusUpdate[] = [];
      for (let i = 0; i < count; i++) updates.push(readUpdate(r));
      cmd = { kind: "BatchUpdateJobStatus", nowMs, jitterSeed, updates };
      break;
    }
    case Tag.CancelJob:
      cmd = { kind: "CancelJob", nowMs, jobId: r.string(), reason: r.string() };
      break;
    case Tag.RequeueJobs: {
      const jitterSeed = r.u32();
      const reason = readEnum(r, REQUEUE_REASONS, "requeue reason");
      const count = readCount(r);
      const jobs: RequeueItem[] = [];
      for (let i = 0; i < count; i++) jobs.push({ jobId: r.string(), token: r.uint() });
      cmd = { kind: "RequeueJobs", nowMs, jitterSeed, reason, jobs };
      break;
    }
    case Tag.RetryJob:
      cmd = { kind: "RetryJob", nowMs, jobId: r.string() };
      break;
    case Tag.ExpireFinished:
      cmd = { kind: "ExpireFinished", nowMs, maxItems: r.uint() };
      break;
    default:
      throw new CodecError(`unknown job command tag ${tag}`);
  }
  r.expectEnd("job command");
  return cmd;
}

function writeSubmit(w: ByteWriter, spec: SubmitJobSpec): void {
  let flags = 0;
  if (spec.priority !== undefined) flags |= Has.priority;
  if (spec.maxAttempts !== undefined) flags |= Has.maxAttempts;
  if (spec.leaseMs !== undefined) flags |= Has.leaseMs;
  if (spec.backoffInitialMs !== undefined) flags |= Has.backoffInitialMs;
  if (spec.backoffMaxMs !== undefined) flags |= Has.backoffMaxMs;
  if (spec.backoffMultiplier !== undefined) flags |= Has.backoffMultiplier;
  if (spec.runAtMs !== undefined) flags |= Has.runAtMs;
  if (spec.idempotencyKey !== undefined) flags |= Has.idempotencyKey;
  w.string(spec.queue);
  w.string(spec.type);
  w.bytes(spec.payload);
  w.u8(flags);
  if (spec.priority !== undefined) w.int(spec.priority);
  if (spec.maxAttempts !== undefined) w.uint(spec.maxAttempts);
  if (spec.leaseMs !== undefined) w.uint(spec.leaseMs);
  if (spec.backoffInitialMs !== undefined) w.uint(spec.backoffInitialMs);
  if (spec.backoffMaxMs !== undefined) w.uint(spec.backoffMaxMs);
  if (spec.backoffMultiplier !== undefined) w.f64(spec.backoffMultiplier);
  if (spec.runAtMs !== undefined) w.uint(spec.runAtMs);
  if (spec.idempotencyKey !== undefined) w.string(spec.idempotencyKey);
}

function readSubmit(r: ByteReader): SubmitJobSpec {
  const queue = r.string();
  const type = r.string();
  const payload = r.bytes();
  const flags = r.u8();
  if (flags === 0) return { queue, type, payload };
  const spec: {
    queue: string;
    type: string;
    payload: Uint8Array;
    priority?: number;
    maxAttempts?: number;
    leaseMs?: number;
    backoffInitialMs?: number;
    backoffMaxMs?: number;
    backoffMultiplier?: number;
    runAtMs?: number;
    idempotencyKey?: string;
  } = { queue, type, payload };
  if (flags & Has.priority) spec.priority = r.int();
  if (flags & Has.maxAttempts) spec.maxAttempts = r.uint();
  if (flags & Has.leaseMs) spec.leaseMs = r.uint();
  if (flags & Has.backoffInitialMs) spec.backoffInitialMs = r.uint();
  if (flags & Has.backoffMaxMs) spec.backoffMaxMs = r.uint();
  if (flags & Has.backoffMultiplier) spec.backoffMultiplier = r.f64();
  if (flags & Has.runAtMs) spec.runAtMs = r.uint();
  if (flags & Has.idempotencyKey) spec.idempotencyKey = r.string();
  return spec;
}

function writeUpdate(w: ByteWriter, update: JobStatusUpdate): void {
  w.string(update.jobId);
  w.string(update.workerId);
  w.uint(update.token);
  if (update.outcome === "completed") {
    w.u8(0);
    w.bytes(update.result);
  } else if (update.outcome === "failed") {
    w.u8(update.retryable ? 2 : 1);
    w.string(update.error);
  } else {
    throw new CodecError(`unknown status outcome ${String((update as { outcome: unknown }).outcome)}`);
  }
}

function readUpdate(r: ByteReader): JobStatusUpdate {
  const jobId = r.string();
  const workerId = r.string();
  const token = r.uint();
  const outcome = r.u8();
  if (outcome === 0) return { jobId, workerId, token, outcome: "completed", result: r.bytes() };
  if (outcome === 1 || outcome === 2) {
    return { jobId, workerId, token, outcome: "failed", error: r.string(), retryable: outcome === 2 };
  }
  throw new CodecError(`unknown status outcome ${outcome}`);
}

function readCount(r: ByteReader): number {
  const count = r.uint();
  // Every item takes at least one byte: a larger count is garbage, not a huge allocation.
  if (count > MAX_DECODED_ITEMS || count > r.remaining) {
    throw new CodecError(`item count ${count} is impossible with ${r.remaining} bytes left`);
  }
  return count;
}

function enumIndex<T>(values: readonly T[], value: T, what: string): number {
  const index = values.indexOf(value);
  if (index < 0) throw new CodecError(`unknown ${what} ${String(value)}`);
  return index;
}

function readEnum<T>(r: ByteReader, values: readonly T[], what: string): T {
  const index = r.u8();
  const value = values[index];
  if (value === undefined) throw new CodecError(`unknown ${what} ${index}`);
  return value;
}

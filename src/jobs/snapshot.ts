/**
 * Snapshots: the whole job state as bytes, and back.
 *
 * Format (version 1), all integers varints unless noted:
 *   magic "RQJS" (4 bytes), format version (1 byte)
 *   limits      count, then (name, float64) pairs: the replicated configuration
 *   counters    lastAppliedIndex, nextJobId, nextToken, nextReadySeq
 *   queues      count, names (in table order; later sections refer to queues by position)
 *   workers     count, then id, queue positions, concurrency, registeredAtMs
 *   jobs        count, then each job record in id order (see writeJob in snapshot-writer.ts)
 *   indexes     each queue's ready line (pick order), the scheduled, lease and finished heaps, each
 *               worker's running set: count then job ids, in their exact internal order
 *   idem. keys  count, then (key, job id, expiresAtMs) in insertion order
 *   CRC-32 of everything before it (4 bytes, little-endian)
 *
 * Indexes are stored as they are laid out, so a restored state is the same
 * state, not merely an equivalent one: restore(serialize(s)) serializes to the
 * same bytes, and stateHash() (a digest of these bytes) matches.
 *
 * serializeSteps and serializeChunks first copy what may change (see
 * snapshot-writer.ts; serializeChunks in one go, serializeSteps in "copying"
 * steps the caller must not change the state between), then write the bytes in
 * steps of about stepBytes / maxChunkBytes, so the runtime can do other work in
 * between, applying included: the bytes are those of the state that was copied.
 */
import { assert } from "./assert.js";
import { ByteReader, ByteWriter, CodecError, type Allocate } from "./bytes.js";
import { crc32 } from "./crc32.js";
import { fnv1a32 } from "./fnv.js";
import type { JobHeap } from "./job-heap.js";
import { JOB_STATE_COUNT, JobState } from "./job-state.js";
import { DEFAULT_LIMITS, type JobLimits } from "./limits.js";
import { JobRecord, WorkerRecord, type QueueRecord } from "./records.js";
import {
  encode,
  freeze,
  freezeSteps,
  JobFlag,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  SnapshotScratch,
  type FrozenState,
} from "./snapshot-writer.js";
import { JobQueueState } from "./state.js";

export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
}

/** Options for serializeSteps. */
export interface SerializeOptions {
  /** Makes the output buffers (default: plain Uint8Array). */
  readonly allocate?: Allocate;
  /** Bytes written between yields (default 1 MiB). */
  readonly stepBytes?: number;
  /** Arrays to copy the changing parts into, kept warm across snapshots (default: fresh ones). */
  readonly scratch?: SnapshotScratch;
}

/**
 * What serializeSteps is doing when it yields: "copying" while it copies what
 * may change (apply nothing until it yields "writing"), "writing" after.
 */
export type SnapshotPhase = "copying" | "writing";

/**
 * Serializes into one buffer, yielding between steps so the runtime can do
 * other work; returns the snapshot (a view of the output). The node uses this:
 * one buffer it can hand to storage as it is, sized once from an upper bound
 * of the bytes (untouched pages cost nothing; on a VM, copying into fresh
 * memory costs ~3 ms per MB, so growing a 150 MB buffer by doubling was a
 * stall of its own). The bytes are those of the state while it was copying.
 */
export function* serializeSteps(
  state: JobQueueState,
  options: SerializeOptions = {},
): Generator<SnapshotPhase, Uint8Array, void> {
  const header = new ByteWriter(4096);
  const copying = freezeSteps(state, header, options.scratch ?? new SnapshotScratch());
  let r = copying.next();
  for (; !r.done; r = copying.next()) yield "copying";
  const frozen = r.value;
  const w = new ByteWriter(header.length + frozen.boundBytes + 4, options.allocate);
  w.raw(header.peek());
  return yield* stepsFrom(frozen, w, options.stepBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES);
}

function* stepsFrom(
  frozen: FrozenState,
  w: ByteWriter,
  stepBytes: number,
): Generator<SnapshotPhase, Uint8Array, void> {
  let crc = 0;
  let checked = 0;
  for (const _ of encode(frozen, w, stepBytes)) {
    // Checksum what this step wrote while it is still in cache.
    crc = crc32(w.peek().subarray(checked), crc);
    checked = w.length;
    yield "writing";
  }
  crc = crc32(w.peek().subarray(checked), crc);
  w.u32(crc);
  return w.peek();
}

/** Serializes in pieces of about maxChunkBytes (each a fresh array), e.g. to stream or digest them. */
export function serializeChunks(
  state: JobQueueState,
  maxChunkBytes: number = DEFAULT_SNAPSHOT_CHUNK_BYTES,
): Generator<Uint8Array, void, void> {
  // Start small and let the writer double: a small state (most of them) must not
  // pay for zeroing a chunk-sized buffer; that made every snapshot cost 16 MB.
  const w = new ByteWriter(Math.min(maxChunkBytes, 64 * 1024) + 1024);
  const frozen = freeze(state, w, new SnapshotScratch());
  return chunksFrom(frozen, w, maxChunkBytes);
}

function* chunksFrom(
  frozen: FrozenState,
  w: ByteWriter,
  maxChunkBytes: number,
): Generator<Uint8Array, void, void> {
  let crc = 0;
  for (const _ of encode(frozen, w, maxChunkBytes)) {
    const chunk = w.take();
    crc = crc32(chunk, crc);
    yield chunk;
  }
  crc = crc32(w.peek(), crc);
  w.u32(crc);
  yield w.take();
}

export function serialize(state: JobQueueState): Uint8Array {
  return concat([...serializeChunks(state, 16 * 1024 * 1024)]);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Digest of the serialized state: CRC-32 and FNV-1a side by side (64 bits), as hex. */
export function stateHash(state: JobQueueState): string {
  let crc = 0;
  let fnv: number | undefined;
  for (const chunk of serializeChunks(state)) {
    crc = crc32(chunk, crc);
    fnv = fnv1a32(chunk, fnv);
  }
  return crc.toString(16).padStart(8, "0") + (fnv ?? 0).toString(16).padStart(8, "0");
}

export interface RestoreOptions {
  /** Run the full invariant check after restoring (O(jobs)); default true. */
  readonly verify?: boolean;
  /** restoreSteps yields after this many jobs read, placed or counted; default RESTORE_STEP_JOBS. */
  readonly stepJobs?: number;
}

/** Rebuilds a state from serialize()'s bytes. Corrupt or truncated input throws SnapshotError. */
export function restore(bytes: Uint8Array, options: RestoreOptions = {}): JobQueueState {
  const steps = restoreSteps(bytes, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Jobs read, or placed in an index, per step of restoreSteps. */
export const RESTORE_STEP_JOBS = 10_000;

/**
 * restore() in steps of RESTORE_STEP_JOBS jobs: a node installing a snapshot
 * of a million jobs (~3.5 s in one call) keeps answering between steps. The
 * state is returned at the end; nothing is visible before.
 */
export function* restoreSteps(
  bytes: Uint8Array,
  options: RestoreOptions = {},
): Generator<void, JobQueueState, void> {
  if (bytes.length < SNAPSHOT_MAGIC.length + 1 + 4)
    throw new SnapshotError(`snapshot is only ${bytes.length} bytes`);
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) {
    if (bytes[i] !== SNAPSHOT_MAGIC[i]) throw new SnapshotError("not a job queue snapshot (bad magic)");
  }
  const bodyLength = bytes.length - 4;
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bodyLength, 4).getUint32(0, true);
  const actual = crc32(bytes.subarray(0, bodyLength));
  if (stored !== actual) {
    throw new SnapshotError(`snapshot checksum mismatch: stored ${hex(stored)}, computed ${hex(actual)}`);
  }
  const version = bytes[SNAPSHOT_MAGIC.length]!;
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotError(
      `unsupported snapshot format version ${version} (this node reads ${SNAPSHOT_FORMAT_VERSION})`,
    );
  }
  try {
    const body = new ByteReader(bytes.subarray(SNAPSHOT_MAGIC.length + 1, bodyLength));
    const state = yield* readBody(body, options.stepJobs ?? RESTORE_STEP_JOBS);
    if (options.verify !== false) state.checkInvariants();
    return state;
  } catch (error) {
    if (error instanceof CodecError) throw new SnapshotError(`corrupt snapshot: ${error.message}`);
    throw error;
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, "0");
}

function* readBody(r: ByteReader, stepJobs: number): Generator<void, JobQueueState, void> {
  const limitCount = r.uint();
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (let i = 0; i < limitCount; i++) {
    const name = r.string();
    if (!(name in DEFAULT_LIMITS)) throw new SnapshotError(`snapshot has an unknown limit ${name}`);
    limits[name] = r.f64();
  }
  const state = new JobQueueState(Object.freeze(limits) as unknown as JobLimits);
  state.lastAppliedIndex = r.uint();
  state.nextJobId = r.uint();
  state.nextToken = r.uint();
  state.nextReadySeq = r.uint();

  const queues: QueueRecord[] = [];
  const queueCount = r.uint();
  for (let i = 0; i < queueCount; i++) {
    const name = r.string();
    const queue = state.queueFor(name, true);
    if (queue === undefined || queue.jobCount !== 0 || queues.includes(queue)) {
      throw new SnapshotError(`snapshot queue ${name} is repeated or over the limit`);
    }
    queues.push(queue);
  }
  const queueAt = (position: number): QueueRecord => {
    const queue = queues[position];
    if (queue === undefined)
      throw new SnapshotError(`snapshot refers to queue #${position} of ${queues.length}`);
    return queue;
  };

  const workers: WorkerRecord[] = [];
  const workerCount = r.uint();
  for (let i = 0; i < workerCount; i++) {
    const id = r.string();
    const served: QueueRecord[] = [];
    const servedCount = r.uint();
    for (let q = 0; q < servedCount; q++) served.push(queueAt(r.uint()));
    const worker = new WorkerRecord(id, served, r.uint(), r.uint());
    if (state.workerRecords.has(id)) throw new SnapshotError(`snapshot repeats worker ${id}`);
    state.workerRecords.set(id, worker);
    for (const queue of served) queue.workers.add(worker);
    workers.push(worker);
  }

  let done = 0;
  /** True every stepJobs calls: time to yield. */
  const stepDue = (): boolean => ++done % stepJobs === 0;
  const jobCount = r.uint();
  for (let i = 0; i < jobCount; i++) {
    if (stepDue()) yield;
    const job = readJob(r, state, queueAt);
    if (job.id <= state.jobs.highestId) {
      throw new SnapshotError(
        `snapshot lists job ${job.id} after job ${state.jobs.highestId}: ids must ascend`,
      );
    }
    state.addJob(job);
  }

  const jobAt = (id: number): JobRecord => {
    const job = state.jobs.get(id);
    if (job === undefined) throw new SnapshotError(`snapshot index refers to unknown job ${id}`);
    return job;
  };
  function* readIds(): Generator<void, JobRecord[], void> {
    const count = r.uint();
    if (count > state.jobs.size) throw new SnapshotError(`snapshot index of ${count} jobs is too long`);
    const out: JobRecord[] = [];
    for (let i = 0; i < count; i++) {
      if (stepDue()) yield;
      out.push(jobAt(r.uint()));
    }
    return out;
  }
  const restoreIndex = (heap: JobHeap, jobs: JobRecord[]): void => {
    try {
      heap.restoreFrom(jobs);
    } catch (error) {
      throw new SnapshotError(`snapshot index is inconsistent: ${(error as Error).message}`);
    }
  };
  for (const queue of queues) {
    for (const job of yield* readIds()) {
      if (job.state !== JobState.Pending || job.queue !== queue) {
        throw new SnapshotError(`snapshot lists job ${job.id} in queue ${queue.name}'s ready line wrongly`);
      }
      try {
        queue.ready.push(job);
      } catch (error) {
        throw new SnapshotError(`snapshot ready line is inconsistent: ${(error as Error).message}`);
      }
    }
  }
  restoreIndex(state.scheduled, yield* readIds());
  restoreIndex(state.leases, yield* readIds());
  restoreIndex(state.finished, yield* readIds());
  for (const worker of workers) {
    for (const job of yield* readIds()) worker.running.add(job);
  }
  for (const job of state.jobs.values()) {
    if (stepDue()) yield;
    const indexed = job.state === JobState.Pending ? job.queue.ready.size > 0 : job.heapIndex !== -1;
    if (!indexed) throw new SnapshotError(`snapshot job ${job.id} is in no index`);
    state.countsByState[job.state]!++;
    job.queue.countsByState[job.state]!++;
  }

  const keyCount = r.uint();
  for (let i = 0; i < keyCount; i++) {
    if (stepDue()) yield;
    const key = r.string();
    state.idempotencyKeys.set(key, { jobId: r.uint(), expiresAtMs: r.uint() });
  }
  r.expectEnd("snapshot");
  return state;
}

function readJob(r: ByteReader, state: JobQueueState, queueAt: (position: number) => QueueRecord): JobRecord {
  const id = r.uint();
  const flags = r.u8();
  const jobState = r.u8();
  if (jobState >= JOB_STATE_COUNT)
    throw new SnapshotError(`snapshot job ${id} has unknown state ${jobState}`);
  const queue = queueAt(r.uint());
  const type = state.internType(r.string());
  const payload = r.bytes();
  const priority = r.int();
  const runAtMs = r.uint();
  const submittedAtMs = r.uint();
  const attempts = r.uint();
  const token = r.uint();
  const leaseDeadlineMs = r.uint();
  const finishedAtMs = r.uint();
  const readySeq = r.uint();
  let options = state.defaultOptions;
  if (flags & JobFlag.customOptions) {
    options = state.internOptions({
      maxAttempts: r.uint(),
      leaseMs: r.uint(),
      backoffInitialMs: r.uint(),
      backoffMaxMs: r.uint(),
      backoffMultiplier: r.f64(),
    });
  }
  const idempotencyKey = flags & JobFlag.idempotencyKey ? r.string() : null;
  const slot = state.copyPayload(payload);
  const job = new JobRecord(
    id,
    queue,
    type,
    slot.chunk,
    slot.offset,
    payload.length,
    priority,
    options,
    runAtMs,
    idempotencyKey,
    submittedAtMs,
  );
  job.state = jobState as JobState;
  job.attempts = attempts;
  job.token = token;
  job.leaseDeadlineMs = leaseDeadlineMs;
  job.finishedAtMs = finishedAtMs;
  job.workerId = flags & JobFlag.workerId ? r.string() : null;
  job.lastError = flags & JobFlag.lastError ? r.string() : null;
  job.result = flags & JobFlag.result ? r.bytes().slice() : null;
  job.readySeq = readySeq;
  job.heapKey =
    jobState === JobState.Pending
      ? 0
      : jobState === JobState.Scheduled
        ? runAtMs
        : jobState === JobState.Running
          ? leaseDeadlineMs
          : finishedAtMs;
  assert(job.heapIndex === -1, "fresh job record already indexed");
  return job;
}

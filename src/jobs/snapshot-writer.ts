/**
 * Writes a snapshot in two parts so the state can go on changing while most of
 * it is written (see snapshot.ts for the format).
 *
 * freezeSteps() runs while the state stands still (the caller holds apply for
 * its steps): it writes the small sections (limits, counters, queues,
 * workers) and copies what may still change into flat
 * arrays: each job's mutable fields, the order of every index, the
 * idempotency table. Everything else a job holds (id, type, payload, queue,
 * options, priority, key, submit time) never changes after submit, so a
 * reference to the record is enough. encode() then writes the jobs, the
 * indexes and the keys from that copy, in steps, while apply goes on.
 *
 * Why: a million jobs take seconds to encode on a loaded node, and while the
 * state had to stay still for that long a leader answered no client. The copy
 * takes 0.2-0.3 s per million jobs once its arrays are warm (~0.7 s with fresh
 * ones: bench/jobs-snapshot.ts), so a node keeps one SnapshotScratch.
 */
import { assert } from "./assert.js";
import type { ByteWriter } from "./bytes.js";
import { ReadyCursor } from "./ready-queue.js";
import type { IdempotencyEntry, JobOptions, JobRecord, QueueRecord } from "./records.js";
import type { JobQueueState } from "./state.js";
import { LIMIT_NAMES } from "./limits.js";

export const SNAPSHOT_MAGIC = [0x52, 0x51, 0x4a, 0x53]; // "RQJS"
export const SNAPSHOT_FORMAT_VERSION = 1;

export const JobFlag = {
  customOptions: 1,
  idempotencyKey: 2,
  workerId: 4,
  lastError: 8,
  result: 16,
} as const;

/** Per-job numbers copied at freeze time, in this order (stride NUMS_PER_JOB). */
const RUN_AT = 0;
const TOKEN = 1;
const LEASE_DEADLINE = 2;
const FINISHED_AT = 3;
const READY_SEQ = 4;
const NUMS_PER_JOB = 5;

/** A job's mutable references, kept only for jobs that have any (pending jobs have none). */
interface JobRefs {
  readonly workerId: string | null;
  readonly lastError: string | null;
  readonly result: Uint8Array | null;
}

/**
 * The arrays a freeze copies into, reused from one snapshot to the next: on a
 * VM, first touches of fresh memory cost ~3 ms per MB, which for a million
 * jobs (~50 MB of copies) would be a pause of its own. One snapshot at a time
 * per scratch; a second freeze invalidates the first (its encode() throws).
 */
export class SnapshotScratch {
  jobs: (JobRecord | undefined)[] = [];
  /**
   * A job's mutable references at freeze time, by the job's position (undefined when it has
   * none). An array, not a Map keyed by position: a Map of finished jobs rehashed whole each
   * time it doubled, 12-26 ms at 64k entries, in one step.
   */
  refs: (JobRefs | undefined)[] = [];
  states = new Uint8Array(0);
  attempts = new Uint32Array(0);
  nums = new Float64Array(0);
  ids = new Float64Array(0);
  /** Bumped by every freeze; an encode that finds it moved was overtaken. */
  epoch = 0;

  reserve(jobCount: number, idCount: number): void {
    if (this.states.length < jobCount) {
      const capacity = Math.ceil(jobCount * 1.25) + 64;
      this.states = new Uint8Array(capacity);
      this.attempts = new Uint32Array(capacity);
      this.nums = new Float64Array(capacity * NUMS_PER_JOB);
    }
    if (this.ids.length < idCount) this.ids = new Float64Array(Math.ceil(idCount * 1.25) + 64);
  }
}

/** What freeze() copied: enough to write the rest with the state changed or gone. */
export interface FrozenState {
  /** At least the bytes encode() writes (the output can be sized once, never grown). */
  readonly boundBytes: number;
  readonly scratch: SnapshotScratch;
  readonly epoch: number;
  readonly jobCount: number;
  readonly queuePosition: ReadonlyMap<QueueRecord, number>;
  readonly defaultOptions: JobOptions;
  /** Lengths of the index lists held back to back in scratch.ids. */
  readonly listLengths: readonly number[];
  readonly keys: readonly string[];
  readonly keyEntries: readonly IdempotencyEntry[];
}

/**
 * Jobs (or index entries) copied between yields of freezeSteps. The caller slices by time
 * (several steps per slice), so a step only has to be short: 2,000 finished jobs (each with
 * its worker and result to keep) take ~1.7 ms with warm arrays and up to ~5 ms cold, pending
 * ones a tenth of that. At 20,000 a step took 17-51 ms alone, and on a node sharing its cores
 * 100-250 ms: the event loop stalled at every snapshot (`npx tsx bench/jobs-snapshot-steps.ts`).
 */
const FREEZE_STEP_JOBS = 2_000;

/** Upper bound of one job record's bytes besides its strings and byte fields (varints at their widest). */
const JOB_RECORD_FIXED_BYTES = 160;
/** Upper bound of a varint length prefix plus UTF-8 bytes of a string of `chars` UTF-16 units. */
const stringBytesAtMost = (chars: number): number => 5 + 3 * chars;

/**
 * Writes the small sections into `w` and copies the rest, yielding every
 * FREEZE_STEP_JOBS jobs (the caller applies nothing until it returns: it
 * checks and throws if the state changed). Returns the copy and an upper
 * bound of the bytes encode() will write, so the output can be sized once.
 */
export function* freezeSteps(
  state: JobQueueState,
  w: ByteWriter,
  scratch: SnapshotScratch,
): Generator<void, FrozenState, void> {
  const version = state.version;
  const pause = function* (): Generator<void, void, void> {
    yield;
    assert(state.version === version, () => "the job state changed while a snapshot copied it");
  };
  for (const byte of SNAPSHOT_MAGIC) w.u8(byte);
  w.u8(SNAPSHOT_FORMAT_VERSION);
  w.uint(LIMIT_NAMES.length);
  for (const name of LIMIT_NAMES) {
    w.string(name);
    w.f64(state.limits[name]);
  }
  w.uint(state.lastAppliedIndex);
  w.uint(state.nextJobId);
  w.uint(state.nextToken);
  w.uint(state.nextReadySeq);

  const queuePosition = new Map<QueueRecord, number>();
  w.uint(state.queueRecords.size);
  for (const queue of state.queueRecords.values()) {
    queuePosition.set(queue, queuePosition.size);
    w.string(queue.name);
  }
  w.uint(state.workerRecords.size);
  let runningCount = 0;
  for (const worker of state.workerRecords.values()) {
    w.string(worker.id);
    w.uint(worker.queues.length);
    for (const queue of worker.queues) w.uint(queuePosition.get(queue)!);
    w.uint(worker.concurrency);
    w.uint(worker.registeredAtMs);
    runningCount += worker.running.size;
  }

  let idCount = state.scheduled.size + state.leases.size + state.finished.size + runningCount;
  for (const queue of state.queueRecords.values()) idCount += queue.ready.size;
  const jobCount = state.jobs.size;
  scratch.reserve(jobCount, idCount);
  const epoch = ++scratch.epoch;
  const { jobs, refs, states, attempts, nums, ids } = scratch;

  let boundBytes = 16 + 9 * idCount + 5 * (state.queueRecords.size + state.workerRecords.size + 3);
  let i = 0;
  for (const job of state.jobs.values()) {
    jobs[i] = job;
    states[i] = job.state;
    attempts[i] = job.attempts;
    const at = i * NUMS_PER_JOB;
    nums[at + RUN_AT] = job.runAtMs;
    nums[at + TOKEN] = job.token;
    nums[at + LEASE_DEADLINE] = job.leaseDeadlineMs;
    nums[at + FINISHED_AT] = job.finishedAtMs;
    nums[at + READY_SEQ] = job.readySeq;
    boundBytes += JOB_RECORD_FIXED_BYTES + stringBytesAtMost(job.type.length) + job.payloadLength;
    if (job.idempotencyKey !== null) boundBytes += stringBytesAtMost(job.idempotencyKey.length);
    if (job.workerId === null && job.lastError === null && job.result === null) refs[i] = undefined;
    else {
      refs[i] = { workerId: job.workerId, lastError: job.lastError, result: job.result };
      boundBytes += stringBytesAtMost((job.workerId?.length ?? 0) + (job.lastError?.length ?? 0));
      boundBytes += 5 + (job.result?.length ?? 0);
    }
    i++;
    if (i % FREEZE_STEP_JOBS === 0) yield* pause();
  }

  const listLengths: number[] = [];
  let n = 0;
  const copyIds = function* (records: Iterable<JobRecord>): Generator<void, void, void> {
    const start = n;
    for (const job of records) {
      ids[n++] = job.id;
      if (n % FREEZE_STEP_JOBS === 0) yield* pause();
    }
    listLengths.push(n - start);
  };
  for (const queue of state.queueRecords.values()) {
    // The cursor walks the ready line in pick order without a generator per job.
    const start = n;
    const cursor = new ReadyCursor(queue.ready);
    for (let job = cursor.head(); job !== undefined; job = cursor.head()) {
      ids[n++] = job.id;
      cursor.advance();
      if (n % FREEZE_STEP_JOBS === 0) yield* pause();
    }
    listLengths.push(n - start);
  }
  yield* copyIds(state.scheduled.items);
  yield* copyIds(state.leases.items);
  yield* copyIds(state.finished.items);
  for (const worker of state.workerRecords.values()) yield* copyIds(worker.running);
  assert(n === idCount, () => `snapshot copied ${n} index entries, expected ${idCount}`);

  const keys = [...state.idempotencyKeys.keys()];
  for (const key of keys) boundBytes += stringBytesAtMost(key.length) + 16;
  w.uint(jobCount);
  return {
    boundBytes,
    scratch,
    epoch,
    jobCount,
    queuePosition,
    defaultOptions: state.defaultOptions,
    listLengths,
    keys,
    keyEntries: [...state.idempotencyKeys.values()],
  };
}

/** freezeSteps run to the end at once (for callers that hold the state still anyway). */
export function freeze(state: JobQueueState, w: ByteWriter, scratch: SnapshotScratch): FrozenState {
  const steps = freezeSteps(state, w, scratch);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Writes the jobs, the indexes and the keys from a frozen copy, yielding
 * (between records) whenever stepBytes more are in the writer than after the
 * last yield; the caller may empty the writer at a yield.
 */
export function* encode(f: FrozenState, w: ByteWriter, stepBytes: number): Generator<void, void, void> {
  const s = f.scratch;
  let mark = 0; // the sections freeze() wrote count towards the first step
  const step = function* (): Generator<void, void, void> {
    if (w.length - mark < stepBytes) return;
    yield;
    assert(
      s.epoch === f.epoch,
      () => "snapshot scratch was reused by another snapshot before this one finished",
    );
    mark = w.length;
  };
  try {
    for (let i = 0; i < f.jobCount; i++) {
      writeJob(w, f, i);
      yield* step();
    }
    let at = 0;
    for (const length of f.listLengths) {
      w.uint(length);
      for (const end = at + length; at < end; at++) {
        w.uint(s.ids[at]!);
        yield* step();
      }
    }
    w.uint(f.keys.length);
    for (let k = 0; k < f.keys.length; k++) {
      const entry = f.keyEntries[k]!;
      w.string(f.keys[k]!);
      w.uint(entry.jobId);
      w.uint(entry.expiresAtMs);
      yield* step();
    }
  } finally {
    // Let go of the records (jobs deleted since must not live on in the scratch).
    if (s.epoch === f.epoch) {
      s.jobs.fill(undefined, 0, f.jobCount);
      s.refs.fill(undefined, 0, f.jobCount);
    }
  }
}

function writeJob(w: ByteWriter, f: FrozenState, i: number): void {
  const s = f.scratch;
  const job = s.jobs[i]!;
  const refs = s.refs[i];
  const at = i * NUMS_PER_JOB;
  let flags = 0;
  if (job.options !== f.defaultOptions) flags |= JobFlag.customOptions;
  if (job.idempotencyKey !== null) flags |= JobFlag.idempotencyKey;
  if (refs !== undefined) {
    if (refs.workerId !== null) flags |= JobFlag.workerId;
    if (refs.lastError !== null) flags |= JobFlag.lastError;
    if (refs.result !== null) flags |= JobFlag.result;
  }
  w.uint(job.id);
  w.u8(flags);
  w.u8(s.states[i]!);
  w.uint(f.queuePosition.get(job.queue)!);
  w.string(job.type);
  w.bytes(job.payload());
  w.int(job.priority);
  w.uint(s.nums[at + RUN_AT]!);
  w.uint(job.submittedAtMs);
  w.uint(s.attempts[i]!);
  w.uint(s.nums[at + TOKEN]!);
  w.uint(s.nums[at + LEASE_DEADLINE]!);
  w.uint(s.nums[at + FINISHED_AT]!);
  w.uint(s.nums[at + READY_SEQ]!);
  if (flags & JobFlag.customOptions) {
    const o = job.options;
    w.uint(o.maxAttempts);
    w.uint(o.leaseMs);
    w.uint(o.backoffInitialMs);
    w.uint(o.backoffMaxMs);
    w.f64(o.backoffMultiplier);
  }
  if (job.idempotencyKey !== null) w.string(job.idempotencyKey);
  if (refs?.workerId != null) w.string(refs.workerId);
  if (refs?.lastError != null) w.string(refs.lastError);
  if (refs?.result != null) w.bytes(refs.result);
}

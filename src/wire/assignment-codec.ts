/**
 * The server's encoder for StreamAssignments' messages (AssignmentEvent): one
 * message per job assigned (or one per applied entry's worth of them, for a
 * stream that asked for batches), on every node that streams to workers, so
 * proto-loader's generic path (fromObject, then encode of a Job with 18
 * fields) was ~6% of a follower's CPU in the end-to-end benchmark. Takes the
 * objects the service builds (proto-loader's shape: camelCase, numbers for
 * 64-bit integers, the job state as its enum name) and gives the same protobuf
 * bytes a decoder reads back as those values; test/api/assignment-codec.test.ts
 * checks that against proto-loader's decoder on random events.
 */
import { loadRaftqProto } from "./proto.js";
import { measure, ProtoWriter, utf8Length } from "./protobuf-writer.js";
import type { WireJob } from "./raftq-v1.js";

export interface WireAssignment {
  readonly job: WireJob;
  readonly token: number;
  readonly attempt: number;
  readonly leaseDeadlineMs: number;
}

export interface WireRevocation {
  readonly jobId: string;
  readonly token: number;
  readonly reason: string;
}

/** One event, or (streams that asked for max_events_per_message > 1) several in order. */
export type WireAssignmentEvent =
  | { readonly assigned: WireAssignment }
  | { readonly revoked: WireRevocation }
  | { readonly batch: { readonly events: readonly WireSingleEvent[] } };

export type WireSingleEvent = { readonly assigned: WireAssignment } | { readonly revoked: WireRevocation };

let stateNumbers: Map<string, number> | null = null;

/** raftq.v1.JobState's numbers by name, from the loaded proto (one source of truth). */
function stateNumber(name: string): number {
  if (stateNumbers === null) {
    const enumType = loadRaftqProto().definition["raftq.v1.JobState"] as unknown as {
      type: { value: { name: string; number: number }[] };
    };
    stateNumbers = new Map(enumType.type.value.map((v) => [v.name, v.number]));
  }
  const n = stateNumbers.get(name);
  if (n === undefined) throw new Error(`protobuf: ${JSON.stringify(name)} is not a raftq.v1.JobState`);
  return n;
}

/** UTF-8 lengths of a job's strings, measured once for both passes. */
interface JobStrings {
  readonly id: number;
  readonly queue: number;
  readonly type: number;
  readonly idempotencyKey: number;
  readonly workerId: number;
  readonly lastError: number;
}

function jobBytes(j: WireJob, s: JobStrings): number {
  return (
    measure.string(1, s.id) +
    measure.string(2, s.queue) +
    measure.string(3, s.type) +
    measure.bytes(4, j.payload) +
    measure.int32(5, j.priority) +
    measure.uint(6, j.maxAttempts) +
    measure.uint(7, j.leaseMs) +
    measure.uint(8, j.runAtMs) +
    measure.string(9, s.idempotencyKey) +
    measure.uint(10, j.submittedAtMs) +
    measure.uint(11, j.attempts) +
    measure.uint(12, stateNumber(j.state)) +
    measure.string(13, s.workerId) +
    measure.uint(14, j.token) +
    measure.uint(15, j.leaseDeadlineMs) +
    measure.string(16, s.lastError) +
    measure.bytes(17, j.result) +
    measure.uint(18, j.finishedAtMs)
  );
}

function writeJob(w: ProtoWriter, j: WireJob, s: JobStrings): void {
  w.string(1, j.id, s.id);
  w.string(2, j.queue, s.queue);
  w.string(3, j.type, s.type);
  w.bytes(4, j.payload);
  w.int32(5, j.priority);
  w.uint(6, j.maxAttempts);
  w.uint(7, j.leaseMs);
  w.uint(8, j.runAtMs);
  w.string(9, j.idempotencyKey, s.idempotencyKey);
  w.uint(10, j.submittedAtMs);
  w.uint(11, j.attempts);
  w.uint(12, stateNumber(j.state));
  w.string(13, j.workerId, s.workerId);
  w.uint(14, j.token);
  w.uint(15, j.leaseDeadlineMs);
  w.string(16, j.lastError, s.lastError);
  w.bytes(17, j.result);
  w.uint(18, j.finishedAtMs);
}

function encodeAssigned(a: WireAssignment): Buffer {
  const j = a.job;
  const s: JobStrings = {
    id: utf8Length(j.id),
    queue: utf8Length(j.queue),
    type: utf8Length(j.type),
    idempotencyKey: utf8Length(j.idempotencyKey),
    workerId: utf8Length(j.workerId),
    lastError: utf8Length(j.lastError),
  };
  const job = jobBytes(j, s);
  const assignment =
    measure.message(1, job) +
    measure.uint(2, a.token) +
    measure.uint(3, a.attempt) +
    measure.uint(4, a.leaseDeadlineMs);
  const w = new ProtoWriter(Buffer.allocUnsafe(measure.message(1, assignment)));
  w.message(1, assignment); // AssignmentEvent.assigned
  w.message(1, job); // Assignment.job
  writeJob(w, j, s);
  w.uint(2, a.token);
  w.uint(3, a.attempt);
  w.uint(4, a.leaseDeadlineMs);
  return w.done("AssignmentEvent");
}

function encodeRevoked(r: WireRevocation): Buffer {
  const id = utf8Length(r.jobId);
  const reason = utf8Length(r.reason);
  const body = measure.string(1, id) + measure.uint(2, r.token) + measure.string(3, reason);
  const w = new ProtoWriter(Buffer.allocUnsafe(measure.message(2, body)));
  w.message(2, body); // AssignmentEvent.revoked
  w.string(1, r.jobId, id);
  w.uint(2, r.token);
  w.string(3, r.reason, reason);
  return w.done("AssignmentEvent");
}

function encodeSingle(ev: WireSingleEvent): Buffer {
  return "assigned" in ev ? encodeAssigned(ev.assigned) : encodeRevoked(ev.revoked);
}

/**
 * AssignmentEvent.batch: each event is encoded as on its own and laid out as
 * AssignmentBatch.events. An embedded message is written exactly as a bytes
 * field holding its encoding (never empty here: an event always has a field).
 */
function encodeBatch(events: readonly WireSingleEvent[]): Buffer {
  const parts = events.map(encodeSingle);
  let inner = 0;
  for (const p of parts) inner += measure.bytes(1, p);
  const w = new ProtoWriter(Buffer.allocUnsafe(measure.message(3, inner)));
  w.message(3, inner); // AssignmentEvent.batch
  for (const p of parts) w.bytes(1, p); // AssignmentBatch.events
  return w.done("AssignmentEvent");
}

export function encodeAssignmentEvent(ev: WireAssignmentEvent): Buffer {
  return "batch" in ev ? encodeBatch(ev.batch.events) : encodeSingle(ev);
}

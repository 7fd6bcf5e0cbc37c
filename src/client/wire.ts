/**
 * The wire shapes proto-loader produces for raftq.v1 (camelCase, numbers for
 * 64-bit integers, enum names as strings) and their conversion to the SDK's
 * public types.
 */
import type {
  WireJob,
  WireJobSpec,
  WireMember,
  WireStatusUpdate,
  WireUpdateResult,
} from "../wire/raftq-v1.js";
import type { ClusterStatus, Job, JobInput, JobState, Member, MemberRole, QueueCounts } from "./types.js";

export type { WireJob, WireJobSpec, WireMember, WireStatusUpdate, WireUpdateResult };

export interface WireClusterStatus {
  clusterId: string;
  leaderId: string;
  term: number;
  commitIndex: number;
  members: WireMember[];
  queues: Partial<QueueCounts>[];
  liveWorkers: number;
  registeredWorkers: number;
  answeredBy: string;
}

export interface WireAssignment {
  job: WireJob | null;
  token: number;
  attempt: number;
  leaseDeadlineMs: number;
}

export interface WireRevocation {
  jobId: string;
  token: number;
  reason: string;
}

export interface WireAssignmentEvent {
  event?: "assigned" | "revoked" | "batch";
  assigned?: WireAssignment | null;
  revoked?: WireRevocation | null;
  /** Several events in order (never nested), when the stream asked for max_events_per_message > 1. */
  batch?: { events: WireAssignmentEvent[] } | null;
}

export function toBuffer(data: Uint8Array | string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  if (typeof data === "string") return Buffer.from(data, "utf8");
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function specToWire(input: JobInput, idempotencyKey: string): WireJobSpec {
  const runAt = input.runAt instanceof Date ? input.runAt.getTime() : (input.runAt ?? 0);
  return {
    queue: input.queue,
    type: input.type,
    payload: toBuffer(input.payload),
    priority: input.priority ?? 0,
    maxAttempts: input.maxAttempts ?? 0,
    leaseMs: input.leaseMs ?? 0,
    runAtMs: runAt,
    idempotencyKey,
    backoffInitialMs: input.backoff?.initialMs ?? 0,
    backoffMaxMs: input.backoff?.maxMs ?? 0,
    backoffMultiplier: input.backoff?.multiplier ?? 0,
  };
}

export function stateToWire(state: JobState): string {
  return `JOB_STATE_${state.toUpperCase()}`;
}

export function stateFromWire(state: string): JobState {
  const s = state.replace(/^JOB_STATE_/, "").toLowerCase();
  return (
    (["pending", "scheduled", "running", "completed", "failed", "cancelled"] as const).find((x) => x === s) ??
    "pending"
  );
}

export function roleFromWire(role: string): MemberRole {
  const r = role.replace(/^MEMBER_ROLE_/, "").toLowerCase();
  return (["leader", "follower", "candidate", "learner"] as const).find((x) => x === r) ?? "unknown";
}

const emptyBuffer = (): Buffer => Buffer.alloc(0);

export function jobFromWire(w: WireJob): Job {
  return {
    id: w.id,
    queue: w.queue,
    type: w.type,
    payload: w.payload ?? emptyBuffer(),
    priority: w.priority ?? 0,
    maxAttempts: w.maxAttempts ?? 0,
    leaseMs: w.leaseMs ?? 0,
    runAtMs: w.runAtMs ?? 0,
    idempotencyKey: w.idempotencyKey ?? "",
    submittedAtMs: w.submittedAtMs ?? 0,
    attempts: w.attempts ?? 0,
    state: stateFromWire(w.state ?? ""),
    workerId: w.workerId ?? "",
    token: w.token ?? 0,
    leaseDeadlineMs: w.leaseDeadlineMs ?? 0,
    lastError: w.lastError ?? "",
    result: w.result ?? emptyBuffer(),
    finishedAtMs: w.finishedAtMs ?? 0,
  };
}

export function memberFromWire(m: WireMember): Member {
  return { ...m, role: roleFromWire(m.role) };
}

export function statusFromWire(s: WireClusterStatus): ClusterStatus {
  return {
    clusterId: s.clusterId,
    leaderId: s.leaderId,
    term: s.term,
    commitIndex: s.commitIndex,
    members: (s.members ?? []).map(memberFromWire),
    queues: (s.queues ?? []).map((q) => ({
      queue: q.queue ?? "",
      pending: q.pending ?? 0,
      scheduled: q.scheduled ?? 0,
      running: q.running ?? 0,
      completed: q.completed ?? 0,
      failed: q.failed ?? 0,
      cancelled: q.cancelled ?? 0,
    })),
    liveWorkers: s.liveWorkers,
    registeredWorkers: s.registeredWorkers,
    answeredBy: s.answeredBy,
  };
}

/**
 * Typed errors of the SDK. Every failed call rejects with a {@link RaftqError}
 * carrying the gRPC status code name, the server's stable reason (e.g.
 * STALE_TOKEN, NOT_LEADER, PROPOSAL_QUEUE_FULL) and, when the server knows it,
 * the current leader's id.
 */
import * as grpc from "@grpc/grpc-js";

/** gRPC status code names, as the SDK reports them. */
export type RaftqErrorCode =
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

/** Metadata key naming the leader on UNAVAILABLE answers from a follower. */
export const LEADER_ID_METADATA = "raftq-leader-id";
/** Metadata key carrying a stable machine-readable reason. */
export const REASON_METADATA = "raftq-reason";

/** Details of a {@link RaftqError} besides its message. */
export interface RaftqErrorDetails {
  /** The server's stable reason (e.g. STALE_TOKEN), or null. */
  reason?: string | null;
  /** The leader's id when the server named it, or null. */
  leaderId?: string | null;
  /** host:port of the node that answered (or could not be reached), or null. */
  endpoint?: string | null;
  /** Attempts made before giving up (1 when no retry happened). */
  attempts?: number;
  cause?: unknown;
}

/** A failed raftq call. */
export class RaftqError extends Error {
  override readonly name = "RaftqError";
  readonly reason: string | null;
  readonly leaderId: string | null;
  readonly endpoint: string | null;
  readonly attempts: number;

  constructor(
    readonly code: RaftqErrorCode,
    message: string,
    details: RaftqErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = details.reason ?? null;
    this.leaderId = details.leaderId ?? null;
    this.endpoint = details.endpoint ?? null;
    this.attempts = details.attempts ?? 1;
  }

  /** The numeric gRPC status code. */
  get grpcCode(): grpc.status {
    return grpc.status[this.code];
  }

  /** A copy with the number of attempts set (the retry loop's final error). */
  withAttempts(attempts: number): RaftqError {
    return new RaftqError(this.code, this.message, {
      reason: this.reason,
      leaderId: this.leaderId,
      endpoint: this.endpoint,
      attempts,
      cause: this.cause,
    });
  }
}

/**
 * Thrown by a worker's handler to fail the job for good (dead letter), with
 * no further attempts. Any other error fails the attempt retryably.
 */
export class NonRetryableError extends Error {
  override readonly name = "NonRetryableError";
}

function isServiceError(e: unknown): e is grpc.ServiceError {
  return typeof e === "object" && e !== null && "code" in e && "metadata" in e && typeof e.code === "number";
}

function firstString(md: grpc.Metadata, key: string): string | null {
  const v = md.get(key)[0];
  if (v === undefined) return null;
  const s = typeof v === "string" ? v : v.toString("utf8");
  return s === "" ? null : s;
}

/** Turn whatever a gRPC call rejected with into a {@link RaftqError}. */
export function toRaftqError(e: unknown, endpoint: string | null): RaftqError {
  if (e instanceof RaftqError) return e;
  if (isServiceError(e)) {
    const code = (grpc.status[e.code] as RaftqErrorCode | undefined) ?? "UNKNOWN";
    return new RaftqError(code, e.details || e.message, {
      reason: firstString(e.metadata, REASON_METADATA),
      leaderId: firstString(e.metadata, LEADER_ID_METADATA),
      endpoint,
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new RaftqError("UNKNOWN", message, { endpoint, cause: e });
}

import type { ProposeResult } from "../raft/index.js";

/**
 * Errors the node raises towards the API. Each carries the gRPC status code
 * name the API answers with, so the mapping lives in one place.
 */
export type StatusCodeName =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  | "DEADLINE_EXCEEDED"
  | "UNAVAILABLE"
  | "ALREADY_EXISTS"
  | "INTERNAL";

export class NodeError extends Error {
  override readonly name = "NodeError";
  constructor(
    readonly code: StatusCodeName,
    message: string,
    /** For UNAVAILABLE on a follower: who leads, if known (clients may go there). */
    readonly leaderId: string | null = null,
    /** A stable machine-readable reason (e.g. STALE_TOKEN), when there is one. */
    readonly reason: string | null = null,
  ) {
    super(message);
  }
}

export function notLeader(leaderId: string | null): NodeError {
  return new NodeError(
    "UNAVAILABLE",
    leaderId === null
      ? "no leader is known right now; retry shortly"
      : `not the leader; the leader is ${leaderId}`,
    leaderId,
    "NOT_LEADER",
  );
}

/** The leader holds as many client proposals as it may: the client backs off. */
export function proposalQueueFull(pending: number, limit: number): NodeError {
  return new NodeError(
    "RESOURCE_EXHAUSTED",
    `the leader holds ${pending} pending proposals (the limit is ${limit}); retry with backoff`,
    null,
    "PROPOSAL_QUEUE_FULL",
  );
}

/** What a batch of client proposals the Raft core refused answers. */
export function proposalRefused(res: Extract<ProposeResult, { ok: false }>): NodeError {
  if (res.reason === "tooManyUncommitted")
    return new NodeError(
      "RESOURCE_EXHAUSTED",
      `the leader is not committing: ${res.detail}`,
      null,
      "UNCOMMITTED_LIMIT",
    );
  if (res.reason === "diskBehind")
    return new NodeError(
      "RESOURCE_EXHAUSTED",
      `the leader's disk is behind its log (slow or stalled): ${res.detail}; retry with backoff`,
      null,
      "DISK_BEHIND",
    );
  if (res.reason === "notLeader") return notLeader(res.leader);
  return new NodeError("UNAVAILABLE", res.detail, res.leader, res.reason);
}

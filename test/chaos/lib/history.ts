/**
 * The history of a chaos run: every client and worker operation with its
 * invocation and completion time and outcome, plus what workers observed
 * (assignments, revocations) and the final state read from every node.
 *
 * outcome: "ok" (acknowledged), "fail" (definitely not applied: a definite
 * rejection such as INVALID_ARGUMENT or a stale token), "unknown" (may or
 * may not have been applied: timeouts, UNAVAILABLE, lost connections...).
 */
export type Outcome = "ok" | "fail" | "unknown";

export interface JobView {
  id: string;
  state: string;
  attempts: number;
  workerId: string;
  token: number;
  idempotencyKey: string;
  result: string;
}

export type Op =
  | {
      kind: "submit";
      process: string;
      key: string; // "" = no idempotency key
      node: string;
      invokeMs: number;
      completeMs: number;
      outcome: Outcome;
      jobId?: string;
      duplicate?: boolean;
      error?: string;
      /** The error's message (gRPC details), to tell apart answers with the same code. */
      detail?: string;
    }
  | {
      kind: "complete";
      process: string; // worker id
      jobId: string;
      token: number;
      result: string;
      node: string;
      invokeMs: number;
      completeMs: number;
      outcome: Outcome;
      duplicate?: boolean;
      error?: string;
      /** The error's message (gRPC details), to tell apart answers with the same code. */
      detail?: string;
    }
  | {
      kind: "cancel";
      process: string;
      jobId: string;
      node: string;
      invokeMs: number;
      completeMs: number;
      outcome: Outcome;
      cancelled?: boolean;
      error?: string;
      /** The error's message (gRPC details), to tell apart answers with the same code. */
      detail?: string;
    }
  | {
      kind: "read";
      process: string;
      jobId: string;
      node: string;
      invokeMs: number;
      completeMs: number;
      outcome: Outcome;
      job?: JobView;
      notFound?: boolean;
      error?: string;
      /** The error's message (gRPC details), to tell apart answers with the same code. */
      detail?: string;
    }
  | {
      kind: "assigned";
      process: string; // worker id
      jobId: string;
      token: number;
      attempt: number;
      node: string;
      atMs: number;
    }
  | {
      kind: "revoked";
      process: string;
      jobId: string;
      token: number;
      reason: string;
      node: string;
      atMs: number;
    }
  | { kind: "nemesis"; process: "nemesis"; what: string; atMs: number };

export interface FinalState {
  /** per node id: every job of the chaos queues as that node has applied it */
  nodes: Record<string, JobView[]>;
  /** the leader's commit index when the run ended, and each node's applied index when listed */
  commit?: number;
  applied?: Record<string, number>;
}

/** Codes after which the operation certainly did not take effect. */
const DEFINITE = new Set(["INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS"]);

export function outcomeOf(code: string): Outcome {
  return DEFINITE.has(code) ? "fail" : "unknown";
}

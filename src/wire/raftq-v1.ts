/**
 * Wire shapes of raftq.v1 messages as @grpc/proto-loader produces them
 * (camelCase fields, numbers for 64-bit integers, enum names as strings).
 * Shared by the server (src/api) and the SDK (src/client), which convert
 * them to their own types; types only, so the SDK pulls in no server code.
 */
export interface WireJobSpec {
  queue: string;
  type: string;
  payload: Buffer;
  priority: number;
  maxAttempts: number;
  leaseMs: number;
  runAtMs: number;
  idempotencyKey: string;
  backoffInitialMs: number;
  backoffMaxMs: number;
  backoffMultiplier: number;
}

export interface WireJob {
  id: string;
  queue: string;
  type: string;
  payload: Buffer;
  priority: number;
  maxAttempts: number;
  leaseMs: number;
  runAtMs: number;
  idempotencyKey: string;
  submittedAtMs: number;
  attempts: number;
  state: string;
  workerId: string;
  token: number;
  leaseDeadlineMs: number;
  lastError: string;
  result: Buffer;
  finishedAtMs: number;
}

export interface WireMember {
  id: string;
  address: string;
  role: string;
  voter: boolean;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  matchIndex: number;
  isAlive: boolean;
  lastContactMs: number;
}

/** JobStatusUpdate (UpdateJobStatus, BatchUpdateJobStatus). */
export interface WireStatusUpdate {
  jobId: string;
  workerId: string;
  token: number;
  /** Which of completed / failed is set (proto-loader's oneof name); decoders give it, senders may leave it out. */
  outcome?: "completed" | "failed";
  /** Oneof members are absent unless sent (proto-loader gives no default for them). */
  completed?: { result: Buffer };
  failed?: { error: string; retryable: boolean };
}

/** One answer of BatchUpdateJobStatus. */
export interface WireUpdateResult {
  jobId: string;
  ok: boolean;
  code: string;
  reason: string;
  message: string;
}

/**
 * The job queue state machine: the public surface for the node runtime and the API.
 * See docs/jobs.md for the model, the state diagram and every command's rejections.
 */
export { assert, InvariantError } from "./assert.js";
export { backoffMs, jitterFor, nominalBackoffMs } from "./backoff.js";
export type {
  Assignment,
  AssignJobs,
  BatchUpdateJobStatus,
  CancelJob,
  CompletedUpdate,
  DeregisterReason,
  DeregisterWorker,
  ExpireFinished,
  FailedUpdate,
  JobCommand,
  JobCommandKind,
  JobStatusUpdate,
  RegisterWorker,
  RequeueItem,
  RequeueJobs,
  RequeueReason,
  RetryJob,
  SubmitJob,
  SubmitJobBatch,
  SubmitJobSpec,
  UpdateJobStatus,
} from "./commands.js";
export { CodecError, decodeCommand, encodeCommand } from "./codec.js";
export { crc32 } from "./crc32.js";
export { formatJobId, parseJobId } from "./ids.js";
export {
  JOB_STATE_NAMES,
  JobState,
  jobStateName,
  parseJobStateName,
  type JobStateName,
} from "./job-state.js";
export { DEFAULT_LIMITS, makeLimits, type JobLimits } from "./limits.js";
export { DEFAULT_LIVENESS_WINDOW_MS, WorkerLiveness, type WorkerRegistry } from "./liveness.js";
export type {
  Accepted,
  ApplyResult,
  FinishedState,
  ItemOutcome,
  JobEvent,
  Rejected,
  RejectionCode,
  RejectionReason,
  RequeueCause,
} from "./results.js";
export { findExpiredLeases, pickAssignments, type ExpiredLease, type PickOptions } from "./scheduler.js";
export {
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  restore,
  restoreSteps,
  RESTORE_STEP_JOBS,
  serialize,
  serializeChunks,
  serializeSteps,
  type SerializeOptions,
  SnapshotError,
  stateHash,
  type RestoreOptions,
} from "./snapshot.js";
export { SnapshotScratch } from "./snapshot-writer.js";
export {
  JobQueueState,
  type JobPage,
  type JobQueueStats,
  type ListJobsQuery,
  type QueueCounts,
  type StateCounts,
} from "./state.js";
export {
  describeProblems,
  validateRegisterWorker,
  validateStatusUpdate,
  validateSubmit,
  type Problem,
} from "./validate.js";
export type { JobView, WorkerView } from "./views.js";

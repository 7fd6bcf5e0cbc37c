/** The raftq TypeScript SDK. */
export { RaftqClient, MAX_BATCH_JOBS, type RaftqClientOptions } from "./client.js";
export { Worker } from "./worker.js";
export type {
  CloseOptions,
  JobHandler,
  WorkerJob,
  WorkerLogger,
  WorkerOptions,
  WorkerStats,
} from "./worker.js";
export { RaftqError, NonRetryableError, LEADER_ID_METADATA, REASON_METADATA } from "./errors.js";
export type { RaftqErrorCode, RaftqErrorDetails } from "./errors.js";
export type { CallOptions, ConnectionOptions } from "./connections.js";
export type { BackoffOptions } from "./backoff.js";
export { backoffDelayMs } from "./backoff.js";
export type { ReporterOptions, ReportResult } from "./reporter.js";
export * from "./types.js";

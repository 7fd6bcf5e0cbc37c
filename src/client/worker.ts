/**
 * Worker: registers with its queues and concurrency, receives assignments on
 * the StreamAssignments stream (from any node; it moves to another when its
 * node goes away), runs an async handler per job up to its concurrency,
 * heartbeats, reports outcomes in batches, honours revocations through an
 * AbortSignal and shuts down gracefully.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { sleep, type BackoffOptions } from "./backoff.js";
import { RaftqClient } from "./client.js";
import type { ConnectionOptions, Connections } from "./connections.js";
import { NonRetryableError, RaftqError, toRaftqError } from "./errors.js";
import { AssignmentStream } from "./assignment-stream.js";
import { RecentKeys } from "./recent-keys.js";
import { Reporter, REPORT_FAILED, type ReporterOptions } from "./reporter.js";
import type { Job } from "./types.js";
import {
  jobFromWire,
  toBuffer,
  type WireAssignment,
  type WireAssignmentEvent,
  type WireStatusUpdate,
} from "./wire.js";

/** One job as a handler receives it. */
export interface WorkerJob {
  /** The job as the cluster stores it. */
  job: Job;
  id: string;
  queue: string;
  type: string;
  payload: Buffer;
  /** 1 for the first attempt. */
  attempt: number;
  /** The assignment token the outcome is reported with. */
  token: number;
  /** When the lease runs out (ms since the epoch); the job is taken back then. */
  leaseDeadlineMs: number;
  /** Aborts when the job is revoked (cancelled, lease lost) or the worker closes without draining. */
  signal: AbortSignal;
}

/**
 * Runs one job. What it returns (string as UTF-8, bytes, or nothing) is the
 * job's result. Throwing fails the attempt retryably; throwing a
 * {@link NonRetryableError} dead-letters the job at once.
 */
export type JobHandler = (job: WorkerJob) => Promise<Uint8Array | string | void> | Uint8Array | string | void;

/** A pino-compatible logger (pino instances fit). */
export interface WorkerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silentLogger: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Options of a {@link Worker}. */
export interface WorkerOptions extends Partial<ConnectionOptions> {
  /** A client whose connections the worker shares. Default: a client of its own over `endpoints`. */
  client?: RaftqClient;
  /** Queues to take jobs from: 1-64 names. Required. */
  queues: readonly string[];
  /** Jobs run at once, 1-10000. Default 1. */
  concurrency?: number;
  /** Runs each job. Required. */
  handler: JobHandler;
  /** Stable id of this worker. Default `<hostname>-<pid>-<8 random hex>`. */
  workerId?: string;
  /** Outcome batching. Defaults: { batchSize: 64, flushIntervalMs: 5, timeoutMs: 30000 }. */
  reports?: ReporterOptions;
  /** Assignments held locally beyond the concurrency at most (extra ones fail retryably). Default 1000. */
  maxQueuedJobs?: number;
  /** Spacing of stream reconnects. Default { initialMs: 100, maxMs: 2000, multiplier: 2 }. */
  reconnectBackoff?: BackoffOptions;
  /**
   * An assignment stream the node has not accepted (no response headers) within this long is
   * abandoned for another node, in ms. A node frozen while the worker connects (stopped,
   * partitioned) would otherwise hold it for grpc-js's connect timeout (20 s). Default 5000.
   */
  streamOpenTimeoutMs?: number;
  /**
   * Assignments the node may put in one stream message, 1-1000. Above 1 the jobs one Raft
   * entry assigns to this worker arrive in one message instead of one each, which saves CPU
   * on the node and here (nothing waits to fill a batch). Nodes that predate batching send
   * one per message either way. Default 1000.
   */
  maxEventsPerMessage?: number;
  /** Heartbeat interval used until RegisterWorker answers one, in ms. Default 1000. */
  defaultHeartbeatIntervalMs?: number;
  /** How long `close({ drain: true })` waits for running jobs before aborting them, in ms. Default 30000. */
  drainTimeoutMs?: number;
  /** Job keys (id + token) remembered as finished, so a resent assignment does not run twice. Default 10000. */
  rememberFinished?: number;
  /** Where the worker logs. Default: nowhere. */
  logger?: WorkerLogger;
}

/** How {@link Worker.close} treats running jobs. */
export interface CloseOptions {
  /** True: finish running jobs, then deregister. False: abort them and deregister (they are requeued). Default true. */
  drain?: boolean;
}

/** Counters of a worker's life. */
export interface WorkerStats {
  running: number;
  queued: number;
  completed: number;
  failed: number;
  /** Reports the cluster refused (stale token, job cancelled, ...) or that could not be delivered. */
  rejectedReports: number;
  /** Assignments ignored because the job was already running or finished here. */
  duplicateAssignments: number;
  revoked: number;
  reconnects: number;
  /** The node (host:port) whose assignment stream the worker is on, or null between streams. */
  streamAddress: string | null;
}

interface Running {
  token: number;
  controller: AbortController;
  /** Revoked or aborted at close: its outcome is not reported. */
  silenced: boolean;
  done: Promise<void>;
}

const keyOf = (jobId: string, token: number): string => `${jobId}:${token}`;

export class Worker {
  readonly workerId: string;
  private readonly client: RaftqClient;
  private readonly ownsClient: boolean;
  private readonly conn: Connections;
  private readonly reporter: Reporter;
  private readonly log: WorkerLogger;
  private readonly concurrency: number;
  private readonly queues: string[];
  private readonly running = new Map<string, Running>();
  /** Attempts replaced by a newer assignment of the same job, still winding down. */
  private readonly superseded = new Set<Promise<void>>();
  private readonly queued: WireAssignment[] = [];
  private readonly finished: RecentKeys;
  private readonly stop = new AbortController();
  private readonly stream: AssignmentStream;
  private streamLoop: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatIntervalMs: number;
  private draining = false;
  private started = false;
  private closing: Promise<void> | null = null;
  private readonly counters: Omit<WorkerStats, "running" | "queued" | "streamAddress"> = {
    completed: 0,
    failed: 0,
    rejectedReports: 0,
    duplicateAssignments: 0,
    revoked: 0,
    reconnects: 0,
  };

  constructor(private readonly options: WorkerOptions) {
    if (options.client === undefined && (options.endpoints === undefined || options.endpoints.length === 0)) {
      throw new RaftqError("INVALID_ARGUMENT", "worker: give a client or endpoints");
    }
    if (options.queues.length === 0)
      throw new RaftqError("INVALID_ARGUMENT", "worker: give at least one queue");
    this.concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 10_000) {
      throw new RaftqError("INVALID_ARGUMENT", `worker: concurrency ${this.concurrency} is not in 1-10000`);
    }
    const maxEventsPerMessage = options.maxEventsPerMessage ?? 1_000;
    if (!Number.isInteger(maxEventsPerMessage) || maxEventsPerMessage < 1 || maxEventsPerMessage > 1_000) {
      throw new RaftqError(
        "INVALID_ARGUMENT",
        `worker: maxEventsPerMessage ${maxEventsPerMessage} is not in 1-1000`,
      );
    }
    this.queues = [...options.queues];
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new RaftqClient({ ...options, endpoints: options.endpoints ?? [] });
    this.conn = this.client.connections;
    this.reporter = new Reporter(this.conn, options.reports);
    this.log = options.logger ?? silentLogger;
    this.finished = new RecentKeys(options.rememberFinished ?? 10_000);
    this.heartbeatIntervalMs = options.defaultHeartbeatIntervalMs ?? 1_000;
    this.stream = new AssignmentStream({
      conn: this.conn,
      workerId: this.workerId,
      maxEventsPerMessage,
      openTimeoutMs: options.streamOpenTimeoutMs ?? 5_000,
      reconnectBackoff: options.reconnectBackoff,
      signal: this.stop.signal,
      onEvent: (ev) => this.onEvent(ev),
      onReconnect: (address, error) => {
        this.counters.reconnects++;
        this.log.warn(
          { address, err: error?.message ?? "stream ended" },
          "assignment stream lost; reconnecting",
        );
      },
    });
  }

  /** Register, then start receiving jobs. Rejects when registration fails (e.g. INVALID_ARGUMENT). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.register();
    this.scheduleHeartbeat();
    this.streamLoop = this.stream.run();
  }

  /** Counters and current load. */
  stats(): WorkerStats {
    return {
      ...this.counters,
      running: this.running.size,
      queued: this.queued.length,
      streamAddress: this.stream.address,
    };
  }

  /**
   * Stop: with `drain` (default) running jobs finish and are reported first;
   * without, they are aborted and not reported. Then the worker deregisters,
   * so whatever it still holds is requeued at once. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const drain = options.drain ?? true;
    if (this.closing !== null) {
      // A second close without drain cuts a drain short.
      if (!drain) this.abortAll("worker closing");
      return this.closing;
    }
    this.closing = this.shutdown(drain);
    return this.closing;
  }

  private async shutdown(drain: boolean): Promise<void> {
    this.draining = true;
    this.queued.length = 0; // Deregistering hands these back.
    if (drain) {
      const drainTimeoutMs = this.options.drainTimeoutMs ?? 30_000;
      const all = Promise.all([...this.running.values()].map((r) => r.done));
      const timer = new AbortController();
      const timedOut = await Promise.race([
        all.then(() => false),
        sleep(drainTimeoutMs, timer.signal).then(
          () => true,
          () => false,
        ),
      ]);
      timer.abort(); // No timer may outlive close(): it would keep the process alive.
      if (timedOut) this.abortAll("drain timeout");
    } else {
      this.abortAll("worker closing");
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
    if (this.superseded.size > 0) {
      const timer = new AbortController();
      await Promise.race([
        Promise.all([...this.superseded]),
        sleep(1_000, timer.signal).catch(() => undefined),
      ]);
      timer.abort();
    }
    await this.reporter.flush();
    this.stop.abort();
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.stream.cancel();
    await this.streamLoop;
    if (this.started) {
      try {
        await this.conn.call(
          "WorkerService",
          "DeregisterWorker",
          { workerId: this.workerId },
          { target: "leader", idempotent: true },
          { timeoutMs: 5_000 },
        );
      } catch (e) {
        this.log.warn(
          { err: e, workerId: this.workerId },
          "deregister failed; the cluster will declare the worker lost",
        );
      }
    }
    if (this.ownsClient) this.client.close();
  }

  private abortAll(reason: string): void {
    for (const r of this.running.values()) {
      r.silenced = true;
      r.controller.abort(new Error(reason));
    }
  }

  private async register(): Promise<void> {
    const res = await this.conn.call<{ heartbeatIntervalMs: number; livenessWindowMs: number }>(
      "WorkerService",
      "RegisterWorker",
      { workerId: this.workerId, queues: this.queues, concurrency: this.concurrency },
      { target: "leader", idempotent: true },
    );
    if (res.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    this.log.info(
      { workerId: this.workerId, queues: this.queues, concurrency: this.concurrency },
      "worker registered",
    );
  }

  private scheduleHeartbeat(): void {
    if (this.stop.signal.aborted) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.heartbeatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    try {
      const res = await this.conn.call<{ registered: boolean }>(
        "WorkerService",
        "Heartbeat",
        { workerId: this.workerId },
        { target: "leader", idempotent: true },
        { timeoutMs: Math.max(500, this.heartbeatIntervalMs * 2), signal: this.stop.signal },
      );
      if (!res.registered && !this.stop.signal.aborted) {
        this.log.warn({ workerId: this.workerId }, "the cluster forgot this worker; registering again");
        await this.register();
      }
    } catch (e) {
      if (!this.stop.signal.aborted)
        this.log.warn({ err: toRaftqError(e, null).message }, "heartbeat failed");
    }
    this.scheduleHeartbeat();
  }

  private onEvent(ev: WireAssignmentEvent): void {
    if (ev.batch) for (const e of ev.batch.events) this.onEvent(e);
    else if (ev.assigned) this.onAssigned(ev.assigned);
    else if (ev.revoked) this.onRevoked(ev.revoked.jobId, ev.revoked.token, ev.revoked.reason);
  }

  private onAssigned(a: WireAssignment): void {
    const job = a.job;
    if (job === null || this.draining) return;
    const key = keyOf(job.id, a.token);
    const current = this.running.get(job.id);
    const isQueued = this.queued.some((q) => q.job?.id === job.id && q.token === a.token);
    if (this.finished.has(key) || isQueued || (current !== undefined && current.token >= a.token)) {
      // A resend on (re)connect of a job already running or finished here: never run it twice.
      this.counters.duplicateAssignments++;
      return;
    }
    if (current !== undefined) {
      // Assigned again with a newer token: the old attempt's outcome would be rejected anyway,
      // and the cluster counts the job once, so the new attempt takes the slot at once.
      current.silenced = true;
      current.controller.abort(new Error("superseded by a newer assignment"));
      this.running.delete(job.id);
      this.superseded.add(current.done);
      void current.done.finally(() => this.superseded.delete(current.done));
    }
    if (this.running.size < this.concurrency) {
      this.run(a);
      return;
    }
    if (this.queued.length >= (this.options.maxQueuedJobs ?? 1_000)) {
      this.log.warn({ jobId: job.id }, "local queue full; handing the job back");
      void this.reporter.report(
        this.failedUpdate(job.id, a.token, "worker overloaded: local queue full", true),
      );
      return;
    }
    this.queued.push(a);
  }

  private onRevoked(jobId: string, token: number, reason: string): void {
    const idx = this.queued.findIndex((q) => q.job?.id === jobId && (token === 0 || q.token === token));
    if (idx >= 0) this.queued.splice(idx, 1);
    const r = this.running.get(jobId);
    if (r !== undefined && (token === 0 || r.token === token)) {
      this.counters.revoked++;
      r.silenced = true;
      r.controller.abort(new Error(`revoked: ${reason}`));
    }
    this.finished.add(keyOf(jobId, token));
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queued.length > 0 && !this.draining) {
      this.run(this.queued.shift()!);
    }
  }

  private run(a: WireAssignment): void {
    const wire = a.job!;
    const controller = new AbortController();
    const entry: Running = { token: a.token, controller, silenced: false, done: Promise.resolve() };
    this.running.set(wire.id, entry);
    entry.done = this.execute(a, entry).finally(() => {
      if (this.running.get(wire.id) === entry) this.running.delete(wire.id);
      this.pump();
    });
  }

  private async execute(a: WireAssignment, entry: Running): Promise<void> {
    const job = jobFromWire(a.job!);
    const key = keyOf(job.id, a.token);
    let update: WireStatusUpdate;
    try {
      const out = await this.options.handler({
        job,
        id: job.id,
        queue: job.queue,
        type: job.type,
        payload: job.payload,
        attempt: a.attempt,
        token: a.token,
        leaseDeadlineMs: a.leaseDeadlineMs,
        signal: entry.controller.signal,
      });
      update = {
        jobId: job.id,
        workerId: this.workerId,
        token: a.token,
        completed: { result: toBuffer(out ?? undefined) },
      };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      update = this.failedUpdate(
        job.id,
        a.token,
        message || "handler failed",
        !(e instanceof NonRetryableError),
      );
    }
    if (entry.silenced) return;
    this.finished.add(key);
    const res = await this.reporter.report(update);
    if (res.ok) {
      if (update.completed) this.counters.completed++;
      else this.counters.failed++;
      return;
    }
    this.counters.rejectedReports++;
    // Undelivered: forget it, so if the cluster still holds the job with this token it may run again.
    if (res.reason === REPORT_FAILED) this.finished.delete(key);
    this.log.warn(
      { jobId: job.id, token: a.token, code: res.code, reason: res.reason, msg: res.message },
      "report rejected",
    );
  }

  private failedUpdate(jobId: string, token: number, error: string, retryable: boolean): WireStatusUpdate {
    return { jobId, workerId: this.workerId, token, failed: { error: error.slice(0, 4_000), retryable } };
  }
}

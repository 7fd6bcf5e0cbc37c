/**
 * RaftqClient: submit, read, list, cancel and retry jobs; cluster status and
 * membership administration. Writes go to the leader (found and followed
 * automatically), reads to any node; transient failures are retried with
 * backoff within each call's deadline.
 */
import { randomUUID } from "node:crypto";
import { Connections, type CallOptions, type ConnectionOptions } from "./connections.js";
import { RaftqError } from "./errors.js";
import type {
  ClusterStatus,
  Job,
  JobInput,
  JobPage,
  ListJobsFilter,
  MembershipChange,
  SubmitResult,
  TransferResult,
} from "./types.js";
import {
  jobFromWire,
  memberFromWire,
  specToWire,
  stateToWire,
  statusFromWire,
  type WireClusterStatus,
  type WireJob,
  type WireMember,
} from "./wire.js";

/** Options of a {@link RaftqClient}; see {@link ConnectionOptions} for every field and default. */
export type RaftqClientOptions = ConnectionOptions;

const WRITE = { target: "leader", idempotent: false } as const;
const IDEMPOTENT_WRITE = { target: "leader", idempotent: true } as const;
const READ = { target: "any", idempotent: true } as const;

/** Most jobs one SubmitJobs call carries (the server's limit). */
export const MAX_BATCH_JOBS = 10_000;

export class RaftqClient {
  /** The connections, shared with a {@link Worker} built on this client. */
  readonly connections: Connections;

  constructor(options: RaftqClientOptions) {
    this.connections = new Connections(options);
  }

  /**
   * Submit one job. Without `idempotencyKey` a fresh UUID is used, so the
   * SDK's own retries (also after DEADLINE_EXCEEDED) never create a second job.
   */
  async submit(job: JobInput, opts: CallOptions = {}): Promise<SubmitResult> {
    const key = job.idempotencyKey ?? randomUUID();
    const res = await this.connections.call<{ jobId: string; duplicate: boolean }>(
      "JobService",
      "SubmitJob",
      { job: specToWire(job, key) },
      IDEMPOTENT_WRITE,
      opts,
    );
    return { jobId: res.jobId, duplicate: res.duplicate, idempotencyKey: key };
  }

  /** Submit many jobs in one Raft entry: all or none (INVALID_ARGUMENT names the first bad one). */
  async submitMany(jobs: readonly JobInput[], opts: CallOptions = {}): Promise<SubmitResult[]> {
    if (jobs.length === 0) return [];
    if (jobs.length > MAX_BATCH_JOBS) {
      throw new RaftqError(
        "INVALID_ARGUMENT",
        `${jobs.length} jobs in one batch; the limit is ${MAX_BATCH_JOBS}`,
      );
    }
    const keys = jobs.map((j) => j.idempotencyKey ?? randomUUID());
    const res = await this.connections.call<{ results: { jobId: string; duplicate: boolean }[] }>(
      "JobService",
      "SubmitJobs",
      { jobs: jobs.map((j, i) => specToWire(j, keys[i]!)) },
      IDEMPOTENT_WRITE,
      opts,
    );
    return res.results.map((r, i) => ({ jobId: r.jobId, duplicate: r.duplicate, idempotencyKey: keys[i]! }));
  }

  /** Read one job; rejects with NOT_FOUND when it does not exist. `linearizable` waits for a ReadIndex round. */
  async get(jobId: string, opts: CallOptions & { linearizable?: boolean } = {}): Promise<Job> {
    const w = await this.connections.call<WireJob>(
      "JobService",
      "GetJob",
      { jobId, linearizable: opts.linearizable ?? false },
      READ,
      opts,
    );
    return jobFromWire(w);
  }

  /** One page of jobs. */
  async listPage(
    filter: ListJobsFilter & { pageToken?: string } = {},
    opts: CallOptions = {},
  ): Promise<JobPage> {
    const res = await this.connections.call<{ jobs: WireJob[]; nextPageToken: string }>(
      "JobService",
      "ListJobs",
      {
        state: filter.state === undefined ? "JOB_STATE_UNSPECIFIED" : stateToWire(filter.state),
        queue: filter.queue ?? "",
        limit: filter.pageSize ?? 0,
        pageToken: filter.pageToken ?? "",
        linearizable: filter.linearizable ?? false,
      },
      READ,
      opts,
    );
    return { jobs: (res.jobs ?? []).map(jobFromWire), nextPageToken: res.nextPageToken ?? "" };
  }

  /** Every page of a listing, lazily. */
  async *pages(filter: ListJobsFilter = {}, opts: CallOptions = {}): AsyncGenerator<Job[], void, undefined> {
    let pageToken = "";
    do {
      const page = await this.listPage({ ...filter, pageToken }, opts);
      yield page.jobs;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /** Every job of a listing, one at a time (`for await (const job of client.list({ queue }))`). */
  async *list(filter: ListJobsFilter = {}, opts: CallOptions = {}): AsyncGenerator<Job, void, undefined> {
    for await (const page of this.pages(filter, opts)) yield* page;
  }

  /** Cancel a pending, scheduled or running job. False when it was already cancelled. */
  async cancel(jobId: string, reason = "", opts: CallOptions = {}): Promise<boolean> {
    const res = await this.connections.call<{ cancelled: boolean }>(
      "JobService",
      "CancelJob",
      { jobId, reason },
      IDEMPOTENT_WRITE,
      opts,
    );
    return res.cancelled;
  }

  /** Send a dead-lettered (failed) job back to pending with fresh attempts. */
  async retry(jobId: string, opts: CallOptions = {}): Promise<void> {
    await this.connections.call("JobService", "RetryJob", { jobId }, WRITE, opts);
  }

  /**
   * The cluster as the leader sees it; `local` asks the answering node for its own
   * view only. When the node that answers knows no leader, each endpoint is asked
   * once more before the answer says there is none.
   */
  async clusterStatus(
    opts: CallOptions & { local?: boolean; endpoint?: string } = {},
  ): Promise<ClusterStatus> {
    const req = { local: opts.local ?? false };
    const w =
      opts.endpoint === undefined
        ? await this.connections.call<WireClusterStatus>(
            "ClusterService",
            "GetClusterStatus",
            req,
            READ,
            opts,
          )
        : await this.connections.once<WireClusterStatus>(
            "ClusterService",
            "GetClusterStatus",
            req,
            opts.endpoint,
            {
              deadlineMs: Date.now() + (opts.timeoutMs ?? 5_000),
              ...(opts.signal ? { signal: opts.signal } : {}),
            },
          );
    if (opts.endpoint === undefined && !req.local && w.leaderId === "") {
      // The node that answered knows no leader (it has just started, or lost touch):
      // another may. Ask each endpoint once before reporting a cluster without one.
      for (const address of this.connections.endpoints) {
        const other = await this.connections
          .once<WireClusterStatus>("ClusterService", "GetClusterStatus", req, address, {
            deadlineMs: Date.now() + 1_000,
            ...(opts.signal ? { signal: opts.signal } : {}),
          })
          .catch(() => null);
        if (other !== null && other.leaderId !== "") return statusFromWire(other);
      }
    }
    return statusFromWire(w);
  }

  /** Add a non-voting member (the new node runs with --join). */
  addLearner(id: string, address: string, opts: CallOptions = {}): Promise<MembershipChange> {
    return this.membership("AddLearner", { id, address }, opts);
  }

  /** Make a caught-up learner a voter. */
  promote(id: string, opts: CallOptions = {}): Promise<MembershipChange> {
    return this.membership("PromoteMember", { id }, opts);
  }

  /** Remove a member (voter or learner). */
  remove(id: string, opts: CallOptions = {}): Promise<MembershipChange> {
    return this.membership("RemoveMember", { id }, opts);
  }

  /**
   * Hand leadership to another voter (`toId` empty: the most caught-up one).
   * With `endpoint` the call goes to that node only (no retries elsewhere),
   * which is what `onlyIfLeader` is meant for.
   */
  async transferLeadership(
    opts: CallOptions & { toId?: string; onlyIfLeader?: boolean; endpoint?: string } = {},
  ): Promise<TransferResult> {
    const req = { toId: opts.toId ?? "", onlyIfLeader: opts.onlyIfLeader ?? false };
    if (opts.endpoint !== undefined) {
      return this.connections.once<TransferResult>("AdminService", "TransferLeadership", req, opts.endpoint, {
        deadlineMs: Date.now() + (opts.timeoutMs ?? 15_000),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    }
    return this.connections.call<TransferResult>("AdminService", "TransferLeadership", req, WRITE, opts);
  }

  private async membership(method: string, req: object, opts: CallOptions): Promise<MembershipChange> {
    const res = await this.connections.call<{ index: number; members: WireMember[] }>(
      "AdminService",
      method,
      req,
      WRITE,
      opts,
    );
    return { index: res.index, members: (res.members ?? []).map(memberFromWire) };
  }

  /** Close every connection. Calls made afterwards reject with CANCELLED. */
  close(): void {
    this.connections.close();
  }
}

/**
 * An in-memory fake of raftq's gRPC API for SDK tests: N fake "nodes" (one
 * gRPC server each, on free ports) share one job store. Writes on a
 * non-leader answer UNAVAILABLE with `raftq-leader-id` (no forwarding), so
 * leader following is observable; `intercept` injects faults and delays.
 */
import * as grpc from "@grpc/grpc-js";
import { loadRaftqProto } from "../../src/wire/proto.js";
import type { WireAssignmentEvent, WireJob, WireJobSpec, WireStatusUpdate } from "../../src/client/wire.js";

export interface CallRecord {
  node: string;
  method: string;
  request: unknown;
}

export type Fault =
  | { code: grpc.status; details?: string; metadata?: Record<string, string> }
  | { delayMs: number }
  | undefined;

interface FakeWorker {
  queues: string[];
  concurrency: number;
}

interface FakeNode {
  id: string;
  address: string;
  server: grpc.Server;
}

const WRITES = new Set([
  "SubmitJob",
  "SubmitJobs",
  "CancelJob",
  "RetryJob",
  "RegisterWorker",
  "Heartbeat",
  "UpdateJobStatus",
  "BatchUpdateJobStatus",
  "DeregisterWorker",
  "AddLearner",
  "PromoteMember",
  "RemoveMember",
  "TransferLeadership",
]);

function statusError(
  code: grpc.status,
  details: string,
  md: Record<string, string> = {},
): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return { code, details, metadata };
}

export class FakeCluster {
  readonly nodes: FakeNode[] = [];
  leaderId = "n1";
  readonly jobs = new Map<string, WireJob>();
  readonly workers = new Map<string, FakeWorker>();
  readonly calls: CallRecord[] = [];
  /** Return a fault to fail or delay a call. */
  intercept: (call: CallRecord) => Fault = () => undefined;
  /** Assign pending jobs automatically (respecting concurrency unless `ignoreConcurrency`). */
  autoAssign = true;
  ignoreConcurrency = false;
  /** Batches received by BatchUpdateJobStatus (sizes). */
  readonly reportBatches: number[] = [];
  private readonly idempotency = new Map<string, string>();
  private readonly streams = new Map<string, Set<grpc.ServerWritableStream<unknown, WireAssignmentEvent>>>();
  private nextId = 1;
  private nextToken = 1;

  static async start(count = 1): Promise<FakeCluster> {
    const c = new FakeCluster();
    for (let i = 1; i <= count; i++) await c.addNode(`n${i}`);
    return c;
  }

  address(id: string): string {
    return this.nodes.find((n) => n.id === id)!.address;
  }

  get endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  callsTo(method: string): CallRecord[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async addNode(id: string): Promise<void> {
    const server = new grpc.Server();
    const { pkg } = loadRaftqProto();
    const h = (method: string, fn: (req: never) => unknown): grpc.handleUnaryCall<unknown, unknown> => {
      return (call, cb) => {
        void this.handle(id, method, call.request, fn as (req: unknown) => unknown).then(
          (res) => cb(null, res),
          (e: Partial<grpc.StatusObject>) => cb(e, null),
        );
      };
    };
    server.addService(pkg.JobService.service, {
      SubmitJob: h("SubmitJob", (r: { job: WireJobSpec }) => this.submit(r.job)),
      SubmitJobs: h("SubmitJobs", (r: { jobs: WireJobSpec[] }) => ({
        results: r.jobs.map((j) => this.submit(j)),
      })),
      GetJob: h("GetJob", (r: { jobId: string }) => this.getJob(r.jobId)),
      ListJobs: h("ListJobs", (r: { state: string; queue: string; limit: number; pageToken: string }) =>
        this.list(r),
      ),
      CancelJob: h("CancelJob", (r: { jobId: string; reason: string }) => this.cancel(r.jobId, r.reason)),
      RetryJob: h("RetryJob", (r: { jobId: string }) => {
        const j = this.getJob(r.jobId);
        if (j.state !== "JOB_STATE_FAILED")
          throw statusError(grpc.status.FAILED_PRECONDITION, "job is not failed");
        j.state = "JOB_STATE_PENDING";
        j.attempts = 0;
        this.schedule();
        return {};
      }),
    });
    server.addService(pkg.WorkerService.service, {
      RegisterWorker: h(
        "RegisterWorker",
        (r: { workerId: string; queues: string[]; concurrency: number }) => {
          this.workers.set(r.workerId, { queues: r.queues, concurrency: r.concurrency });
          this.schedule();
          return { heartbeatIntervalMs: 50, livenessWindowMs: 3000 };
        },
      ),
      Heartbeat: h("Heartbeat", (r: { workerId: string }) => ({ registered: this.workers.has(r.workerId) })),
      StreamAssignments: (call: grpc.ServerWritableStream<{ workerId: string }, WireAssignmentEvent>) => {
        const workerId = call.request.workerId;
        (call as unknown as { fakeNode: string }).fakeNode = id;
        this.calls.push({ node: id, method: "StreamAssignments", request: call.request });
        let set = this.streams.get(workerId);
        if (set === undefined) this.streams.set(workerId, (set = new Set()));
        set.add(call as grpc.ServerWritableStream<unknown, WireAssignmentEvent>);
        const s = set;
        call.on("cancelled", () => s.delete(call as grpc.ServerWritableStream<unknown, WireAssignmentEvent>));
        for (const j of this.jobs.values()) {
          if (j.state === "JOB_STATE_RUNNING" && j.workerId === workerId) call.write(this.assignment(j));
        }
        this.schedule();
      },
      UpdateJobStatus: h("UpdateJobStatus", (r: { update: WireStatusUpdate }) => {
        const res = this.applyUpdate(r.update);
        if (!res.ok)
          throw statusError(grpc.status.FAILED_PRECONDITION, res.message, { "raftq-reason": res.reason });
        return { duplicate: false };
      }),
      BatchUpdateJobStatus: h("BatchUpdateJobStatus", (r: { updates: WireStatusUpdate[] }) => {
        this.reportBatches.push(r.updates.length);
        const results = r.updates.map((u) => this.applyUpdate(u));
        this.schedule();
        return { results };
      }),
      DeregisterWorker: h("DeregisterWorker", (r: { workerId: string }) => {
        this.workers.delete(r.workerId);
        for (const j of this.jobs.values()) {
          if (j.state === "JOB_STATE_RUNNING" && j.workerId === r.workerId) this.requeue(j);
        }
        this.schedule();
        return {};
      }),
    });
    server.addService(pkg.ClusterService.service, {
      GetClusterStatus: h("GetClusterStatus", () => this.status(id)),
    });
    server.addService(pkg.AdminService.service, {
      AddLearner: h("AddLearner", () => ({ index: 10, members: this.status(id).members })),
      PromoteMember: h("PromoteMember", () => ({ index: 11, members: this.status(id).members })),
      RemoveMember: h("RemoveMember", () => ({ index: 12, members: this.status(id).members })),
      TransferLeadership: h("TransferLeadership", (r: { toId: string }) => {
        const to = r.toId || this.nodes.find((n) => n.id !== this.leaderId)!.id;
        this.leaderId = to;
        return { leaderId: to, transferred: true };
      }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    this.nodes.push({ id, address: `127.0.0.1:${port}`, server });
  }

  private async handle(
    node: string,
    method: string,
    request: unknown,
    fn: (req: unknown) => unknown,
  ): Promise<unknown> {
    const record = { node, method, request };
    this.calls.push(record);
    const fault = this.intercept(record);
    if (fault !== undefined && "delayMs" in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
    else if (fault !== undefined) throw statusError(fault.code, fault.details ?? "injected", fault.metadata);
    if (WRITES.has(method) && node !== this.leaderId) {
      throw statusError(grpc.status.UNAVAILABLE, `not the leader; the leader is ${this.leaderId}`, {
        "raftq-leader-id": this.leaderId,
        "raftq-reason": "NOT_LEADER",
      });
    }
    return fn(request);
  }

  private submit(spec: WireJobSpec): { jobId: string; duplicate: boolean } {
    if (!spec.queue) throw statusError(grpc.status.INVALID_ARGUMENT, "queue: required");
    const existing = spec.idempotencyKey ? this.idempotency.get(spec.idempotencyKey) : undefined;
    if (existing !== undefined) return { jobId: existing, duplicate: true };
    const id = `job-${this.nextId++}`;
    this.jobs.set(id, {
      id,
      queue: spec.queue,
      type: spec.type,
      payload: spec.payload,
      priority: spec.priority,
      maxAttempts: spec.maxAttempts || 25,
      leaseMs: spec.leaseMs || 300_000,
      runAtMs: spec.runAtMs,
      idempotencyKey: spec.idempotencyKey,
      submittedAtMs: Date.now(),
      attempts: 0,
      state: "JOB_STATE_PENDING",
      workerId: "",
      token: 0,
      leaseDeadlineMs: 0,
      lastError: "",
      result: Buffer.alloc(0),
      finishedAtMs: 0,
    });
    if (spec.idempotencyKey) this.idempotency.set(spec.idempotencyKey, id);
    this.schedule();
    return { jobId: id, duplicate: false };
  }

  private getJob(jobId: string): WireJob {
    const j = this.jobs.get(jobId);
    if (j === undefined) throw statusError(grpc.status.NOT_FOUND, `job ${jobId} does not exist`);
    return j;
  }

  private list(r: { state: string; queue: string; limit: number; pageToken: string }) {
    const all = [...this.jobs.values()].filter(
      (j) =>
        (r.state === "JOB_STATE_UNSPECIFIED" || r.state === "" || j.state === r.state) &&
        (r.queue === "" || j.queue === r.queue),
    );
    const start = r.pageToken ? Number(r.pageToken) : 0;
    const limit = r.limit || 100;
    const jobs = all.slice(start, start + limit);
    return { jobs, nextPageToken: start + limit < all.length ? String(start + limit) : "" };
  }

  private cancel(jobId: string, reason: string): { cancelled: boolean } {
    const j = this.getJob(jobId);
    if (j.state === "JOB_STATE_CANCELLED") return { cancelled: false };
    if (j.state === "JOB_STATE_RUNNING") this.revoke(j, reason || "cancelled");
    j.state = "JOB_STATE_CANCELLED";
    return { cancelled: true };
  }

  /** Take a running job back (as a lease expiry would) and send the revocation. */
  revoke(j: WireJob, reason: string): void {
    for (const s of this.streams.get(j.workerId) ?? [])
      s.write({ revoked: { jobId: j.id, token: j.token, reason } });
  }

  /** Requeue a running job (lease expired / worker lost): a new assignment gets a new token. */
  requeue(j: WireJob): void {
    j.state = "JOB_STATE_PENDING";
    j.workerId = "";
  }

  private applyUpdate(u: WireStatusUpdate) {
    const j = this.jobs.get(u.jobId);
    if (j === undefined)
      return { jobId: u.jobId, ok: false, code: "NOT_FOUND", reason: "", message: "no such job" };
    if (j.token !== u.token || j.state !== "JOB_STATE_RUNNING" || j.workerId !== u.workerId) {
      const done =
        j.token === u.token && (j.state === "JOB_STATE_COMPLETED" || j.state === "JOB_STATE_FAILED");
      if (done) return { jobId: u.jobId, ok: true, code: "", reason: "", message: "" };
      return {
        jobId: u.jobId,
        ok: false,
        code: "FAILED_PRECONDITION",
        reason: "STALE_TOKEN",
        message: "stale token",
      };
    }
    if (u.completed) {
      j.state = "JOB_STATE_COMPLETED";
      j.result = u.completed.result;
    } else if (u.failed) {
      j.lastError = u.failed.error;
      j.state = !u.failed.retryable || j.attempts >= j.maxAttempts ? "JOB_STATE_FAILED" : "JOB_STATE_PENDING";
    }
    j.finishedAtMs = Date.now();
    return { jobId: u.jobId, ok: true, code: "", reason: "", message: "" };
  }

  private assignment(j: WireJob): WireAssignmentEvent {
    return { assigned: { job: j, token: j.token, attempt: j.attempts, leaseDeadlineMs: j.leaseDeadlineMs } };
  }

  /** Assign pending jobs to connected workers with free capacity. */
  schedule(): void {
    if (!this.autoAssign) return;
    for (const j of this.jobs.values()) {
      if (j.state !== "JOB_STATE_PENDING") continue;
      for (const [wid, w] of this.workers) {
        const streams = this.streams.get(wid);
        if (streams === undefined || streams.size === 0 || !w.queues.includes(j.queue)) continue;
        const load = [...this.jobs.values()].filter(
          (x) => x.state === "JOB_STATE_RUNNING" && x.workerId === wid,
        ).length;
        if (!this.ignoreConcurrency && load >= w.concurrency) continue;
        this.assign(j, wid);
        break;
      }
    }
  }

  /** Assign `j` to worker `wid` with a fresh token and push it on the worker's streams. */
  assign(j: WireJob, wid: string): void {
    j.state = "JOB_STATE_RUNNING";
    j.workerId = wid;
    j.token = this.nextToken++;
    j.attempts++;
    j.leaseDeadlineMs = Date.now() + j.leaseMs;
    for (const s of this.streams.get(wid) ?? []) s.write(this.assignment(j));
  }

  /**
   * Assign `jobs` to `wid` (each with a fresh token) and push them as one AssignmentEvent.batch,
   * as a node does for a stream that asked for batches; `extra` events are appended as given.
   */
  assignBatch(jobs: WireJob[], wid: string, extra: WireAssignmentEvent[] = []): void {
    const events = jobs.map((j) => {
      j.state = "JOB_STATE_RUNNING";
      j.workerId = wid;
      j.token = this.nextToken++;
      j.attempts++;
      j.leaseDeadlineMs = Date.now() + j.leaseMs;
      return this.assignment(j);
    });
    for (const s of this.streams.get(wid) ?? []) s.write({ batch: { events: [...events, ...extra] } });
  }

  /** Resend every held job on every open stream of `wid` (as a reconnect would). */
  resendHeld(wid: string): void {
    for (const j of this.jobs.values()) {
      if (j.state === "JOB_STATE_RUNNING" && j.workerId === wid) {
        for (const s of this.streams.get(wid) ?? []) s.write(this.assignment(j));
      }
    }
  }

  private status(answeredBy: string) {
    return {
      clusterId: "fake",
      leaderId: this.leaderId,
      term: 3,
      commitIndex: 42,
      members: this.nodes.map((n) => ({
        id: n.id,
        address: n.address,
        role: n.id === this.leaderId ? "MEMBER_ROLE_LEADER" : "MEMBER_ROLE_FOLLOWER",
        voter: true,
        term: 3,
        commitIndex: 42,
        appliedIndex: 42,
        matchIndex: 42,
        isAlive: true,
        lastContactMs: 0,
      })),
      queues: [],
      liveWorkers: this.workers.size,
      registeredWorkers: this.workers.size,
      answeredBy,
    };
  }

  /** Stop one node's server at once (its streams break). */
  async killNode(id: string): Promise<void> {
    const n = this.nodes.find((x) => x.id === id)!;
    n.server.forceShutdown();
    for (const set of this.streams.values()) {
      for (const s of [...set]) if ((s as unknown as { fakeNode?: string }).fakeNode === id) set.delete(s);
    }
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) n.server.forceShutdown();
  }
}

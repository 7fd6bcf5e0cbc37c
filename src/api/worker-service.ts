import * as grpc from "@grpc/grpc-js";
import {
  describeProblems,
  validateRegisterWorker,
  validateStatusUpdate,
  type JobStatusUpdate,
} from "../jobs/index.js";
import type { WorkerStreamEvent } from "../node/worker-hub.js";
import type { ApiContext } from "./context.js";
import type { WireAssignmentEvent, WireSingleEvent } from "../wire/assignment-codec.js";
import type { WireStatusUpdate } from "../wire/raftq-v1.js";
import { AssignmentBatcher, MAX_EVENTS_PER_MESSAGE } from "./assignment-batcher.js";
import { jobToWire } from "./convert.js";
import { invalid, toServiceError, unary } from "./status.js";
import { expectOk, onLeader, proposeCommand, randomSeed } from "./write-path.js";

function updateFromWire(u: WireStatusUpdate, index: number): JobStatusUpdate {
  const where = index >= 0 ? `updates[${index}]` : "update";
  if (u.outcome === "completed" && u.completed) {
    return {
      jobId: u.jobId,
      workerId: u.workerId,
      token: u.token,
      outcome: "completed",
      result: u.completed.result,
    };
  }
  if (u.outcome === "failed" && u.failed) {
    return {
      jobId: u.jobId,
      workerId: u.workerId,
      token: u.token,
      outcome: "failed",
      error: u.failed.error,
      retryable: u.failed.retryable,
    };
  }
  throw invalid(`${where}: set exactly one of completed or failed`);
}

function checkUpdate(ctx: ApiContext, u: JobStatusUpdate, index: number): void {
  const problems = validateStatusUpdate(u, ctx.limits);
  if (problems.length > 0) {
    const prefix = index >= 0 ? `updates[${index}].` : "update.";
    throw invalid(
      describeProblems(
        problems.map((p) => ({ field: prefix + p.field, message: `${prefix}${p.field}: ${p.message}` })),
      ),
    );
  }
}

/** WorkerService: registration, heartbeats, the assignment stream and status reports. */
export function workerServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  return {
    RegisterWorker: unary(async (req: { workerId: string; queues: string[]; concurrency: number }, call) => {
      const problems = validateRegisterWorker(req, ctx.limits);
      if (problems.length > 0) throw invalid(describeProblems(problems));
      return onLeader(ctx, call, "WorkerService", "RegisterWorker", req, async () => {
        const res = await proposeCommand(ctx, {
          kind: "RegisterWorker",
          nowMs: Date.now(),
          workerId: req.workerId,
          queues: req.queues,
          concurrency: req.concurrency,
        });
        expectOk(res.items[0]);
        ctx.duties.heard(req.workerId);
        return { heartbeatIntervalMs: ctx.heartbeatIntervalMs, livenessWindowMs: ctx.livenessWindowMs };
      });
    }),

    Heartbeat: unary(async (req: { workerId: string }, call) => {
      if (!req.workerId) throw invalid("worker_id is required");
      // Liveness is the leader's soft state: heartbeats go there, never into the log.
      return onLeader(ctx, call, "WorkerService", "Heartbeat", req, async () => {
        ctx.duties.heard(req.workerId);
        return { registered: ctx.machine.state.hasWorker(req.workerId) };
      });
    }),

    StreamAssignments: (
      call: grpc.ServerWritableStream<{ workerId: string; maxEventsPerMessage?: number }, unknown>,
    ) => {
      const workerId = call.request.workerId;
      const maxEvents = call.request.maxEventsPerMessage ?? 0;
      const problem = !workerId
        ? "worker_id is required"
        : maxEvents > MAX_EVENTS_PER_MESSAGE
          ? `max_events_per_message: ${maxEvents} is above the limit of ${MAX_EVENTS_PER_MESSAGE}`
          : null;
      if (problem !== null) {
        call.emit("error", toServiceError(invalid(problem)));
        return;
      }
      let detach: (() => void) | null = null;
      const writeMessage = (m: WireAssignmentEvent): void => {
        if (!call.cancelled && !call.destroyed) call.write(m);
      };
      const batcher = maxEvents > 1 ? new AssignmentBatcher(maxEvents, writeMessage) : null;
      const sink = {
        write: (ev: WorkerStreamEvent): boolean => {
          if (call.cancelled || call.destroyed) return false;
          const single: WireSingleEvent =
            ev.kind === "assigned"
              ? {
                  assigned: {
                    job: jobToWire(ev.job),
                    token: ev.token,
                    attempt: ev.attempt,
                    leaseDeadlineMs: ev.leaseDeadlineMs,
                  },
                }
              : { revoked: { jobId: ev.jobId, token: ev.token, reason: ev.reason } };
          if (batcher === null) writeMessage(single);
          else batcher.add(single);
          return true;
        },
        flush: (): void => batcher?.flush(),
      };
      try {
        detach = ctx.hub.attach(workerId, sink);
      } catch (e) {
        call.emit("error", { code: 8, details: e instanceof Error ? e.message : String(e) });
        return;
      }
      const end = (): void => {
        detach?.();
        detach = null;
      };
      call.on("cancelled", end);
      call.on("close", end);
      call.on("error", end);
      // Response headers now, not with the first assignment: the worker learns the stream is
      // open (and stops its open timer) even when nothing is assigned for a long time.
      call.sendMetadata(new grpc.Metadata());
    },

    UpdateJobStatus: unary(async (req: { update?: WireStatusUpdate }, call) => {
      if (!req.update) throw invalid("update is required");
      const update = updateFromWire(req.update, -1);
      checkUpdate(ctx, update, -1);
      return onLeader(ctx, call, "WorkerService", "UpdateJobStatus", req, async () => {
        ctx.duties.heard(update.workerId);
        const res = await proposeCommand(ctx, {
          kind: "UpdateJobStatus",
          nowMs: Date.now(),
          jitterSeed: randomSeed(),
          update,
        });
        const ok = expectOk(res.items[0]);
        return { duplicate: ok.duplicate === true };
      });
    }),

    BatchUpdateJobStatus: unary(async (req: { updates?: WireStatusUpdate[] }, call) => {
      const updates = (req.updates ?? []).map((u, i) => updateFromWire(u, i));
      if (updates.length === 0) throw invalid("updates: at least one update is required");
      if (updates.length > ctx.limits.maxBatchItems)
        throw invalid(`updates: ${updates.length} in one call; the limit is ${ctx.limits.maxBatchItems}`);
      updates.forEach((u, i) => checkUpdate(ctx, u, i));
      return onLeader(ctx, call, "WorkerService", "BatchUpdateJobStatus", req, async () => {
        for (const u of new Set(updates.map((x) => x.workerId))) ctx.duties.heard(u);
        const res = await proposeCommand(ctx, {
          kind: "BatchUpdateJobStatus",
          nowMs: Date.now(),
          jitterSeed: randomSeed(),
          updates,
        });
        return {
          results: res.items.map((item, i) =>
            item.ok
              ? { jobId: updates[i]!.jobId, ok: true, code: "", reason: "", message: "" }
              : {
                  jobId: updates[i]!.jobId,
                  ok: false,
                  code: item.code,
                  reason: item.reason,
                  message: item.message,
                },
          ),
        };
      });
    }),

    DeregisterWorker: unary(async (req: { workerId: string }, call) => {
      if (!req.workerId) throw invalid("worker_id is required");
      return onLeader(ctx, call, "WorkerService", "DeregisterWorker", req, async () => {
        const res = await proposeCommand(ctx, {
          kind: "DeregisterWorker",
          nowMs: Date.now(),
          jitterSeed: randomSeed(),
          workerId: req.workerId,
          reason: "shutdown",
        });
        expectOk(res.items[0]);
        return {};
      });
    }),
  };
}

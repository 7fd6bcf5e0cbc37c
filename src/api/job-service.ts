import type * as grpc from "@grpc/grpc-js";
import { describeProblems, validateSubmit, type Problem } from "../jobs/index.js";
import { NodeError } from "../node/errors.js";
import type { ApiContext } from "./context.js";
import { jobToWire, specFromWire, stateFromWire, type WireJob, type WireJobSpec } from "./convert.js";
import { invalid, unary } from "./status.js";
import { expectOk, onLeader, proposeCommand } from "./write-path.js";

const DEFAULT_LIST_LIMIT = 100;

interface ListJobsWire {
  state: string;
  queue: string;
  limit: number;
  pageToken: string;
  linearizable: boolean;
}

/** JobService: submit, read, list, cancel and retry jobs. */
export function jobServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  return {
    SubmitJob: unary(async (req: { job?: Partial<WireJobSpec> }, call) => {
      const spec = specFromWire(req.job);
      return onLeader(ctx, call, "JobService", "SubmitJob", req, async () => {
        const now = Date.now();
        const problems = validateSubmit(spec, ctx.limits, now);
        if (problems.length > 0) throw invalid(describeProblems(problems));
        const res = await proposeCommand(ctx, { kind: "SubmitJob", nowMs: now, job: spec });
        const ok = expectOk(res.items[0]);
        return { jobId: ok.jobId ?? "", duplicate: ok.duplicate === true };
      });
    }),

    SubmitJobs: unary(async (req: { jobs?: Partial<WireJobSpec>[] }, call) => {
      const jobs = (req.jobs ?? []).map(specFromWire);
      if (jobs.length === 0) throw invalid("jobs: at least one job is required");
      if (jobs.length > ctx.limits.maxBatchItems)
        throw invalid(`jobs: ${jobs.length} jobs in one call; the limit is ${ctx.limits.maxBatchItems}`);
      return onLeader(ctx, call, "JobService", "SubmitJobs", req, async () => {
        const now = Date.now();
        const problems: Problem[] = [];
        jobs.forEach((spec, i) => {
          for (const p of validateSubmit(spec, ctx.limits, now))
            problems.push({ field: `jobs[${i}].${p.field}`, message: `jobs[${i}]: ${p.message}` });
        });
        if (problems.length > 0) throw invalid(describeProblems(problems));
        const res = await proposeCommand(ctx, { kind: "SubmitJobBatch", nowMs: now, jobs });
        return {
          results: res.items.map((item) => {
            const ok = expectOk(item);
            return { jobId: ok.jobId ?? "", duplicate: ok.duplicate === true };
          }),
        };
      });
    }),

    GetJob: unary(async (req: { jobId: string; linearizable: boolean }): Promise<WireJob> => {
      if (!req.jobId) throw invalid("job_id is required");
      if (req.linearizable) await ctx.replica.readIndex();
      const job = ctx.machine.state.getJob(req.jobId);
      if (job === undefined) throw new NodeError("NOT_FOUND", `job ${req.jobId} does not exist (or expired)`);
      return jobToWire(job);
    }),

    ListJobs: unary(async (req: ListJobsWire) => {
      const state = stateFromWire(req.state);
      if (state === null) throw invalid(`state: unknown job state ${JSON.stringify(req.state)}`);
      const limit = req.limit === 0 ? DEFAULT_LIST_LIMIT : req.limit;
      if (limit < 1 || limit > ctx.limits.maxListLimit)
        throw invalid(`limit: ${req.limit} is out of range; use 1-${ctx.limits.maxListLimit}`);
      if (req.pageToken !== "" && !/^[0-9a-zA-Z_-]{1,64}$/.test(req.pageToken))
        throw invalid("page_token: not a token this API returned");
      if (req.linearizable) await ctx.replica.readIndex();
      const page = ctx.machine.state.listJobs({
        limit,
        ...(state !== undefined ? { state } : {}),
        ...(req.queue ? { queue: req.queue } : {}),
        ...(req.pageToken ? { pageToken: req.pageToken } : {}),
      });
      return { jobs: page.jobs.map(jobToWire), nextPageToken: page.nextPageToken ?? "" };
    }),

    CancelJob: unary(async (req: { jobId: string; reason: string }, call) => {
      if (!req.jobId) throw invalid("job_id is required");
      return onLeader(ctx, call, "JobService", "CancelJob", req, async () => {
        const res = await proposeCommand(ctx, {
          kind: "CancelJob",
          nowMs: Date.now(),
          jobId: req.jobId,
          reason: req.reason || "cancelled by request",
        });
        const ok = expectOk(res.items[0]);
        return { cancelled: ok.duplicate !== true };
      });
    }),

    RetryJob: unary(async (req: { jobId: string }, call) => {
      if (!req.jobId) throw invalid("job_id is required");
      return onLeader(ctx, call, "JobService", "RetryJob", req, async () => {
        const res = await proposeCommand(ctx, { kind: "RetryJob", nowMs: Date.now(), jobId: req.jobId });
        expectOk(res.items[0]);
        return {};
      });
    }),
  };
}

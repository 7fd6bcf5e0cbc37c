/** Test helpers: a state with an auto-incrementing log index and short-hand command builders. */
import { expect } from "vitest";
import {
  JobQueueState,
  makeLimits,
  type ApplyResult,
  type ItemOutcome,
  type JobCommand,
  type JobLimits,
  type SubmitJobSpec,
} from "../../src/jobs/index.js";

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export class Harness {
  readonly state: JobQueueState;
  private logIndex = 0;
  nowMs = 1_000_000;

  constructor(limits: Partial<JobLimits> = {}) {
    this.state = new JobQueueState(makeLimits(limits));
  }

  apply(cmd: JobCommand): ApplyResult {
    const result = this.state.apply(++this.logIndex, cmd);
    this.state.checkInvariants();
    return result;
  }

  /** Applies and returns the single item outcome. */
  one(cmd: JobCommand): ItemOutcome {
    const result = this.apply(cmd);
    expect(result.items).toHaveLength(1);
    return result.items[0]!;
  }

  submit(spec: Partial<SubmitJobSpec> = {}): string {
    const outcome = this.one({ kind: "SubmitJob", nowMs: this.nowMs, job: spec_(spec) });
    if (!outcome.ok) throw new Error(`submit rejected: ${outcome.message}`);
    return outcome.jobId!;
  }

  register(workerId: string, queues: string[] = ["q"], concurrency = 1): void {
    const outcome = this.one({ kind: "RegisterWorker", nowMs: this.nowMs, workerId, queues, concurrency });
    if (!outcome.ok) throw new Error(`register rejected: ${outcome.message}`);
  }

  /** Assigns and returns the token. */
  assign(jobId: string, workerId: string): number {
    const result = this.apply({ kind: "AssignJobs", nowMs: this.nowMs, assignments: [{ jobId, workerId }] });
    const outcome = result.items[0]!;
    if (!outcome.ok) throw new Error(`assign rejected: ${outcome.message}`);
    const event = result.events[0]!;
    if (event.type !== "assigned") throw new Error("no assigned event");
    return event.token;
  }

  complete(jobId: string, workerId: string, token: number, result = bytes("ok")): ItemOutcome {
    return this.one({
      kind: "UpdateJobStatus",
      nowMs: this.nowMs,
      jitterSeed: 7,
      update: { jobId, workerId, token, outcome: "completed", result },
    });
  }

  fail(jobId: string, workerId: string, token: number, retryable = true, error = "boom"): ApplyResult {
    return this.apply({
      kind: "UpdateJobStatus",
      nowMs: this.nowMs,
      jitterSeed: 7,
      update: { jobId, workerId, token, outcome: "failed", error, retryable },
    });
  }

  job(jobId: string) {
    const view = this.state.getJob(jobId);
    if (view === undefined) throw new Error(`no job ${jobId}`);
    return view;
  }
}

export function spec_(spec: Partial<SubmitJobSpec> = {}): SubmitJobSpec {
  return { queue: "q", type: "t", payload: bytes("payload"), ...spec };
}

export function expectRejected(outcome: ItemOutcome | undefined, code: string, reason: string): string {
  expect(outcome?.ok).toBe(false);
  if (outcome === undefined || outcome.ok) throw new Error("expected a rejection");
  expect({ code: outcome.code, reason: outcome.reason }).toEqual({ code, reason });
  expect(outcome.message.length).toBeGreaterThan(5);
  return outcome.message;
}

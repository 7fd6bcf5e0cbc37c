/**
 * Workers for the job-state micro benchmarks: `worker-0` .. `worker-<count-1>` registered
 * through apply at indexes 1..count, as a leader's log would carry them.
 */
import type { JobQueueState } from "../../src/jobs/index.js";

export interface WorkerSet {
  readonly count: number;
  /** The queues every worker serves, or those of worker `w`. */
  readonly queues: string[] | ((w: number) => string[]);
  readonly concurrency: number;
  readonly nowMs: number;
}

/** Registers the workers; returns the last log index used (the next command goes at +1). */
export function registerWorkers(state: JobQueueState, o: WorkerSet): number {
  for (let w = 0; w < o.count; w++) {
    state.apply(w + 1, {
      kind: "RegisterWorker",
      nowMs: o.nowMs,
      workerId: `worker-${w}`,
      queues: typeof o.queues === "function" ? o.queues(w) : o.queues,
      concurrency: o.concurrency,
    });
  }
  return o.count;
}

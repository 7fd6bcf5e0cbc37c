import type { JobEvent, JobView } from "../jobs/index.js";
import type { JobMachine } from "./job-machine.js";

export type WorkerStreamEvent =
  | {
      readonly kind: "assigned";
      readonly job: JobView;
      readonly token: number;
      readonly attempt: number;
      readonly leaseDeadlineMs: number;
    }
  | { readonly kind: "revoked"; readonly jobId: string; readonly token: number; readonly reason: string };

export interface WorkerSink {
  /** Deliver one event; false when the stream is gone (the hub then forgets it). */
  write(event: WorkerStreamEvent): boolean;
  /**
   * The events written since the last flush are all there is for now (one
   * applied entry's, or the held jobs on attach): a sink that batches sends them.
   */
  flush(): void;
}

/** Streams one node serves at most (each worker keeps one open). */
export const MAX_WORKER_STREAMS = 10_000;

/**
 * Delivers assignments to the workers connected to this node, as the
 * commands that make them are applied here. Any node can serve any worker:
 * assignment travels through the log, so every node learns it.
 */
export class WorkerHub {
  private readonly sinks = new Map<string, Set<WorkerSink>>();
  private count = 0;

  constructor(private readonly machine: JobMachine) {
    machine.onEvents((events) => this.onEvents(events));
    // A snapshot replaced the state: tell every connected worker what it holds now.
    machine.onRestored(() => {
      for (const id of this.sinks.keys())
        for (const s of this.sinks.get(id) ?? []) {
          this.sendHeld(id, s);
          s.flush();
        }
    });
  }

  streams(): number {
    return this.count;
  }

  /** Attach a stream for `workerId`; it first receives every job the worker holds. Returns a detach function. */
  attach(workerId: string, sink: WorkerSink): () => void {
    if (this.count >= MAX_WORKER_STREAMS)
      throw new Error(`this node serves ${MAX_WORKER_STREAMS} streams already`);
    let set = this.sinks.get(workerId);
    if (set === undefined) {
      set = new Set();
      this.sinks.set(workerId, set);
    }
    set.add(sink);
    this.count++;
    this.sendHeld(workerId, sink);
    sink.flush();
    return () => this.detach(workerId, sink);
  }

  private detach(workerId: string, sink: WorkerSink): void {
    const set = this.sinks.get(workerId);
    if (set === undefined || !set.delete(sink)) return;
    this.count--;
    if (set.size === 0) this.sinks.delete(workerId);
  }

  private sendHeld(workerId: string, sink: WorkerSink): void {
    for (const job of this.machine.state.runningJobsOfWorker(workerId)) {
      this.deliver(workerId, sink, {
        kind: "assigned",
        job,
        token: job.token,
        attempt: job.attempts,
        leaseDeadlineMs: job.leaseDeadlineMs ?? 0,
      });
    }
  }

  private deliver(workerId: string, sink: WorkerSink, ev: WorkerStreamEvent): void {
    if (!sink.write(ev)) this.detach(workerId, sink);
  }

  private onEvents(events: readonly JobEvent[]): void {
    if (this.count === 0) return;
    const written = new Set<WorkerSink>();
    for (const e of events) {
      const workerId = e.workerId;
      if (workerId === null) continue;
      const set = this.sinks.get(workerId);
      if (set === undefined) continue;
      let ev: WorkerStreamEvent;
      if (e.type === "assigned") {
        const job = this.machine.state.getJob(e.jobId);
        if (job === undefined) continue;
        ev = {
          kind: "assigned",
          job,
          token: e.token,
          attempt: e.attempt,
          leaseDeadlineMs: e.leaseDeadlineMs,
        };
      } else if (e.type === "requeued") {
        if (e.cause === "failed") continue; // the worker reported it itself
        ev = { kind: "revoked", jobId: e.jobId, token: 0, reason: e.cause };
      } else {
        if (e.state !== "cancelled") continue; // completed/failed: reported by the worker
        ev = { kind: "revoked", jobId: e.jobId, token: 0, reason: "cancelled" };
      }
      for (const s of [...set]) {
        this.deliver(workerId, s, ev);
        written.add(s);
      }
    }
    for (const s of written) s.flush();
  }
}

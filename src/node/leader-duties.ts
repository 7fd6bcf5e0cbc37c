import type { Logger } from "pino";
import {
  encodeCommand,
  findExpiredLeases,
  pickAssignments,
  WorkerLiveness,
  type JobCommand,
} from "../jobs/index.js";
import type { JobMachine } from "./job-machine.js";
import type { Replica } from "./replica.js";

export interface LeaderDutiesOptions {
  readonly replica: Replica;
  readonly machine: JobMachine;
  readonly logger: Logger;
  readonly livenessWindowMs: number;
  /** How often the duties run while leading. */
  readonly intervalMs?: number;
  /** Assignments per AssignJobs proposal. */
  readonly maxAssignmentsPerProposal?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

const MAX_REQUEUES_PER_PROPOSAL = 1000;
const MAX_LOST_WORKERS_PER_ROUND = 100;
const EXPIRE_EVERY_MS = 10_000;
const EXPIRE_MAX_ITEMS = 10_000;

/**
 * What only the leader does, through the log: assign pending jobs (one
 * AssignJobs in flight at a time, so picks never race), declare workers lost
 * after the liveness window, requeue jobs whose lease ran out, and expire
 * finished jobs. Time and jitter are stamped here, never in apply.
 */
export class LeaderDuties {
  readonly liveness: WorkerLiveness;
  private readonly o: LeaderDutiesOptions;
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | null = null;
  private leading = false;
  private assignInFlight = false;
  private requeueInFlight = false;
  private readonly deregistering = new Set<string>();
  private lastExpireMs = 0;
  private runScheduled = false;

  constructor(options: LeaderDutiesOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    const machine = options.machine;
    // The registry follows the machine's current state (a snapshot restore replaces it).
    this.liveness = new WorkerLiveness(
      {
        hasWorker: (id) => machine.state.hasWorker(id),
        workerRegistrations: () =>
          machine.state.workers().map((w) => ({ workerId: w.id, registeredAtMs: w.registeredAtMs })),
      },
      options.livenessWindowMs,
    );
  }

  start(): void {
    this.timer = setInterval(() => this.run(), this.o.intervalMs ?? 25);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A worker heartbeat reached this (leader) node. */
  heard(workerId: string): void {
    this.liveness.heard(workerId, this.now());
  }

  isWorkerLive(workerId: string): boolean {
    return this.leading && this.liveness.isLive(workerId, this.now());
  }

  liveWorkers(): number {
    if (!this.leading) return 0;
    const now = this.now();
    let n = 0;
    for (const w of this.o.machine.state.workers()) if (this.liveness.isLive(w.id, now)) n++;
    return n;
  }

  /** Run soon (e.g. after new jobs were applied), coalescing bursts. */
  poke(): void {
    if (this.runScheduled || !this.leading) return;
    this.runScheduled = true;
    setImmediate(() => {
      this.runScheduled = false;
      this.run();
    });
  }

  private run(): void {
    const isLeader = this.o.replica.isLeader();
    const now = this.now();
    if (isLeader !== this.leading) {
      this.leading = isLeader;
      if (isLeader) this.liveness.onBecameLeader(now);
      else this.liveness.onLostLeadership();
      this.assignInFlight = false;
      this.requeueInFlight = false;
      this.deregistering.clear();
    }
    if (!isLeader) return;
    this.assign(now);
    this.requeueExpiredLeases(now);
    this.declareLostWorkers(now);
    if (now - this.lastExpireMs >= EXPIRE_EVERY_MS) {
      this.lastExpireMs = now;
      void this.propose({ kind: "ExpireFinished", nowMs: now, maxItems: EXPIRE_MAX_ITEMS });
    }
  }

  private assign(now: number): void {
    if (this.assignInFlight) return;
    const state = this.o.machine.state;
    const picks = pickAssignments(state, {
      nowMs: now,
      isWorkerLive: (id) => this.liveness.isLive(id, now),
      maxAssignments: this.o.maxAssignmentsPerProposal ?? 1000,
    });
    if (picks.length === 0) return;
    this.assignInFlight = true;
    void this.propose({ kind: "AssignJobs", nowMs: now, assignments: picks }).finally(() => {
      this.assignInFlight = false;
      this.poke(); // more may be waiting
    });
  }

  private requeueExpiredLeases(now: number): void {
    if (this.requeueInFlight) return;
    const expired = findExpiredLeases(this.o.machine.state, now, MAX_REQUEUES_PER_PROPOSAL);
    if (expired.length === 0) return;
    this.requeueInFlight = true;
    void this.propose({
      kind: "RequeueJobs",
      nowMs: now,
      jitterSeed: this.jitterSeed(),
      reason: "lease_expired",
      jobs: expired.map((e) => ({ jobId: e.jobId, token: e.token })),
    }).finally(() => (this.requeueInFlight = false));
  }

  private declareLostWorkers(now: number): void {
    const lost = this.liveness.lostWorkers(now);
    for (const workerId of lost.slice(0, MAX_LOST_WORKERS_PER_ROUND)) {
      if (this.deregistering.has(workerId)) continue;
      this.deregistering.add(workerId);
      this.o.logger.warn({ workerId }, "worker lost: requeueing its jobs");
      void this.propose({
        kind: "DeregisterWorker",
        nowMs: now,
        jitterSeed: this.jitterSeed(),
        workerId,
        reason: "lost",
      }).finally(() => this.deregistering.delete(workerId));
    }
  }

  private jitterSeed(): number {
    return Math.floor(this.random() * 0x7fffffff);
  }

  private async propose(cmd: JobCommand): Promise<void> {
    try {
      await this.o.replica.propose(encodeCommand(cmd), true);
    } catch (e) {
      this.o.logger.debug({ err: e, kind: cmd.kind }, "leader duty proposal failed");
    }
  }
}

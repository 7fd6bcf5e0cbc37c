/**
 * Worker liveness: the leader's soft state, never replicated. Workers send
 * heartbeats to the node they are connected to; that node reports them here
 * with `heard` (no log entry per heartbeat). A worker is live while it was
 * heard within the window (default 3 s).
 *
 * A freshly elected leader has heard nobody yet, so onBecameLeader gives every
 * registered worker a full window from that moment before any can be declared
 * lost. A registration counts as being heard. When lostWorkers names a worker,
 * the leader proposes DeregisterWorker{reason: "lost"}, which requeues its jobs.
 */
export const DEFAULT_LIVENESS_WINDOW_MS = 3000;

export interface WorkerRegistry {
  hasWorker(workerId: string): boolean;
  workerRegistrations(): Iterable<{ readonly workerId: string; readonly registeredAtMs: number }>;
}

export class WorkerLiveness {
  private readonly lastHeardMs = new Map<string, number>();
  /** When this node last became leader; undefined while it is not the leader. */
  private leaderSinceMs: number | undefined;

  constructor(
    private readonly registry: WorkerRegistry,
    readonly windowMs: number = DEFAULT_LIVENESS_WINDOW_MS,
  ) {}

  /** A heartbeat (or any message) from a worker. Unregistered ids are ignored, which bounds the table. */
  heard(workerId: string, nowMs: number): void {
    if (!this.registry.hasWorker(workerId)) return;
    const previous = this.lastHeardMs.get(workerId);
    if (previous === undefined || nowMs > previous) this.lastHeardMs.set(workerId, nowMs);
  }

  onBecameLeader(nowMs: number): void {
    this.leaderSinceMs = nowMs;
  }

  onLostLeadership(): void {
    this.leaderSinceMs = undefined;
  }

  isLeader(): boolean {
    return this.leaderSinceMs !== undefined;
  }

  isLive(workerId: string, nowMs: number): boolean {
    return this.registry.hasWorker(workerId) && nowMs - this.lastSeenMs(workerId, 0) <= this.windowMs;
  }

  /** Registered workers not heard within the window. Empty unless leader. O(registered workers). */
  lostWorkers(nowMs: number): string[] {
    const lost: string[] = [];
    if (this.leaderSinceMs === undefined) return lost;
    for (const { workerId, registeredAtMs } of this.registry.workerRegistrations()) {
      if (nowMs - this.lastSeenMs(workerId, registeredAtMs) > this.windowMs) lost.push(workerId);
    }
    // Forget workers that are no longer registered.
    for (const workerId of this.lastHeardMs.keys()) {
      if (!this.registry.hasWorker(workerId)) this.lastHeardMs.delete(workerId);
    }
    return lost;
  }

  private lastSeenMs(workerId: string, registeredAtMs: number): number {
    return Math.max(
      this.lastHeardMs.get(workerId) ?? -Infinity,
      this.leaderSinceMs ?? -Infinity,
      registeredAtMs,
    );
  }
}

import type { Logger } from "pino";
import type { NodeMetrics } from "../observability/metrics.js";

/** Two heartbeat intervals without a timer: the event loop stalled. */
export const STALL_WARN_MS = 100;
/** At most one stall warning per this many ms; the others are counted into it. */
const STALL_LOG_INTERVAL_MS = 5_000;

/**
 * No timer ran for a while: heartbeats (a leader's) or election checks were
 * late by that much, and past the election timeout followers start an
 * election. Every stall is counted (raftq_event_loop_stalls_total); one per
 * STALL_LOG_INTERVAL_MS is logged with what the node was doing, as etcd warns
 * of heartbeats sent late.
 */
export class StallReporter {
  private unlogged = 0;
  private loggedAtMs = 0;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: NodeMetrics | null,
    /** What the node is doing, for the log line (role, snapshot activity, ...). */
    private readonly describe: () => Record<string, unknown>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  report(gapMs: number): void {
    this.metrics?.eventLoopStalls.inc();
    this.unlogged++;
    const now = this.nowMs();
    if (now - this.loggedAtMs < STALL_LOG_INTERVAL_MS) return;
    this.loggedAtMs = now;
    this.logger.warn(
      {
        gapMs: Math.round(gapMs),
        ...this.describe(),
        stallsSinceLastLog: this.unlogged,
        heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      },
      "event loop stalled: timers (heartbeats, election checks) ran late; CPU starved, a long GC or a long synchronous step",
    );
    this.unlogged = 0;
  }
}

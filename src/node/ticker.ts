/**
 * Drives RaftCore.tick() at a wall-clock rate. A plain setInterval counts
 * callbacks, and on a busy event loop each callback runs late: measured on
 * 2 shared cores under the failover benchmark, 10 ms ticks took 11-14 ms, so
 * a "150-300 ms" election timeout took up to 400 ms. This counts the ticks
 * that are due by the clock and runs those, catching up a few at most: after
 * a long stall (GC, SIGSTOP) the missed time is dropped rather than replayed
 * in a burst, as Go's time.Ticker does for etcd.
 */
export interface TickerOptions {
  readonly tickMs: number;
  /** Most ticks run by one timer callback; the rest of a longer gap is dropped. */
  readonly maxCatchUpTicks: number;
  readonly onTick: () => void;
  /** A callback this late (ms since the previous one) is a stall: reported to onStall. Default: never. */
  readonly stallMs?: number;
  /** The event loop ran no timer for `gapMs` (GC, CPU starvation, a long synchronous step, SIGSTOP). */
  readonly onStall?: (gapMs: number) => void;
  /** Milliseconds from a monotonic clock. */
  readonly now?: () => number;
}

export class WallClockTicker {
  private timer: NodeJS.Timeout | null = null;
  /** Clock time up to which ticks have been accounted for (run or dropped). */
  private accountedMs = 0;
  /** When poll() last ran. */
  private polledMs = 0;
  private readonly now: () => number;

  constructor(private readonly o: TickerOptions) {
    if (!(o.tickMs > 0)) throw new Error(`tickMs must be positive, got ${o.tickMs}`);
    if (!(o.maxCatchUpTicks >= 1)) throw new Error(`maxCatchUpTicks must be >= 1, got ${o.maxCatchUpTicks}`);
    this.now = o.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer !== null) return;
    this.accountedMs = this.now();
    this.polledMs = this.accountedMs;
    this.timer = setInterval(() => this.poll(), this.o.tickMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs the ticks due by now; returns how many ran. Called by the timer (and by tests). */
  poll(): number {
    const now = this.now();
    const gapMs = now - this.polledMs;
    this.polledMs = now;
    if (this.o.stallMs !== undefined && gapMs >= this.o.stallMs) this.o.onStall?.(gapMs);
    const due = Math.floor((now - this.accountedMs) / this.o.tickMs);
    if (due <= 0) return 0;
    const run = Math.min(due, this.o.maxCatchUpTicks);
    // Keep the fraction of a tick already elapsed; drop whole ticks beyond the cap.
    this.accountedMs += due * this.o.tickMs;
    for (let i = 0; i < run; i++) this.o.onTick();
    return run;
  }
}

/**
 * Batches a worker's job outcomes into BatchUpdateJobStatus calls: a batch
 * goes out when it holds `batchSize` outcomes or `flushIntervalMs` after its
 * first one, whichever comes first. Each report resolves with its own result.
 */
import type { Connections } from "./connections.js";
import type { WireStatusUpdate, WireUpdateResult } from "./wire.js";

/** Batching of outcome reports. */
export interface ReporterOptions {
  /** Outcomes per BatchUpdateJobStatus call at most. Default 64. */
  batchSize?: number;
  /** Longest wait before a partial batch is sent, in ms. Default 5. */
  flushIntervalMs?: number;
  /** Deadline of one batch, retries included, in ms. Default 30000. */
  timeoutMs?: number;
}

/** The outcome of one report; `reason` REPORT_FAILED when the cluster could not be told in time. */
export interface ReportResult {
  ok: boolean;
  code: string;
  reason: string;
  message: string;
}

/** Reason given when a batch could not be delivered within its deadline. */
export const REPORT_FAILED = "REPORT_FAILED";

interface Pending {
  update: WireStatusUpdate;
  resolve: (r: ReportResult) => void;
}

export class Reporter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly timeoutMs: number;
  /** Batches sent so far (for tests and stats). */
  batchesSent = 0;

  constructor(
    private readonly connections: Connections,
    options: ReporterOptions = {},
  ) {
    this.batchSize = Math.max(1, Math.min(10_000, options.batchSize ?? 64));
    this.flushIntervalMs = options.flushIntervalMs ?? 5;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Queue one outcome; resolves once the cluster answered for it (never rejects). */
  report(update: WireStatusUpdate): Promise<ReportResult> {
    return new Promise((resolve) => {
      this.pending.push({ update, resolve });
      if (this.pending.length >= this.batchSize) this.sendNow();
      else if (this.timer === null) this.timer = setTimeout(() => this.sendNow(), this.flushIntervalMs);
    });
  }

  /** Send what is queued and wait for every batch in flight. */
  async flush(): Promise<void> {
    this.sendNow();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private sendNow(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.batchSize);
      const p = this.send(batch).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    this.batchesSent++;
    try {
      // Reports are idempotent (a repeated outcome answers duplicate), so DEADLINE_EXCEEDED is retried too.
      const res = await this.connections.call<{ results: WireUpdateResult[] }>(
        "WorkerService",
        "BatchUpdateJobStatus",
        { updates: batch.map((b) => b.update) },
        { target: "leader", idempotent: true },
        { timeoutMs: this.timeoutMs },
      );
      batch.forEach((b, i) => {
        const r = res.results[i];
        b.resolve(
          r === undefined
            ? {
                ok: false,
                code: "INTERNAL",
                reason: "",
                message: "the cluster returned fewer results than updates",
              }
            : { ok: r.ok, code: r.code, reason: r.reason, message: r.message },
        );
      });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      for (const b of batch) {
        b.resolve({
          ok: false,
          code: err.code ?? "UNKNOWN",
          reason: REPORT_FAILED,
          message: err.message ?? String(e),
        });
      }
    }
  }
}

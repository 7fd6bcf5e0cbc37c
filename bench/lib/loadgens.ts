/**
 * Parent side of bench/lib/loadgen.ts: fork N load-generator processes, give
 * them one window together, merge their results.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { trackChild } from "./cluster.js";
import { cpuSample, cpuPercent, type CpuSample } from "./procstat.js";
import { summarize, type LatencySummary } from "./stats.js";
import type { LoadConfig, LoadResult } from "./loadgen.js";

const LOADGEN = join(import.meta.dirname, "loadgen.ts");

export const DEFAULT_LOAD: LoadConfig = {
  mode: "submit",
  targets: [],
  inFlight: 1,
  batch: 0,
  payloadBytes: 128,
  queue: "bench",
  total: 0,
  channels: 1,
  workers: 1,
  reportTarget: "",
  concurrency: 1000,
  eventsPerMessage: Number(process.env.BENCH_EVENTS_PER_MESSAGE ?? 1000),
  tag: "lg",
  deadlineMs: 10_000,
  keys: false,
};

export interface Merged {
  processes: number;
  ok: number;
  calls: number;
  errors: Record<string, number>;
  /** acknowledged jobs per second over the window */
  rate: number;
  latency: LatencySummary;
  wallMs: number;
  /** first and last acknowledgement over all processes (epoch ms; 0 when none) */
  firstAtMs: number;
  lastAtMs: number;
  /** CPU of each load generator as % of one core */
  loadgenCpu: number[];
}

export class LoadGens {
  private readonly children: ChildProcess[] = [];
  private readonly results: Promise<LoadResult>[] = [];

  private constructor() {}

  /** Fork one child per config and wait until each is connected and ready. */
  static async spawn(configs: LoadConfig[]): Promise<LoadGens> {
    const g = new LoadGens();
    await Promise.all(
      configs.map(async (cfg) => {
        const child = fork(LOADGEN, [], {
          execArgv: ["--import", "tsx"],
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        g.children.push(child);
        trackChild(child);
        const ready = new Promise<void>((res, rej) => {
          const onMsg = (m: { type: string }) => {
            if (m.type === "ready") {
              child.off("message", onMsg);
              res();
            }
          };
          child.on("message", onMsg);
          child.once("exit", (code) => rej(new Error(`load generator exited with ${code} before ready`)));
        });
        g.results.push(
          new Promise<LoadResult>((res, rej) => {
            child.on("message", (m: { type: string; result?: LoadResult }) => {
              if (m.type === "result" && m.result) res(m.result);
            });
            child.once("exit", (code) => rej(new Error(`load generator exited with ${code}`)));
          }),
        );
        child.send({ type: "config", config: cfg });
        await ready;
      }),
    );
    return g;
  }

  pids(): number[] {
    return this.children.map((c) => c.pid ?? 0);
  }

  go(warmupMs: number, durationMs: number): void {
    for (const c of this.children) c.send({ type: "go", warmupMs, durationMs });
  }

  stop(): void {
    for (const c of this.children) if (c.connected) c.send({ type: "stop" });
  }

  /** Wait for every result, then let the children exit. */
  async collect(): Promise<LoadResult[]> {
    const all = await Promise.all(this.results);
    await this.close();
    return all;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const t = setTimeout(() => c.kill("SIGKILL"), 3000);
            c.once("exit", () => {
              clearTimeout(t);
              res();
            });
            if (c.connected) c.send({ type: "exit" });
            else c.kill("SIGTERM");
          }),
      ),
    );
  }
}

export function merge(results: LoadResult[]): Merged {
  const lat: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let calls = 0;
  let first = Infinity;
  let last = 0;
  let wall = 0;
  for (const r of results) {
    for (const x of r.latencies) lat.push(x);
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    ok += r.ok;
    calls += r.calls;
    if (r.firstAtMs > 0) first = Math.min(first, r.firstAtMs);
    last = Math.max(last, r.lastAtMs);
    wall = Math.max(wall, r.wallMs);
  }
  return {
    processes: results.length,
    ok,
    calls,
    errors,
    rate: wall > 0 ? (ok * 1000) / wall : 0,
    latency: summarize(lat),
    wallMs: wall,
    firstAtMs: Number.isFinite(first) ? first : 0,
    lastAtMs: last,
    loadgenCpu: results.map((r) => (r.wallMs > 0 ? (100 * r.cpuMs) / r.wallMs : 0)),
  };
}

/** Sample the CPU of some pids now and return a function that gives % of one core since. */
export function cpuMeter(pids: Map<string, number | null>): () => Record<string, number | null> {
  const start = new Map<string, CpuSample | null>();
  for (const [k, pid] of pids) start.set(k, pid ? cpuSample(pid) : null);
  return () => {
    const out: Record<string, number | null> = {};
    for (const [k, pid] of pids) {
      const v = cpuPercent(start.get(k) ?? null, pid ? cpuSample(pid) : null);
      out[k] = v === null ? null : Math.round(v);
    }
    return out;
  };
}

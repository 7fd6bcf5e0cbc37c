/**
 * A load-generator process. The parent forks it (bench/lib/loadgens.ts),
 * sends one LoadConfig, waits for "ready" from every child, then sends "go"
 * so all children measure the same window. Each child reports its latencies
 * (ms), counts, errors by code and its own CPU use over IPC.
 *
 * Modes:
 * - submit: SubmitJob (batch 0) or SubmitJobs (batch N) with `inFlight` calls outstanding.
 * - etcd: etcd v3 KV.Put of `payloadBytes`-byte values, `inFlight` outstanding.
 * - worker: registers workers, streams assignments, completes each at once
 *   (no-op handler) through BatchUpdateJobStatus; reports submit-to-completed latency.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadRaftqProto } from "../../src/wire/proto.js";
import { harnessWithoutSourceMaps } from "./build.js";
import { thin } from "./stats.js";

export interface LoadConfig {
  mode: "submit" | "etcd" | "worker";
  /** host:port to send to (round-robin over channels when several). */
  targets: string[];
  inFlight: number;
  /** 0 = SubmitJob, N = SubmitJobs with N jobs per call. */
  batch: number;
  payloadBytes: number;
  queue: string;
  /** Stop after this many jobs acknowledged (0 = run for the duration). */
  total: number;
  /** gRPC channels (TCP connections) this process opens per target. */
  channels: number;
  /** worker mode: workers in this process and each one's concurrency. */
  workers: number;
  /**
   * worker mode: where registrations, heartbeats and job outcomes go (the SDK's Worker sends
   * them to the leader); empty = the node the assignment stream comes from (targets[0]).
   */
  reportTarget: string;
  concurrency: number;
  /** worker mode: StreamAssignments' max_events_per_message (1 = one job per message; the SDK's Worker asks for 1000). */
  eventsPerMessage: number;
  /** Prefix for ids (idempotency keys, worker ids, etcd keys). */
  tag: string;
  /** Per-call deadline. */
  deadlineMs: number;
  /** Use idempotency keys on submits. */
  keys: boolean;
}

export interface LoadResult {
  tag: string;
  mode: string;
  /** jobs (or puts) acknowledged in the window */
  ok: number;
  /** calls acknowledged in the window */
  calls: number;
  errors: Record<string, number>;
  /** latency per call (ms), thinned to at most 200,000 */
  latencies: number[];
  wallMs: number;
  cpuMs: number;
  /** first and last acknowledgement (epoch ms) */
  firstAtMs: number;
  lastAtMs: number;
}

type Msg =
  | { type: "config"; config: LoadConfig }
  | { type: "go"; warmupMs: number; durationMs: number }
  | { type: "stop" }
  | { type: "exit" };

function send(m: unknown): void {
  process.send?.(m);
}

const ETCD_PROTO = join(import.meta.dirname, "etcd-kv.proto");
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 50,
  "grpc.max_reconnect_backoff_ms": 500,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
};

type Unary = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: unknown) => void,
) => void;

function unaryFns(
  cfg: LoadConfig,
  service: "JobService" | "WorkerService" | "etcd",
  method: string,
): Unary[] {
  const fns: Unary[] = [];
  for (let c = 0; c < cfg.channels; c++)
    for (const t of cfg.targets) {
      // A distinct channel option makes grpc-js open a separate connection per client.
      const opts = { ...CHANNEL_OPTIONS, "grpc.raftq_bench_channel": c };
      let client: grpc.Client;
      if (service === "etcd") {
        const def = protoLoader.loadSync(ETCD_PROTO, { keepCase: false, longs: Number, defaults: true });
        const pkg = grpc.loadPackageDefinition(def) as unknown as {
          etcdserverpb: { KV: grpc.ServiceClientConstructor };
        };
        client = new pkg.etcdserverpb.KV(t, grpc.credentials.createInsecure(), opts);
      } else {
        client = new (loadRaftqProto().pkg[service])(t, grpc.credentials.createInsecure(), opts);
      }
      const fn = (client as unknown as Record<string, Unary>)[method]!;
      fns.push(fn.bind(client));
    }
  return fns;
}

let state: "idle" | "warmup" | "measure" | "done" = "idle";
let stopRequested = false;
const latencies: number[] = [];
const errors: Record<string, number> = {};
let ok = 0;
let calls = 0;
let firstAt = 0;
let lastAt = 0;
let cpu0 = process.cpuUsage();
let wall0 = 0;
let wallEnd = 0;
let cpuEnd = 0;

function record(latMs: number, jobs: number): void {
  if (state !== "measure") return;
  const now = Date.now();
  if (firstAt === 0) firstAt = now;
  lastAt = now;
  latencies.push(latMs);
  ok += jobs;
  calls++;
}

function recordError(code: string): void {
  if (state === "measure" || state === "warmup") errors[code] = (errors[code] ?? 0) + 1;
}

function errName(e: grpc.ServiceError): string {
  return grpc.status[e.code] ?? String(e.code);
}

async function runSubmit(cfg: LoadConfig, fns: Unary[], make: (seq: number) => unknown): Promise<void> {
  let seq = 0;
  const perCall = cfg.mode === "etcd" ? 1 : Math.max(1, cfg.batch);
  const loop = async (slot: number): Promise<void> => {
    const fn = fns[slot % fns.length]!;
    while (state !== "done" && !stopRequested) {
      if (cfg.total > 0 && ok >= cfg.total) break;
      const req = make(seq++);
      const t0 = performance.now();
      await new Promise<void>((res) =>
        fn(req, { deadline: Date.now() + cfg.deadlineMs }, (e) => {
          if (e) {
            recordError(errName(e));
            // Back off a little on errors so a saturated or leaderless cluster is not spun against.
            setTimeout(res, 5);
          } else {
            record(performance.now() - t0, perCall);
            res();
          }
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: cfg.inFlight }, (_, i) => loop(i)));
}

function submitMaker(cfg: LoadConfig): { method: string; make: (seq: number) => unknown } {
  const payload = Buffer.alloc(cfg.payloadBytes, 120);
  const spec = (seq: number, i: number) => ({
    queue: cfg.queue,
    type: "bench",
    payload,
    idempotencyKey: cfg.keys ? `${cfg.tag}-${seq}-${i}` : "",
  });
  if (cfg.batch === 0) return { method: "SubmitJob", make: (seq) => ({ job: spec(seq, 0) }) };
  return {
    method: "SubmitJobs",
    make: (seq) => ({ jobs: Array.from({ length: cfg.batch }, (_, i) => spec(seq, i)) }),
  };
}

interface Assigned {
  job: { id: string; submittedAtMs: number };
  token: number;
}

async function runWorkers(cfg: LoadConfig): Promise<void> {
  const Ctor = loadRaftqProto().pkg.WorkerService;
  const target = cfg.targets[0]!;
  const clients = Array.from(
    { length: cfg.workers },
    (_, i) => new Ctor(target, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, "grpc.raftq_w": i }),
  );
  // Unary calls (register, heartbeat, outcomes) on their own channels when they go elsewhere.
  const unaryClients =
    cfg.reportTarget === "" || cfg.reportTarget === target
      ? clients
      : clients.map(
          (_, i) =>
            new Ctor(cfg.reportTarget, grpc.credentials.createInsecure(), {
              ...CHANNEL_OPTIONS,
              "grpc.raftq_w": i,
            }),
        );
  const call = (c: grpc.Client, method: string, req: unknown): Promise<Record<string, unknown>> =>
    new Promise((res, rej) =>
      (c as unknown as Record<string, Unary>)[method]!.call(
        c,
        req,
        { deadline: Date.now() + cfg.deadlineMs },
        (e, r) => (e ? rej(e) : res(r as Record<string, unknown>)),
      ),
    );
  await Promise.all(
    unaryClients.map((c, i) =>
      call(c, "RegisterWorker", {
        workerId: `${cfg.tag}-w${i}`,
        queues: [cfg.queue],
        concurrency: cfg.concurrency,
      }),
    ),
  );
  const timers: NodeJS.Timeout[] = [];
  const streams: grpc.ClientReadableStream<unknown>[] = [];
  await new Promise<void>((resolveAll) => {
    clients.forEach((c, i) => {
      const u = unaryClients[i]!;
      const workerId = `${cfg.tag}-w${i}`;
      timers.push(
        setInterval(() => {
          call(u, "Heartbeat", { workerId }).catch((e: grpc.ServiceError) => recordError("hb " + errName(e)));
        }, 300),
      );
      let pending: { a: Assigned; at: number }[] = [];
      let flushing = false;
      const flush = async (): Promise<void> => {
        if (flushing || pending.length === 0) return;
        flushing = true;
        while (pending.length > 0) {
          const batch = pending.slice(0, 500);
          pending = pending.slice(batch.length);
          // Retried on errors (the token makes a retried report a duplicate, never a second completion).
          for (let attempt = 0; attempt < 20; attempt++) {
            try {
              const r = await call(u, "BatchUpdateJobStatus", {
                updates: batch.map(({ a }) => ({
                  jobId: a.job.id,
                  workerId,
                  token: a.token,
                  completed: { result: Buffer.alloc(0) },
                })),
              });
              const now = Date.now();
              const results = (r.results as { ok: boolean; code: string }[]) ?? [];
              results.forEach((res, k) => {
                if (res.ok) {
                  const a = batch[k]!.a;
                  if (state === "measure") {
                    if (firstAt === 0) firstAt = now;
                    lastAt = now;
                    latencies.push(now - a.job.submittedAtMs);
                    ok++;
                  }
                } else recordError(res.code || "not ok");
              });
              if (state === "measure") calls++;
              break;
            } catch (e) {
              recordError("batch " + errName(e as grpc.ServiceError));
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
        flushing = false;
      };
      const s = (
        c as unknown as { StreamAssignments(r: unknown): grpc.ClientReadableStream<unknown> }
      ).StreamAssignments({ workerId, maxEventsPerMessage: cfg.eventsPerMessage });
      streams.push(s);
      type Event = { assigned?: Assigned | null; batch?: { events: Event[] } | null };
      s.on("data", (ev: Event) => {
        const at = Date.now();
        for (const e of ev.batch ? ev.batch.events : [ev])
          if (e.assigned) pending.push({ a: e.assigned, at });
        if (pending.length >= 500) void flush();
        else if (pending.length > 0) setImmediate(() => void flush());
      });
      s.on("error", (e: grpc.ServiceError) => {
        if (e.code !== grpc.status.CANCELLED) recordError("stream " + errName(e));
      });
    });
    const check = setInterval(() => {
      if (state === "done" || stopRequested || (cfg.total > 0 && ok >= cfg.total)) {
        clearInterval(check);
        resolveAll();
      }
    }, 20);
  });
  for (const t of timers) clearInterval(t);
  for (const s of streams) s.cancel();
  await Promise.all(
    unaryClients.map((c, i) =>
      call(c, "DeregisterWorker", { workerId: `${cfg.tag}-w${i}` }).catch(() => undefined),
    ),
  );
}

function finish(cfg: LoadConfig): void {
  if (wallEnd === 0) {
    wallEnd = performance.now();
    const c = process.cpuUsage(cpu0);
    cpuEnd = (c.user + c.system) / 1000;
  }
  const result: LoadResult = {
    tag: cfg.tag,
    mode: cfg.mode,
    ok,
    calls,
    errors,
    latencies: thin(latencies, 200_000),
    wallMs: wallEnd - wall0,
    cpuMs: cpuEnd,
    firstAtMs: firstAt,
    lastAtMs: lastAt,
  };
  send({ type: "result", result });
}

harnessWithoutSourceMaps();
let config: LoadConfig | null = null;
let runner: Promise<void> | null = null;

process.on("message", (m: Msg) => {
  if (m.type === "config") {
    config = m.config;
    const cfg = config;
    if (cfg.mode === "worker") {
      send({ type: "ready" });
      return;
    }
    const sm = submitMaker(cfg);
    const fns =
      cfg.mode === "etcd"
        ? unaryFns(cfg, "etcd", "put")
        : unaryFns(cfg, "JobService", sm.method.charAt(0).toLowerCase() + sm.method.slice(1));
    const value = Buffer.alloc(cfg.payloadBytes, 120);
    const make =
      cfg.mode === "etcd"
        ? (seq: number) => ({ key: Buffer.from(`${cfg.tag}/${seq % 100_000}`), value })
        : sm.make;
    (globalThis as { __bench?: unknown }).__bench = { fns, make };
    send({ type: "ready" });
  } else if (m.type === "go" && config !== null) {
    const cfg = config;
    state = "warmup";
    const start = () => {
      if (state !== "warmup") return;
      state = "measure";
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
    };
    if (m.warmupMs > 0) setTimeout(start, m.warmupMs);
    else start();
    if (m.durationMs > 0)
      setTimeout(() => {
        end(cfg);
      }, m.warmupMs + m.durationMs);
    const b = (globalThis as { __bench?: { fns: Unary[]; make: (seq: number) => unknown } }).__bench;
    runner = cfg.mode === "worker" ? runWorkers(cfg) : runSubmit(cfg, b!.fns, b!.make);
    void runner.then(() => end(cfg));
  } else if (m.type === "stop" && config !== null) {
    end(config);
  } else if (m.type === "exit") {
    process.exit(0);
  }
});

let ended = false;
function end(cfg: LoadConfig): void {
  if (ended) return;
  ended = true;
  if (state === "warmup") {
    state = "measure";
    cpu0 = process.cpuUsage();
    wall0 = performance.now();
  }
  wallEnd = performance.now();
  const c = process.cpuUsage(cpu0);
  cpuEnd = (c.user + c.system) / 1000;
  state = "done";
  stopRequested = true;
  finish(cfg);
}

process.on("disconnect", () => process.exit(0));

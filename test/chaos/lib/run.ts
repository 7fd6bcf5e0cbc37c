/**
 * One Jepsen-style chaos run against three real `raftq node` processes
 * (RocksDB, sync on) whose peer links each go through a proxy owned here
 * (one in front of each node, which tells the dialling nodes apart).
 *
 * While a seeded nemesis (nemesis.ts) kills (-9), pauses (SIGSTOP/SIGCONT),
 * restarts nodes, fails their disks, replaces a member whose disk is lost
 * (replace-member.ts) and partitions, stalls or delays peer links, clients
 * submit jobs
 * (with and without idempotency keys, retrying keyed submits), cancel some,
 * read some linearizably, and workers (raw WorkerService gRPC) run them;
 * some workers go silent for longer than the liveness window so their jobs
 * are requeued and their late reports must be refused. Every operation is
 * recorded; then faults heal, workers finish the backlog, the final state is
 * read from every node and the checker runs.
 *
 * The fault schedule and client choices follow the seed; timing does not,
 * so a replay reproduces the same kinds of faults in the same order.
 */
import type * as grpc from "@grpc/grpc-js";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchCluster, sleep } from "../../../bench/lib/cluster.js";
import { check, type CheckResult } from "./checker.js";
import {
  chaosNodeEnv,
  FAULTS,
  NETWORK_FAULTS,
  PROCESS_FAULTS,
  runNemesis,
  type DiskFaultCounts,
  type Fault,
} from "./nemesis.js";
import { outcomeOf, type FinalState, type JobView, type Op } from "./history.js";
import type { MemberReplacements } from "./replace-member.js";

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  /** where history and logs go; kept when the run fails or keep is set */
  dir?: string;
  keep?: boolean;
  clients?: number;
  workers?: number;
  /**
   * Two nemeses at once, one for process and disk faults and one for the links (nemesis.ts), so
   * faults overlap: a partition while a node is down, paused or on a failing disk. Default: one
   * fault at a time.
   */
  overlap?: boolean;
  /** Only these faults (default: all of FAULTS); `--faults` of `npm run chaos`. */
  faults?: readonly Fault[];
  log?: (s: string) => void;
}

export interface ChaosResult extends CheckResult {
  seed: number;
  durationMs: number;
  dir: string;
  ok: boolean;
  replay: string;
  /** Snapshots nodes installed from a leader (from their logs): the runs should cover InstallSnapshot. */
  snapshotsInstalled: number;
  /**
   * Disk faults: a node restarted with storage fault injection whose disk then failed (it must
   * stop by itself: exit 1 after logging the fatal error), and those whose node had not written
   * enough to reach the failure within the fault's time (killed instead).
   */
  diskFaults: DiskFaultCounts;
  /** `replace-member` faults: members removed, wiped, re-added and promoted; removals given up. */
  memberReplacements: MemberReplacements;
}

/** mulberry32 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const QUEUE = "chaos";
const LIVENESS_MS = 1500;

type Unary = (
  r: unknown,
  o: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, res: unknown) => void,
) => void;

interface WireJob {
  id: string;
  state: string;
  attempts: number;
  workerId: string;
  token: number;
  idempotencyKey: string;
  result: Buffer;
}

function view(j: WireJob): JobView {
  return {
    id: j.id,
    state: j.state,
    attempts: j.attempts,
    workerId: j.workerId,
    token: j.token,
    idempotencyKey: j.idempotencyKey,
    result: Buffer.from(j.result ?? []).toString(),
  };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const random = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const dir = o.dir ?? join(tmpdir(), `raftq-chaos-${o.seed}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const history: Op[] = [];
  const t0 = Date.now();
  const rec = (op: Op) => history.push(op);
  const nem = (what: string) => {
    rec({ kind: "nemesis", process: "nemesis", what, atMs: Date.now() });
    log(`  [${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);
  };

  const c = await BenchCluster.create({
    proxies: true,
    baseDir: join(dir, "cluster"),
    nodeEnv: chaosNodeEnv(join(dir, "cluster")),
    logLevel: "info",
    extraArgs: ["--liveness-window-ms", String(LIVENESS_MS), "--proposal-timeout-ms", "2000"],
  });
  const ids = c.nodes.map((n) => n.id);
  let stopping = false;
  const unexpectedExits: string[] = [];
  const expectedDown = new Set<string>();
  const diskFaults: DiskFaultCounts = {
    failed: 0,
    notReached: 0,
    midTerm: 0,
    leaderStalls: 0,
    leaderStallsMoved: 0,
  };
  const memberReplacements: MemberReplacements = { done: 0, abandoned: 0 };

  const call = <T>(
    node: string,
    service: "JobService" | "WorkerService" | "ClusterService",
    method: string,
    req: unknown,
    ms: number,
  ) =>
    new Promise<T>((res, rej) => {
      if (c.node(node).proc === null) return rej(Object.assign(new Error("node down"), { code: 14 }));
      const cl = c.client(node, service) as unknown as Record<string, Unary>;
      cl[method]!.call(cl, req, { deadline: Date.now() + ms }, (e, r) => (e ? rej(e) : res(r as T)));
    });
  /** What the error said (gRPC details), bounded: kept in the history of a failing run. */
  const detailOf = (e: unknown): string => {
    const err = e as { details?: unknown; message?: unknown };
    const text = typeof err.details === "string" ? err.details : String(err.message ?? e);
    return text.length > 300 ? `${text.slice(0, 300)}...` : text;
  };
  const codeName = (e: unknown): string => {
    const code = (e as { code?: number }).code;
    const names = [
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
    ];
    return code === undefined ? "UNKNOWN" : (names[code] ?? String(code));
  };

  const watched = new WeakSet<object>();
  const watchExits = () => {
    for (const n of c.nodes) {
      const p = n.proc;
      if (p === null || watched.has(p)) continue;
      watched.add(p);
      p.once("exit", (code, signal) => {
        if (!expectedDown.has(n.id) && !stopping) {
          unexpectedExits.push(
            `${n.id} exited by itself (${code ?? signal}): see ${join(c.baseDir, n.id + ".log")}`,
          );
          nem(`!! ${n.id} exited by itself (${code ?? signal}); restarting it`);
          void c.startNode(n.id).then(watchExits, () => undefined);
        }
      });
    }
  };

  let result: ChaosResult | null = null;
  try {
    await Promise.all(ids.map((id) => c.startNode(id)));
    watchExits();
    await c.waitForLeader(30_000);
    const endAt = Date.now() + o.durationMs;
    const live = () => ids.filter((id) => c.node(id).proc !== null);

    // ------------------------------------------------------------------ clients
    const acked: string[] = [];
    const clientLoop = async (ci: number) => {
      for (let n = 0; Date.now() < endAt; n++) {
        const keyed = random() < 0.85;
        const key = keyed ? `c${ci}-${n}` : "";
        for (let attempt = 0; attempt < (keyed ? 6 : 1) && Date.now() < endAt + 3000; attempt++) {
          const node = pick(live().length > 0 ? live() : ids);
          const invokeMs = Date.now();
          try {
            const r = await call<{ jobId: string; duplicate: boolean }>(
              node,
              "JobService",
              "SubmitJob",
              {
                job: {
                  queue: QUEUE,
                  type: "chaos",
                  payload: Buffer.from(key || `nokey-${ci}-${n}`),
                  idempotencyKey: key,
                },
              },
              2500,
            );
            rec({
              kind: "submit",
              process: `c${ci}`,
              key,
              node,
              invokeMs,
              completeMs: Date.now(),
              outcome: "ok",
              jobId: r.jobId,
              duplicate: r.duplicate,
            });
            acked.push(r.jobId);
            if (random() < 0.03) {
              const cn = pick(ids);
              const ci0 = Date.now();
              try {
                const cr = await call<{ cancelled: boolean }>(
                  cn,
                  "JobService",
                  "CancelJob",
                  { jobId: r.jobId, reason: "chaos" },
                  2500,
                );
                rec({
                  kind: "cancel",
                  process: `c${ci}`,
                  jobId: r.jobId,
                  node: cn,
                  invokeMs: ci0,
                  completeMs: Date.now(),
                  outcome: "ok",
                  cancelled: cr.cancelled,
                });
              } catch (e) {
                rec({
                  kind: "cancel",
                  process: `c${ci}`,
                  jobId: r.jobId,
                  node: cn,
                  invokeMs: ci0,
                  completeMs: Date.now(),
                  outcome: outcomeOf(codeName(e)),
                  error: codeName(e),
                  detail: detailOf(e),
                });
              }
            }
            break;
          } catch (e) {
            const code = codeName(e);
            rec({
              kind: "submit",
              process: `c${ci}`,
              key,
              node,
              invokeMs,
              completeMs: Date.now(),
              outcome: outcomeOf(code),
              error: code,
              detail: detailOf(e),
            });
            await sleep(20 + random() * 80);
          }
        }
        await sleep(random() * 30);
      }
    };
    const readerLoop = async () => {
      while (Date.now() < endAt) {
        await sleep(10 + random() * 30);
        if (acked.length === 0) continue;
        const jobId = pick(acked);
        const node = pick(ids);
        const invokeMs = Date.now();
        try {
          const j = await call<WireJob>(node, "JobService", "GetJob", { jobId, linearizable: true }, 1500);
          rec({
            kind: "read",
            process: "reader",
            jobId,
            node,
            invokeMs,
            completeMs: Date.now(),
            outcome: "ok",
            job: view(j),
          });
        } catch (e) {
          const code = codeName(e);
          if (code === "NOT_FOUND")
            rec({
              kind: "read",
              process: "reader",
              jobId,
              node,
              invokeMs,
              completeMs: Date.now(),
              outcome: "ok",
              notFound: true,
            });
          else
            rec({
              kind: "read",
              process: "reader",
              jobId,
              node,
              invokeMs,
              completeMs: Date.now(),
              outcome: "unknown",
              error: code,
              detail: detailOf(e),
            });
        }
      }
    };

    // ------------------------------------------------------------------ workers
    let workersStop = false;
    const workerLoop = async (wi: number) => {
      const workerId = `w${wi}`;
      let silentUntil = 0;
      const held = new Map<string, number>(); // jobId -> token being worked on
      while (!workersStop) {
        const node = pick(live().length > 0 ? live() : ids);
        try {
          await call(
            node,
            "WorkerService",
            "RegisterWorker",
            { workerId, queues: [QUEUE], concurrency: 8 },
            2000,
          );
        } catch {
          await sleep(100 + random() * 200);
          continue;
        }
        type StreamEvent = {
          assigned?: { job: WireJob; token: number; attempt: number } | null;
          revoked?: { jobId: string; token: number; reason: string } | null;
          batch?: { events: StreamEvent[] } | null;
        };
        const client = c.client(node, "WorkerService") as unknown as {
          StreamAssignments(r: unknown): grpc.ClientReadableStream<StreamEvent>;
        };
        // Even workers take batched assignments (as the SDK's Worker does), odd ones one per message.
        const stream = client.StreamAssignments({ workerId, maxEventsPerMessage: wi % 2 === 0 ? 1000 : 0 });
        let streamDone = false;
        const beat = setInterval(() => {
          if (Date.now() < silentUntil) return;
          call<{ registered: boolean }>(node, "WorkerService", "Heartbeat", { workerId }, 1000).then(
            (r) => {
              if (!r.registered) stream.cancel(); // re-register on the next turn of the loop
            },
            () => undefined,
          );
        }, 250);
        const report = async (jobId: string, token: number) => {
          const result = `${workerId}:${token}`;
          for (let attempt = 0; !workersStop; attempt++) {
            const rn = pick(live().length > 0 ? live() : ids);
            const invokeMs = Date.now();
            try {
              const r = await call<{ duplicate: boolean }>(
                rn,
                "WorkerService",
                "UpdateJobStatus",
                { update: { jobId, workerId, token, completed: { result: Buffer.from(result) } } },
                2500,
              );
              rec({
                kind: "complete",
                process: workerId,
                jobId,
                token,
                result,
                node: rn,
                invokeMs,
                completeMs: Date.now(),
                outcome: "ok",
                duplicate: r.duplicate,
              });
              return;
            } catch (e) {
              const code = codeName(e);
              const outcome = outcomeOf(code);
              rec({
                kind: "complete",
                process: workerId,
                jobId,
                token,
                result,
                node: rn,
                invokeMs,
                completeMs: Date.now(),
                outcome,
                error: code,
                detail: detailOf(e),
              });
              if (outcome === "fail") return;
              await sleep(50 + random() * 100);
            }
          }
        };
        const onEvent = (ev: StreamEvent): void => {
          if (ev.batch) {
            for (const e of ev.batch.events) onEvent(e);
          } else if (ev.assigned) {
            const a = ev.assigned;
            rec({
              kind: "assigned",
              process: workerId,
              jobId: a.job.id,
              token: a.token,
              attempt: a.attempt,
              node,
              atMs: Date.now(),
            });
            if (held.get(a.job.id) === a.token) return;
            held.set(a.job.id, a.token);
            const work = random() * 100;
            void (async () => {
              await sleep(work);
              while (Date.now() < silentUntil) await sleep(50); // a silent worker reports late
              await report(a.job.id, a.token);
              if (held.get(a.job.id) === a.token) held.delete(a.job.id);
            })();
          } else if (ev.revoked) {
            rec({
              kind: "revoked",
              process: workerId,
              jobId: ev.revoked.jobId,
              token: ev.revoked.token,
              reason: ev.revoked.reason,
              node,
              atMs: Date.now(),
            });
          }
        };
        stream.on("data", onEvent);
        await new Promise<void>((res) => {
          const done = () => {
            if (!streamDone) {
              streamDone = true;
              res();
            }
          };
          stream.on("error", done);
          stream.on("end", done);
          stream.on("close", done);
          const poll = setInterval(() => {
            if (workersStop || c.node(node).proc === null) {
              clearInterval(poll);
              stream.cancel();
              done();
            } else if (!stopping && Date.now() < endAt && random() < 0.002) {
              // Go silent for longer than the liveness window: our jobs get requeued.
              silentUntil = Date.now() + LIVENESS_MS + 1000 + random() * 1000;
              nem(`worker ${workerId} goes silent for ${Math.round(silentUntil - Date.now())} ms`);
            }
          }, 100);
          stream.on("close", () => clearInterval(poll));
        });
        clearInterval(beat);
        await sleep(50 + random() * 100);
      }
    };

    // A peer connection around the proxies escapes the faults: the run would not test what it claims.
    const bypasses = new Set<string>();
    const noteBypasses = async (): Promise<void> => {
      for (const b of await c.bypasses()) bypasses.add(b);
    };

    // ------------------------------------------------------------------ nemesis
    const nemesisContext = (r: () => number) => ({
      cluster: c,
      ids,
      random: r,
      pick: <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!,
      note: nem,
      endAt,
      expectedDown,
      watchExits,
      unexpectedExits,
      diskFaults,
      memberReplacements,
      noteBypasses,
    });
    const faults = o.faults ?? FAULTS;
    const processFaults = PROCESS_FAULTS.filter((f) => faults.includes(f));
    const networkFaults = NETWORK_FAULTS.filter((f) => faults.includes(f));
    const nemesis = (): Promise<unknown> =>
      o.overlap === true
        ? Promise.all([
            processFaults.length > 0 && runNemesis(nemesisContext(rng(o.seed ^ 0x5eed0001)), processFaults),
            networkFaults.length > 0 && runNemesis(nemesisContext(rng(o.seed ^ 0x5eed0002)), networkFaults),
          ])
        : runNemesis(nemesisContext(random), faults);

    const clients = Array.from({ length: o.clients ?? 4 }, (_, i) => clientLoop(i));
    const workers = Array.from({ length: o.workers ?? 4 }, (_, i) => workerLoop(i));
    await Promise.all([nemesis(), readerLoop(), ...clients]);

    // ------------------------------------------------------------------ settle
    nem("end of faults: heal all, every node up");
    c.healAll();
    for (const n of c.nodes) {
      if (n.paused) await c.signal(n.id, "SIGCONT");
      if (n.proc === null) {
        await c.startNode(n.id);
        watchExits();
      }
    }
    const leader = await c.waitForLeader(30_000);
    // Workers finish the backlog.
    const settleUntil = Date.now() + Math.max(15_000, o.durationMs / 4);
    let open = Infinity;
    while (Date.now() < settleUntil) {
      await sleep(500);
      const st = await call<{
        queues: { queue: string; pending: number; scheduled: number; running: number }[];
      }>(leader, "ClusterService", "GetClusterStatus", {}, 2000).catch(() => null);
      const q = st?.queues.find((x) => x.queue === QUEUE);
      if (q) open = q.pending + q.scheduled + q.running;
      if (open === 0) break;
    }
    workersStop = true;
    await Promise.all(workers);
    stopping = true;

    // Final state: wait until every node applied the leader's commit index, then list everything.
    const commit = (await c.localStatus(leader)).commitIndex;
    for (const id of ids) {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const st = await c.localStatus(id).catch(() => null);
        if ((st?.members.find((m) => m.id === id)?.appliedIndex ?? 0) >= commit) break;
        await sleep(50);
      }
    }
    const final: FinalState = { nodes: {}, commit, applied: {} };
    for (const id of ids) {
      const st = await c.localStatus(id).catch(() => null);
      final.applied![id] = st?.members.find((m) => m.id === id)?.appliedIndex ?? -1;
      const jobs: JobView[] = [];
      let token = "";
      do {
        const page = await call<{ jobs: WireJob[]; nextPageToken: string }>(
          id,
          "JobService",
          "ListJobs",
          { queue: QUEUE, limit: 1000, pageToken: token },
          10_000,
        );
        for (const j of page.jobs) jobs.push(view(j));
        token = page.nextPageToken;
      } while (token !== "");
      final.nodes[id] = jobs;
    }
    await noteBypasses();
    const refused = [...c.proxies.values()].reduce((n, p) => n + p.unknownSources, 0);
    if (refused > 0)
      log(`  proxies refused ${refused} connection(s) no node process held (a dialler gone at once)`);
    const checked = check(history, final);
    let snapshotsInstalled = 0;
    for (const id of ids) {
      const text = await readFile(join(c.baseDir, `${id}.log`), "utf8").catch(() => "");
      snapshotsInstalled += text.split('"msg":"snapshot installed"').length - 1;
    }
    const violations = [
      ...unexpectedExits.map((s) => `node crash: ${s}`),
      ...[...bypasses].map((b) => `peer connection around the proxies (pid>real port): ${b}`),
      ...checked.violations,
    ];
    const replay = `npm run chaos -- --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)}${o.overlap === true ? " --overlap" : ""}${o.faults !== undefined ? ` --faults ${o.faults.join(",")}` : ""}`;
    result = {
      ...checked,
      violations,
      seed: o.seed,
      durationMs: o.durationMs,
      dir,
      ok: violations.length === 0,
      replay,
      snapshotsInstalled,
      diskFaults,
      memberReplacements,
    };
    await writeFile(join(dir, "history.jsonl"), history.map((h) => JSON.stringify(h)).join("\n") + "\n");
    await writeFile(join(dir, "final.json"), JSON.stringify(final));
    await writeFile(join(dir, "result.json"), JSON.stringify(result, null, 2));
    return result;
  } finally {
    stopping = true;
    if (result === null) {
      await writeFile(
        join(dir, "history.jsonl"),
        history.map((h) => JSON.stringify(h)).join("\n") + "\n",
      ).catch(() => undefined);
      log(`chaos run failed before checking; history and logs kept in ${dir}`);
    }
    const keep = o.keep === true || result === null || !result.ok;
    await c.stop(true);
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Real `raftq node` processes on loopback for benchmarks and chaos runs:
 * free ports, RocksDB data dirs, kill -9 / SIGSTOP / restart / wipe by pid,
 * optional proxies that can cut, stall or delay each directed peer link, per-node log files, and
 * CPU use from /proc. Every process started here is stopped by stop().
 */
import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { callUnary } from "../../src/wire/unary.js";
import { loadRaftqProto, type RaftqPackage } from "../../src/wire/proto.js";
import { cpuSample, rssBytes, type CpuSample } from "./procstat.js";
import { NodeProxy } from "./node-proxy.js";
import type { LinkProxy } from "./proxy.js";
import { connectionsTo, socketOwnersVisible } from "./socket-owner.js";
import { freePort } from "./free-port.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const MAIN_SOURCE = join(REPO_ROOT, "src/cli/main.ts");
/** What `npm run build` produces and the image runs (see bench/lib/build.ts). */
const MAIN_BUILT = join(REPO_ROOT, "dist/src/cli/main.js");

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every child started here, killed if this process exits or is interrupted without stop(). */
const children = new Set<ChildProcess>();
let handlersInstalled = false;

export function trackChild(p: ChildProcess): void {
  children.add(p);
  p.once("exit", () => children.delete(p));
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAll = () => {
    for (const c of children) {
      try {
        c.kill("SIGCONT");
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
}

export { freePort };

export interface NodeProc {
  readonly id: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly address: string;
  proc: ChildProcess | null;
  paused: boolean;
  starts: number;
  log: WriteStream | null;
}

/**
 * Counters summed over the running nodes' /metrics (BenchCluster.activity; compare before
 * and after a window). Each `...Seconds` is a histogram's sum, its count beside it.
 */
export interface ClusterActivity {
  /** raftq_raft_leader_changes_total: leaderships learned of (one per node per election). */
  leaderChanges: number;
  /** raftq_event_loop_stalls_total: a node's timers ran 100 ms or more late. */
  eventLoopStalls: number;
  /** raftq_snapshots_total, raftq_snapshot_seconds_sum: snapshots finished, from start to Raft. */
  snapshots: number;
  snapshotSeconds: number;
  /** raftq_storage_fsync_seconds: synced writes (one per Ready batch) on every node. */
  fsyncs: number;
  fsyncSeconds: number;
  /** raftq_peer_append_round_trip_seconds (leader only): append out to ack back, per peer. */
  roundTrips: number;
  roundTripSeconds: number;
  /** raftq_proposal_commit_seconds (leader only): proposal to applied. */
  commits: number;
  commitSeconds: number;
}

const ACTIVITY_METRICS: Record<keyof ClusterActivity, string> = {
  leaderChanges: "raftq_raft_leader_changes_total",
  eventLoopStalls: "raftq_event_loop_stalls_total",
  snapshots: "raftq_snapshots_total",
  snapshotSeconds: "raftq_snapshot_seconds_sum",
  fsyncs: "raftq_storage_fsync_seconds_count",
  fsyncSeconds: "raftq_storage_fsync_seconds_sum",
  roundTrips: "raftq_peer_append_round_trip_seconds_count",
  roundTripSeconds: "raftq_peer_append_round_trip_seconds_sum",
  commits: "raftq_proposal_commit_seconds_count",
  commitSeconds: "raftq_proposal_commit_seconds_sum",
};

export interface ClusterOptions {
  size?: number;
  /** Extra `raftq node` flags for every node. */
  extraArgs?: string[];
  /** Put a NodeProxy in front of every node: each directed peer link can then be cut, stalled or delayed. */
  proxies?: boolean;
  /** Keep logs and data here instead of a fresh temp dir (removed by stop() unless keep). */
  baseDir?: string;
  /** node flags such as --cpu-prof */
  nodeArgs?: string[];
  logLevel?: string;
  /** "built": run dist/src/cli/main.js (call buildProduct() first); "source" (default): src/ through tsx. */
  entry?: "source" | "built";
  /** Environment added for every start of a node (then startNode's own `env`): chaos's disk switches. */
  nodeEnv?: (id: string) => Record<string, string>;
  /** With entry "built": another compiled main.js (A/B runs of two builds, e.g. `dist-b/src/cli/main.js`). */
  builtMain?: string;
}

export class BenchCluster {
  readonly nodes: NodeProc[] = [];
  readonly links = new Map<string, LinkProxy>(); // "a>b"
  /** With proxies: the proxy in front of each node, by node id. */
  readonly proxies = new Map<string, NodeProxy>();
  baseDir = "";
  private readonly clients = new Map<string, grpc.Client>();

  private constructor(private readonly opts: ClusterOptions) {}

  static async create(opts: ClusterOptions = {}): Promise<BenchCluster> {
    const c = new BenchCluster(opts);
    await c.init();
    return c;
  }

  static async start(opts: ClusterOptions = {}): Promise<BenchCluster> {
    const c = await BenchCluster.create(opts);
    await Promise.all(c.nodes.map((n) => c.startNode(n.id)));
    return c;
  }

  private async init(): Promise<void> {
    this.baseDir = this.opts.baseDir ?? (await mkdtemp(join(tmpdir(), "raftq-bench-")));
    await mkdir(this.baseDir, { recursive: true });
    const size = this.opts.size ?? 3;
    for (let i = 1; i <= size; i++) {
      const grpcPort = await freePort();
      const httpPort = await freePort();
      this.nodes.push({
        id: `n${i}`,
        grpcPort,
        httpPort,
        dataDir: join(this.baseDir, `n${i}`),
        address: `127.0.0.1:${grpcPort}`,
        proc: null,
        paused: false,
        starts: 0,
        log: null,
      });
    }
    if (this.opts.proxies === true) {
      if (!(await socketOwnersVisible()))
        throw new Error("proxied peer links need Linux's /proc/net/tcp to tell which node dialled");
      const pids = (): Map<number, string> =>
        new Map(this.nodes.flatMap((n) => (n.proc?.pid !== undefined ? [[n.proc.pid, n.id] as const] : [])));
      for (const b of this.nodes) {
        const proxy = new NodeProxy(b.id, { host: "127.0.0.1", port: b.grpcPort }, pids);
        await proxy.listen(0);
        this.proxies.set(b.id, proxy);
        for (const a of this.nodes) if (a !== b) this.links.set(`${a.id}>${b.id}`, proxy.link(a.id));
      }
    }
  }

  /**
   * Every node's --peers (the same list for all). With proxies every node names every node
   * (itself too) by that node's proxy, so all memberships agree on the addresses (see NodeProxy).
   */
  peersFlag(): string {
    return this.nodes.map((n) => `${n.id}=${this.peerAddress(n.id)}`).join(",");
  }

  /** The address the members know a node by: its proxy's with proxies, else its own. */
  peerAddress(id: string): string {
    const proxy = this.proxies.get(id);
    return proxy ? `127.0.0.1:${proxy.port}` : this.node(id).address;
  }

  /** Peer connections that go around the proxies (node to node's real gRPC port): "pid>port" each. */
  async bypasses(): Promise<string[]> {
    if (this.proxies.size === 0) return [];
    const pids = this.nodes.flatMap((n) => (n.proc?.pid !== undefined ? [n.proc.pid] : []));
    return connectionsTo(pids, new Set(this.nodes.map((n) => n.grpcPort)));
  }

  node(id: string): NodeProc {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  pid(id: string): number | null {
    return this.node(id).proc?.pid ?? null;
  }

  /**
   * Start (or restart) a node; resolves when it prints its "listening" event. `env` is added to
   * this process's environment for that node process only (fault injection: chaos's disk faults).
   */
  async startNode(id: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<void> {
    const n = this.node(id);
    if (n.proc !== null) throw new Error(`${id} is running`);
    const args = [
      ...(this.opts.nodeArgs ?? []),
      ...(this.opts.entry === "built"
        ? [this.opts.builtMain ?? MAIN_BUILT]
        : ["--import", "tsx", MAIN_SOURCE]),
      "node",
      "--id",
      n.id,
      "--host",
      "127.0.0.1",
      "--grpc-port",
      String(n.grpcPort),
      "--http-port",
      String(n.httpPort),
      "--peers",
      this.peersFlag(),
      "--log-level",
      this.opts.logLevel ?? "warn",
      "--data-dir",
      n.dataDir,
      ...(this.opts.extraArgs ?? []),
      ...extraArgs,
    ];
    const proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...this.opts.nodeEnv?.(id), ...env },
    });
    trackChild(proc);
    n.starts++;
    n.proc = proc;
    n.paused = false;
    if (n.log === null) n.log = createWriteStream(join(this.baseDir, `${n.id}.log`), { flags: "a" });
    const log = n.log;
    log.write(`--- ${new Date().toISOString()} start #${n.starts} pid ${proc.pid}\n`);
    let tail = "";
    proc.stderr!.on("data", (d: Buffer) => {
      log.write(d);
      tail = (tail + d.toString()).slice(-4000);
    });
    proc.on("exit", (code, signal) => {
      log.write(`--- ${new Date().toISOString()} pid ${proc.pid} exit ${code ?? signal}\n`);
      if (n.proc === proc) n.proc = null;
    });
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${id} did not start in 60 s:\n${tail}`)), 60_000);
      let buf = "";
      let done = false;
      proc.stdout!.on("data", (d: Buffer) => {
        log.write(d);
        if (done) return;
        buf = (buf + d.toString()).slice(-4000);
        if (buf.includes('"event":"listening"')) {
          done = true;
          clearTimeout(timer);
          res();
        }
      });
      proc.once("exit", () => {
        clearTimeout(timer);
        if (!done) rej(new Error(`${id} exited while starting:\n${tail}`));
      });
    });
  }

  /** Signal a node; for SIGKILL/SIGTERM resolves when it has exited. */
  async signal(id: string, sig: NodeJS.Signals): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (p === null) return;
    if (sig === "SIGSTOP") {
      n.paused = true;
      p.kill(sig);
      return;
    }
    if (sig === "SIGCONT") {
      n.paused = false;
      p.kill(sig);
      return;
    }
    const exited = new Promise<void>((res) => p.once("exit", () => res()));
    if (n.paused) p.kill("SIGCONT");
    p.kill(sig);
    await exited;
  }

  kill(id: string): Promise<void> {
    return this.signal(id, "SIGKILL");
  }

  /** Delete a stopped node's data dir (it comes back empty and catches up by snapshot). */
  async wipe(id: string): Promise<void> {
    const n = this.node(id);
    if (n.proc !== null) throw new Error(`${id} is running`);
    await rm(n.dataDir, { recursive: true, force: true });
  }

  running(): NodeProc[] {
    return this.nodes.filter((n) => n.proc !== null);
  }

  cpu(): Map<string, CpuSample | null> {
    return new Map(this.nodes.map((n) => [n.id, n.proc?.pid ? cpuSample(n.proc.pid) : null]));
  }

  rss(id: string): number | null {
    const pid = this.pid(id);
    return pid === null ? null : rssBytes(pid);
  }

  client(id: string, service: keyof RaftqPackage): grpc.Client {
    const key = `${id}/${service}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      const Ctor = loadRaftqProto().pkg[service];
      c = new Ctor(this.node(id).address, grpc.credentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": 50,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      this.clients.set(key, c);
    }
    return c;
  }

  call<T = Record<string, unknown>>(
    id: string,
    service: keyof RaftqPackage,
    method: string,
    request: unknown,
    timeoutMs = 5000,
  ): Promise<T> {
    return callUnary<T>(this.client(id, service), method, request, timeoutMs);
  }

  async localStatus(id: string): Promise<LocalStatus> {
    return this.call<LocalStatus>(id, "ClusterService", "GetClusterStatus", { local: true }, 1000);
  }

  /** Wait until the running nodes (minus `exclude`) agree on one leader that says it leads. */
  async waitForLeader(timeoutMs = 20_000, exclude: string[] = []): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const up = this.nodes.filter((n) => n.proc !== null && !n.paused && !exclude.includes(n.id));
      const views = await Promise.all(up.map((n) => this.localStatus(n.id).catch(() => null)));
      const leaders = new Set(views.map((v) => v?.leaderId ?? ""));
      const [only] = [...leaders];
      if (leaders.size === 1 && only && !exclude.includes(only) && views.every((v) => v !== null)) {
        const leaderView = views[up.findIndex((n) => n.id === only)];
        if (leaderView?.members.find((m) => m.id === only)?.role === "MEMBER_ROLE_LEADER") return only;
      }
      await sleep(20);
    }
    throw new Error("no leader agreed on in time");
  }

  /** GET /readyz of a node: true when it answers 200. */
  async ready(id: string): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.node(id).httpPort}/readyz`, {
        signal: AbortSignal.timeout(1000),
      });
      await res.text();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async waitReady(id: string, timeoutMs = 60_000, pollMs = 10): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ready(id)) return;
      await sleep(pollMs);
    }
    throw new Error(`${id} not ready within ${timeoutMs} ms`);
  }

  async metric(id: string, name: string): Promise<number | null> {
    return (await this.metrics(id, [name]))[0] ?? null;
  }

  /** Several metrics of one node from one scrape (each summed over its labels; null if absent or unreachable). */
  async metrics(id: string, names: readonly string[]): Promise<(number | null)[]> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.node(id).httpPort}/metrics`, {
        signal: AbortSignal.timeout(2000),
      });
      const lines = (await res.text()).split("\n");
      return names.map((name) => {
        let sum: number | null = null;
        for (const line of lines)
          if (line.startsWith(name + "{") || line.startsWith(name + " "))
            sum = (sum ?? 0) + Number(line.split(" ").pop());
        return sum;
      });
    } catch {
      return names.map(() => null);
    }
  }

  /** The ClusterActivity counters now, one scrape per running node. */
  async activity(): Promise<ClusterActivity> {
    const keys = Object.keys(ACTIVITY_METRICS) as (keyof ClusterActivity)[];
    const sums = Object.fromEntries(keys.map((k) => [k, 0])) as unknown as ClusterActivity;
    for (const n of this.running()) {
      const values = await this.metrics(
        n.id,
        keys.map((k) => ACTIVITY_METRICS[k]),
      );
      keys.forEach((k, i) => (sums[k] += values[i] ?? 0));
    }
    return sums;
  }

  healAll(): void {
    for (const l of this.links.values()) l.heal();
  }

  /** Stop every node (SIGTERM, then SIGKILL after 3 s), close proxies; remove the dir unless keep. */
  async stop(keep = false): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.all(
      this.nodes.map(async (n) => {
        const p = n.proc;
        if (p === null) return;
        const t = setTimeout(() => p.kill("SIGKILL"), 3000);
        const exited = new Promise<void>((res) => p.once("exit", () => res()));
        if (n.paused) p.kill("SIGCONT");
        p.kill("SIGTERM");
        await exited;
        clearTimeout(t);
      }),
    );
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    await Promise.all(
      this.nodes.map((n) => new Promise<void>((res) => (n.log ? n.log.end(() => res()) : res()))),
    );
    if (!keep) await rm(this.baseDir, { recursive: true, force: true });
  }
}

export interface LocalStatus {
  leaderId: string;
  term: number;
  commitIndex: number;
  members: { id: string; role: string; isAlive: boolean; commitIndex: number; appliedIndex: number }[];
}

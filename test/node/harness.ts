/**
 * Real `raftq node` processes on loopback for multi-process tests: free
 * ports, temp data dirs, kill -9 / restart by pid, and a small promisified
 * gRPC client. Every process started here is stopped by stopAll().
 */
import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { callUnary } from "../../src/wire/unary.js";
import { loadRaftqProto, type RaftqPackage } from "../../src/wire/proto.js";
import { freePort } from "../../bench/lib/free-port.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(REPO_ROOT, "src/cli/main.ts");

export { freePort };

export interface ProcNode {
  readonly id: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly dataDir: string | null;
  readonly address: string;
  proc: ChildProcess | null;
  stderr: string;
  exitCode: number | null;
}

export interface ClusterOptions {
  size: number;
  persistent?: boolean;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export class ProcCluster {
  readonly nodes: ProcNode[] = [];
  private baseDir = "";
  private peers = "";
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly opts: ClusterOptions) {}

  static async start(opts: ClusterOptions): Promise<ProcCluster> {
    const c = new ProcCluster(opts);
    await c.init();
    await Promise.all(c.nodes.map((n) => c.startNode(n.id)));
    return c;
  }

  private async init(): Promise<void> {
    this.baseDir = await mkdtemp(join(tmpdir(), "raftq-test-"));
    for (let i = 1; i <= this.opts.size; i++) {
      const grpcPort = await freePort();
      const httpPort = await freePort();
      this.nodes.push({
        id: `n${i}`,
        grpcPort,
        httpPort,
        dataDir: this.opts.persistent === false ? null : join(this.baseDir, `n${i}`),
        address: `127.0.0.1:${grpcPort}`,
        proc: null,
        stderr: "",
        exitCode: null,
      });
    }
    this.peers = this.nodes.map((n) => `${n.id}=${n.address}`).join(",");
  }

  node(id: string): ProcNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Start (or restart) a node and wait until it listens. */
  async startNode(
    id: string,
    extraEnv: Record<string, string> = {},
    extraArgs: string[] = [],
  ): Promise<void> {
    const n = this.node(id);
    const args = [
      "--import",
      "tsx",
      MAIN,
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
      this.peers,
      "--log-level",
      "warn",
      ...(n.dataDir !== null ? ["--data-dir", n.dataDir] : []),
      ...(this.opts.extraArgs ?? []),
      ...extraArgs,
    ];
    const proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.opts.env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    n.proc = proc;
    n.stderr = "";
    n.exitCode = null;
    proc.stderr!.on("data", (d: Buffer) => {
      n.stderr = (n.stderr + d.toString()).slice(-20_000);
    });
    proc.on("exit", (code, signal) => {
      n.exitCode = code ?? (signal ? 128 : -1);
      if (n.proc === proc) n.proc = null;
    });
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${id} did not start:\n${n.stderr}`)), 20_000);
      let buf = "";
      proc.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('"event":"listening"')) {
          clearTimeout(timer);
          res();
        }
      });
      proc.once("exit", () => {
        clearTimeout(timer);
        rej(new Error(`${id} exited while starting:\n${n.stderr}`));
      });
    });
  }

  kill(id: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (p === null) return Promise.resolve();
    return new Promise((res) => {
      p.once("exit", () => res());
      p.kill(signal);
    });
  }

  async stopAll(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.all(
      this.nodes.map(async (n) => {
        const p = n.proc;
        if (p === null) return;
        const t = setTimeout(() => p.kill("SIGKILL"), 3000);
        await new Promise<void>((res) => {
          p.once("exit", () => res());
          p.kill("SIGTERM");
        });
        clearTimeout(t);
      }),
    );
    await rm(this.baseDir, { recursive: true, force: true });
  }

  client(id: string, service: keyof RaftqPackage): grpc.Client {
    const key = `${id}/${service}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      const Ctor = loadRaftqProto().pkg[service];
      c = new Ctor(this.node(id).address, grpc.credentials.createInsecure());
      this.clients.set(key, c);
    }
    return c;
  }

  /** A unary call; rejects with the grpc ServiceError. */
  call<T = Record<string, unknown>>(
    id: string,
    service: keyof RaftqPackage,
    method: string,
    request: unknown,
    timeoutMs = 10_000,
  ): Promise<T> {
    return callUnary<T>(this.client(id, service), method, request, timeoutMs);
  }

  /** This node's own view (no forwarding). */
  async localStatus(
    id: string,
  ): Promise<{ leaderId: string; term: number; commitIndex: number; members: Member[] }> {
    return this.call(id, "ClusterService", "GetClusterStatus", { local: true }, 2000);
  }

  /** Wait until the running nodes agree on one leader; returns its id. */
  async waitForLeader(timeoutMs = 15_000, exclude: string[] = []): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const up = this.nodes.filter((n) => n.proc !== null && !exclude.includes(n.id));
      const views = await Promise.all(up.map((n) => this.localStatus(n.id).catch(() => null)));
      const leaders = new Set(views.map((v) => v?.leaderId ?? ""));
      const [only] = [...leaders];
      if (leaders.size === 1 && only && !exclude.includes(only) && views.every((v) => v !== null)) {
        const leaderView = views[up.findIndex((n) => n.id === only)];
        if (leaderView?.members.find((m) => m.id === only)?.role === "MEMBER_ROLE_LEADER") return only;
      }
      await sleep(50);
    }
    throw new Error("no leader agreed on in time");
  }

  async metric(id: string, name: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.node(id).httpPort}/metrics`);
    const text = await res.text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) sum += Number(line.split(" ").pop());
    }
    return sum;
  }
}

export interface Member {
  id: string;
  role: string;
  isAlive: boolean;
  commitIndex: number;
  appliedIndex: number;
  matchIndex: number;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function jobSpec(queue: string, key: string, payload = "x".repeat(128)) {
  return { queue, type: "test", payload: Buffer.from(payload), idempotencyKey: key };
}

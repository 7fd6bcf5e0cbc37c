/**
 * A local cluster of `raftq node` child processes on loopback, each with its
 * own RocksDB directory under one data folder: what `raftq dev`, `raftq start`
 * and the multi-process tests run. Ports are remembered in
 * <data-dir>/cluster.json so a restarted cluster finds its members again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RaftqClient } from "../client/client.js";
import type { ClusterStatus } from "../client/types.js";
import { findPackageRoot } from "../wire/package-root.js";
import { isPortFree, pickPorts } from "./ports.js";

/** Options of a {@link LocalCluster}. */
export interface LocalClusterOptions {
  /** Folder holding one sub-folder per node (RocksDB), their logs and cluster.json. Default ./data/dev. */
  dataDir?: string;
  /** Members. Default 3. */
  nodes?: number;
  /** gRPC port of the first node (the next ones count up); 0 = any free port. Taken ports fall back to free ones. Default 7701. */
  basePort?: number;
  /** HTTP (metrics) port of the first node, as basePort. Default 9101. */
  baseHttpPort?: number;
  /** Node log level. Default "info". */
  logLevel?: string;
  /** More flags for every node (e.g. faster timeouts in tests). Default none. */
  nodeArgs?: readonly string[];
  /** How to run `raftq node`. Default: this Node.js binary on src/cli/main.ts (via tsx) or dist/src/cli/main.js. */
  nodeCommand?: { command: string; args: readonly string[] };
  /** How long to wait for a leader, in ms. Default 30000. */
  readyTimeoutMs?: number;
}

export interface LocalNode {
  id: string;
  grpcPort: number;
  httpPort: number;
  /** host:port of its gRPC API. */
  address: string;
  metricsUrl: string;
  dataDir: string;
  logFile: string;
  process: ChildProcess | null;
}

interface SavedLayout {
  nodes: { id: string; grpcPort: number; httpPort: number }[];
}

/** Flags of this process that load tsx (never --eval/--print or anything else: the child runs main only). */
function tsxLoaderArgs(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    const value = execArgv[i + 1];
    if (
      ["--require", "-r", "--import", "--loader", "--experimental-loader"].includes(flag) &&
      value !== undefined
    ) {
      if (value.includes("tsx")) kept.push(flag, value);
      i++;
    } else if (/^--(require|import|loader|experimental-loader)=.*tsx/.test(flag)) kept.push(flag);
  }
  return kept.length > 0 ? kept : ["--import", "tsx"];
}

/** How to start `raftq node` from wherever this module runs (tsx on src/, or dist/ after tsc). */
export function defaultNodeCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const main = join(dirname(here), `main${ext}`);
  const loader = ext === ".ts" ? tsxLoaderArgs(process.execArgv) : [];
  return { command: process.execPath, args: [...loader, main, "node"] };
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class LocalCluster {
  readonly dataDir: string;
  private readonly cwd = findPackageRoot(import.meta.url, "package.json");

  private constructor(
    readonly nodes: LocalNode[],
    private readonly options: LocalClusterOptions,
    dataDir: string,
  ) {
    this.dataDir = dataDir;
  }

  /** Pick ports, start every node and wait for a leader. Stops what it started if that fails. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const dataDir = resolve(options.dataDir ?? "./data/dev");
    mkdirSync(dataDir, { recursive: true });
    const layoutFile = join(dataDir, "cluster.json");
    let layout: SavedLayout;
    if (existsSync(layoutFile)) {
      layout = JSON.parse(readFileSync(layoutFile, "utf8")) as SavedLayout;
      for (const n of layout.nodes) {
        for (const port of [n.grpcPort, n.httpPort]) {
          if (!(await isPortFree(port))) {
            throw new Error(
              `port ${port} of ${n.id} (from ${layoutFile}) is taken: is this cluster already running? ` +
                `Stop it, or use another --data-dir`,
            );
          }
        }
      }
    } else {
      const count = options.nodes ?? 3;
      const base = options.basePort ?? 7701;
      const baseHttp = options.baseHttpPort ?? 9101;
      const seq = (b: number): number[] => (b > 0 ? Array.from({ length: count }, (_, i) => b + i) : []);
      const ports = await pickPorts(count * 2, [...seq(base), ...seq(baseHttp)]);
      layout = {
        nodes: Array.from({ length: count }, (_, i) => ({
          id: `n${i + 1}`,
          grpcPort: ports[i]!,
          httpPort: ports[count + i]!,
        })),
      };
      writeFileSync(layoutFile, JSON.stringify(layout, null, 2) + "\n");
    }
    const nodes: LocalNode[] = layout.nodes.map((n) => ({
      ...n,
      address: `127.0.0.1:${n.grpcPort}`,
      metricsUrl: `http://127.0.0.1:${n.httpPort}/metrics`,
      dataDir: join(dataDir, n.id),
      logFile: join(dataDir, `${n.id}.log`),
      process: null,
    }));
    const cluster = new LocalCluster(nodes, options, dataDir);
    try {
      for (const n of nodes) cluster.startNode(n.id);
      await cluster.waitForLeader(options.readyTimeoutMs ?? 30_000);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  node(id: string): LocalNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Start (or restart) node `id`; its output goes to its log file. */
  startNode(id: string): void {
    const n = this.node(id);
    if (this.running().includes(id)) throw new Error(`${id} is running`);
    mkdirSync(n.dataDir, { recursive: true });
    const peers = this.nodes.map((x) => `${x.id}=${x.address}`).join(",");
    const cmd = this.options.nodeCommand ?? defaultNodeCommand();
    const fd = openSync(n.logFile, "a");
    const args = [
      ...cmd.args,
      "--id",
      n.id,
      "--host",
      "127.0.0.1",
      "--grpc-port",
      String(n.grpcPort),
      "--http-port",
      String(n.httpPort),
      "--advertise-address",
      n.address,
      "--peers",
      peers,
      "--data-dir",
      n.dataDir,
      "--log-level",
      this.options.logLevel ?? "info",
      ...(this.options.nodeArgs ?? []),
    ];
    const child = spawn(cmd.command, args, { cwd: this.cwd, stdio: ["ignore", fd, fd], env: process.env });
    closeSync(fd);
    n.process = child;
  }

  /** Send `signal` to node `id` and wait until it has exited. */
  async stopNode(id: string, signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000): Promise<void> {
    const n = this.node(id);
    const child = n.process;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** kill -9 node `id`. */
  killNode(id: string): Promise<void> {
    return this.stopNode(id, "SIGKILL");
  }

  /** Ids of nodes whose process is running. */
  running(): string[] {
    return this.nodes
      .filter((n) => n.process !== null && n.process.exitCode === null && n.process.signalCode === null)
      .map((n) => n.id);
  }

  /** Poll until some node reports a leader; throws with the tail of the logs after `timeoutMs`. */
  async waitForLeader(timeoutMs = 30_000, exclude: readonly string[] = []): Promise<ClusterStatus> {
    const deadline = Date.now() + timeoutMs;
    const endpoints = this.nodes.filter((n) => !exclude.includes(n.id)).map((n) => n.address);
    const client = new RaftqClient({ endpoints, timeoutMs: 1_000, attemptTimeoutMs: 500, maxAttempts: 2 });
    try {
      while (Date.now() < deadline) {
        for (const n of this.nodes) {
          if (n.process !== null && n.process.exitCode !== null && !exclude.includes(n.id)) {
            throw new Error(
              `${n.id} exited with code ${n.process.exitCode}; see ${n.logFile}:\n${this.logTail(n.id)}`,
            );
          }
        }
        try {
          const st = await client.clusterStatus({ timeoutMs: 1_000 });
          if (st.leaderId !== "" && !exclude.includes(st.leaderId)) return st;
        } catch {
          // Not up yet.
        }
        await sleepMs(100);
      }
    } finally {
      client.close();
    }
    throw new Error(`no leader within ${timeoutMs} ms; logs are in ${this.dataDir}`);
  }

  /** The last lines of node `id`'s log. */
  logTail(id: string, lines = 20): string {
    try {
      return readFileSync(this.node(id).logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM every node and wait for them (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n.id)));
  }
}

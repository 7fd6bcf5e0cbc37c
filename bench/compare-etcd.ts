// The same load against a local 3-member etcd (Debian's etcd-server), in the same run:
// KV.Put of 128-byte values to the leader at 1/16/64/256 in flight from the same
// load-generator processes, and kill -9 of the leader (heartbeat 50 ms, election 300 ms).
// Run: npx tsx bench/compare-etcd.ts [--quick]   (needs `etcd` on PATH: apt-get install etcd-server)
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep, trackChild } from "./lib/cluster.js";
import { measureFailover, type FailoverTarget } from "./lib/failover.js";
import { DEFAULT_LOAD, LoadGens, merge } from "./lib/loadgens.js";
import { machineLine } from "./lib/procstat.js";
import { printRows, row, type Row } from "./lib/report.js";
import { measureLoad, submitCases } from "./cluster-submit.js";
import { warmSeconds } from "./warm-up.js";

const PROTO = join(import.meta.dirname, "lib/etcd-kv.proto");

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | null;
  memberId: string;
}

type Unary = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: unknown) => void,
) => void;

export function etcdAvailable(): string | null {
  const r = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? "unknown";
}

/** etcd's version, or null after saying that `what` is skipped because etcd is not installed. */
export function etcdVersionOrSkip(what: string): string | null {
  const version = etcdAvailable();
  if (version === null)
    console.error(`etcd is not installed (apt-get install etcd-server): skipping ${what}`);
  return version;
}

export class EtcdCluster {
  readonly members: Member[] = [];
  private dir = "";
  private readonly kv = new Map<string, grpc.Client>();
  private readonly maint = new Map<string, grpc.Client>();

  static async start(): Promise<EtcdCluster> {
    const e = new EtcdCluster();
    e.dir = await mkdtemp(join(tmpdir(), "raftq-etcd-"));
    for (let i = 1; i <= 3; i++)
      e.members.push({
        name: `e${i}`,
        clientPort: await freePort(),
        peerPort: await freePort(),
        dataDir: join(e.dir, `e${i}`),
        proc: null,
        memberId: "",
      });
    for (const m of e.members) e.startMember(m.name);
    await e.waitUp();
    return e;
  }

  member(name: string): Member {
    return this.members.find((m) => m.name === name)!;
  }

  address(name: string): string {
    return `127.0.0.1:${this.member(name).clientPort}`;
  }

  startMember(name: string): void {
    const m = this.member(name);
    const initial = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(",");
    m.proc = spawn(
      "etcd",
      [
        "--name",
        m.name,
        "--data-dir",
        m.dataDir,
        "--listen-client-urls",
        `http://127.0.0.1:${m.clientPort}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${m.clientPort}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${m.peerPort}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${m.peerPort}`,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        "raftq-bench",
        "--heartbeat-interval",
        "50",
        "--election-timeout",
        "300",
        "--logger",
        "zap",
        "--log-level",
        "error",
      ],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    const p = m.proc;
    trackChild(p);
    p.on("exit", () => {
      if (m.proc === p) m.proc = null;
    });
  }

  private client(name: string, kind: "KV" | "Maintenance"): grpc.Client {
    const cache = kind === "KV" ? this.kv : this.maint;
    let c = cache.get(name);
    if (c === undefined) {
      const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: String, defaults: true });
      const pkg = grpc.loadPackageDefinition(def) as unknown as {
        etcdserverpb: Record<string, grpc.ServiceClientConstructor>;
      };
      c = new pkg.etcdserverpb[kind]!(this.address(name), grpc.credentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": 50,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      cache.set(name, c);
    }
    return c;
  }

  private unary<T>(
    name: string,
    kind: "KV" | "Maintenance",
    method: string,
    req: unknown,
    ms: number,
  ): Promise<T> {
    const c = this.client(name, kind);
    const fn = (c as unknown as Record<string, Unary>)[method]!;
    return new Promise((res, rej) =>
      fn.call(c, req, { deadline: Date.now() + ms }, (e, r) => (e ? rej(e) : res(r as T))),
    );
  }

  put(name: string, key: string, deadlineMs: number): Promise<unknown> {
    return this.unary(name, "KV", "put", { key: Buffer.from(key), value: Buffer.alloc(128, 1) }, deadlineMs);
  }

  status(name: string): Promise<{ header: { memberId: string }; leader: string }> {
    return this.unary(name, "Maintenance", "status", {}, 500);
  }

  private async waitUp(): Promise<void> {
    for (const m of this.members) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const st = await this.status(m.name);
          m.memberId = st.header.memberId;
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await sleep(50);
        }
      }
    }
  }

  /** The leader's name once every running member reports the same leader. */
  async leader(exclude: string[] = []): Promise<string> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const up = this.members.filter((m) => m.proc !== null && !exclude.includes(m.name));
      const views = await Promise.all(up.map((m) => this.status(m.name).catch(() => null)));
      const ids = new Set(views.map((v) => v?.leader ?? ""));
      const [only] = [...ids];
      if (ids.size === 1 && only && only !== "0") {
        const m = this.members.find((x) => x.memberId === only);
        if (m && !exclude.includes(m.name)) return m.name;
      }
      await sleep(20);
    }
    throw new Error("etcd: no leader agreed on");
  }

  async kill(name: string): Promise<void> {
    const p = this.member(name).proc;
    if (p === null) return;
    await new Promise<void>((res) => {
      p.once("exit", () => res());
      p.kill("SIGKILL");
    });
  }

  pid(name: string): number | null {
    return this.member(name).proc?.pid ?? null;
  }

  async stop(): Promise<void> {
    for (const c of [...this.kv.values(), ...this.maint.values()]) c.close();
    await Promise.all(this.members.map((m) => this.kill(m.name)));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The same warm-up raftq's clusters get (bench/warm-up.ts): Puts at 16 in flight, not measured. */
export async function warmEtcd(e: EtcdCluster, quick: boolean): Promise<void> {
  const seconds = warmSeconds(quick);
  if (seconds <= 0) return;
  const target = e.address(await e.leader());
  const g = await LoadGens.spawn(
    [0, 1].map((i) => ({
      ...DEFAULT_LOAD,
      mode: "etcd",
      targets: [target],
      inFlight: 8,
      tag: `etcd-warm-${i}`,
    })),
  );
  g.go(0, seconds * 1000);
  await g.collect();
}

/** One measured window of Puts to the leader, from the load generators raftq's windows use (measureLoad). */
export async function measureEtcd(
  e: EtcdCluster,
  version: string,
  o: { inFlight: number; seconds: number; warmupMs: number; tag: string; group?: string },
): Promise<Row> {
  const leader = await e.leader();
  return measureLoad(
    {
      addresses: [e.address(leader)],
      pids: new Map(e.members.map((m) => [m.name === leader ? `${m.name}*` : m.name, m.proc?.pid ?? null])),
      describe: "the leader, 3 members, fsync on (etcd default), heartbeat 50 ms, election 300 ms",
      call: { mode: "etcd", what: "KV.Put" },
    },
    { ...o, group: o.group ?? "etcd", name: `etcd ${version} Put ${o.inFlight} in flight`, batch: 0 },
  );
}

export async function runEtcd(o: { quick: boolean; seconds?: number; kills?: number }): Promise<Row[]> {
  const version = etcdVersionOrSkip("the etcd comparison");
  if (version === null) return [];
  const seconds = o.seconds ?? Number(process.env.BENCH_SECONDS ?? (o.quick ? 2 : 10));
  const kills = o.kills ?? Number(process.env.BENCH_KILLS ?? (o.quick ? 3 : 20));
  const warmupMs = o.quick ? 300 : 1500;
  const rows: Row[] = [];
  const e = await EtcdCluster.start();
  try {
    await warmEtcd(e, o.quick);
    for (const n of submitCases(o.quick).inFlight) {
      rows.push(await measureEtcd(e, version, { inFlight: n, seconds, warmupMs, tag: `etcd${n}` }));
      console.error(printRows(rows.slice(-1)));
    }
    // Failover under light load (2 puts in flight over all members).
    const bg = await LoadGens.spawn([
      {
        ...DEFAULT_LOAD,
        mode: "etcd",
        targets: e.members.map((m) => e.address(m.name)),
        inFlight: 2,
        deadlineMs: 1000,
        tag: "etcd-bg",
      },
    ]);
    bg.go(0, 0);
    const target: FailoverTarget = {
      ids: e.members.map((m) => m.name),
      leader: (exclude = []) => e.leader(exclude),
      kill: (id) => e.kill(id),
      restart: async (id) => {
        e.startMember(id);
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          if ((await e.status(id).catch(() => null)) !== null) break;
          await sleep(20);
        }
        await e.leader();
      },
      write: async (id, seq, deadlineMs) => {
        await e.put(id, `failover/${seq}`, deadlineMs);
      },
    };
    const res = await measureFailover(target, kills, (s) => console.error(s));
    bg.stop();
    const b = merge(await bg.collect());
    rows.push(
      row({
        group: "etcd",
        name: `etcd ${version} kill -9 leader x${kills}: kill -> first acked Put`,
        settings: `3 members, heartbeat 50 ms, election 300 ms; light load: 2 Puts in flight over all members (${Math.round(b.rate)}/s); probes: a Put to each survivor every 5 ms (2 s deadline, at most 500 outstanding each)`,
        p50: res.summary.p50,
        p99: res.summary.p99,
        max: res.summary.max,
        extra: {
          min: Math.round(Math.min(...res.samples)),
          median: Math.round(res.summary.p50),
          samples: res.samples.map((x) => Math.round(x)).join(","),
        },
      }),
    );
  } finally {
    await e.stop();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes("--quick");
  console.log(machineLine());
  console.log(printRows(await runEtcd({ quick })));
}

/**
 * The parts of Kubernetes that run things, for the stand-in API server: a
 * StatefulSet controller (pods and claims per ordinal, podManagementPolicy
 * Parallel, OnDelete: a deleted pod comes back with the current template) and
 * a kubelet (each pod is a real `raftq node` process on loopback, restarted
 * when it dies; readiness from its /readyz; graceful deletion runs the preStop
 * leadership hand-off, then SIGTERM).
 *
 * Stable identity: a pod name always maps to the same loopback port pair, and
 * its claim to the same directory, so a restarted pod keeps its data, and the
 * "DNS" name <pod>.<service>.<ns>.svc:7700 in its environment is rewritten to
 * 127.0.0.1:<its port>. The image is ignored: the checkout's CLI runs instead.
 */
import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { callUnary } from "../../../src/wire/unary.js";
import { loadRaftqProto } from "../../../src/wire/proto.js";
import { freePort, REPO_ROOT } from "../../node/harness.js";
import { ApiError, type KObj, type Store } from "./store.js";

const MAIN = join(REPO_ROOT, "src/cli/main.ts");
const NODE_GRPC_PORT = 7700;

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}

interface StsSpec {
  replicas?: number;
  serviceName: string;
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: { containers: Container[]; terminationGracePeriodSeconds?: number };
  };
  volumeClaimTemplates?: { metadata: { name: string; labels?: Record<string, string> }; spec: unknown }[];
}

interface Running {
  proc: ChildProcess;
  uid: string;
  listening: boolean;
  ready: boolean;
  stopping: boolean;
  log: WriteStream;
}

export interface PodRunnerOptions {
  /** Claims and logs live here. */
  baseDir: string;
  /** Extra environment for every node process. */
  env?: Record<string, string>;
  /** How often the controllers look at the world. */
  periodMs?: number;
}

export class PodRunner {
  private readonly ports = new Map<string, { grpc: number; http: number }>();
  private readonly running = new Map<string, Running>();
  private readonly restarts = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private stopped = false;
  private readonly sts;
  private readonly pods;
  private readonly pvcs;

  constructor(
    private readonly store: Store,
    private readonly opts: PodRunnerOptions,
  ) {
    this.sts = store.resource("apps", "statefulsets");
    this.pods = store.resource("", "pods");
    this.pvcs = store.resource("", "persistentvolumeclaims");
  }

  /** The stable loopback ports of a pod (allocated on first use). */
  async portsFor(namespace: string, pod: string): Promise<{ grpc: number; http: number }> {
    const key = `${namespace}/${pod}`;
    let p = this.ports.get(key);
    if (p === undefined) {
      p = { grpc: await freePort(), http: await freePort() };
      if (this.ports.has(key)) return this.ports.get(key)!;
      this.ports.set(key, p);
    }
    return p;
  }

  /** Synchronous variant for ports already allocated. */
  knownPorts(namespace: string, pod: string): { grpc: number; http: number } | undefined {
    return this.ports.get(`${namespace}/${pod}`);
  }

  claimDir(namespace: string, claim: string): string {
    return join(this.opts.baseDir, "pvcs", namespace, claim);
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.syncing = this.sync()
        .catch((e: unknown) => {
          process.stderr.write(`pod runner: ${e instanceof Error ? e.stack : String(e)}\n`);
        })
        .finally(() => {
          this.syncing = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.periodMs ?? 200);
        });
    };
    tick();
  }

  /** Kills a pod's process as a crash would (the kubelet restarts it). */
  crash(namespace: string, pod: string): void {
    this.running.get(`${namespace}/${pod}`)?.proc.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.syncing;
    await Promise.all(
      [...this.running.values()].map(
        (r) =>
          new Promise<void>((res) => {
            if (r.proc.exitCode !== null || r.proc.signalCode !== null) return res();
            const t = setTimeout(() => r.proc.kill("SIGKILL"), 3000);
            r.proc.once("exit", () => {
              clearTimeout(t);
              res();
            });
            r.proc.kill("SIGTERM");
          }),
      ),
    );
    for (const r of this.running.values()) r.log.end();
    this.running.clear();
  }

  private async sync(): Promise<void> {
    for (const sts of this.store.list(this.sts, undefined)) await this.syncStatefulSet(sts);
    for (const pod of this.store.list(this.pods, undefined)) await this.syncPod(pod);
    // Claims deleted through the API lose their data, as a reclaimed volume would.
    for (const key of [...this.claimsWithData]) {
      const [ns, name] = key.split("/") as [string, string];
      if (this.store.tryGet(this.pvcs, ns, name) === undefined) {
        rmSync(this.claimDir(ns, name), { recursive: true, force: true });
        this.claimsWithData.delete(key);
      }
    }
  }

  private readonly claimsWithData = new Set<string>();

  private async syncStatefulSet(sts: KObj): Promise<void> {
    const ns = sts.metadata.namespace!;
    const name = sts.metadata.name!;
    const spec = sts.spec as StsSpec;
    const replicas = spec.replicas ?? 1;
    const owned = this.store
      .list(this.pods, ns)
      .filter((p) => (p.metadata.ownerReferences ?? []).some((o) => o.uid === sts.metadata.uid));
    const byOrdinal = new Map<number, KObj>();
    for (const p of owned) {
      const m = new RegExp(`^${name}-(\\d+)$`).exec(p.metadata.name!);
      if (m) byOrdinal.set(Number(m[1]), p);
    }
    // Parallel pod management: create every missing ordinal, delete every surplus one.
    for (let k = 0; k < replicas; k++) {
      if (byOrdinal.has(k)) continue;
      for (const vct of spec.volumeClaimTemplates ?? []) {
        const claim = `${vct.metadata.name}-${name}-${k}`;
        if (this.store.tryGet(this.pvcs, ns, claim) === undefined) {
          this.store.create(this.pvcs, ns, {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: claim, namespace: ns, labels: vct.metadata.labels ?? {} },
            spec: vct.spec,
          });
          this.store.update(
            this.pvcs,
            ns,
            claim,
            { metadata: {}, status: { phase: "Bound" } } as KObj,
            "status",
          );
        }
        mkdirSync(this.claimDir(ns, claim), { recursive: true });
        this.claimsWithData.add(`${ns}/${claim}`);
      }
      const podName = `${name}-${k}`;
      await this.portsFor(ns, podName);
      const tpl = spec.template;
      this.store.create(this.pods, ns, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: podName,
          namespace: ns,
          labels: {
            ...tpl.metadata?.labels,
            "statefulset.kubernetes.io/pod-name": podName,
            "apps.kubernetes.io/pod-index": String(k),
          },
          annotations: { ...tpl.metadata?.annotations },
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "StatefulSet", name, uid: sts.metadata.uid!, controller: true },
          ],
        },
        spec: { ...tpl.spec, hostname: podName, subdomain: spec.serviceName },
        status: { phase: "Pending" },
      });
    }
    for (const [k, p] of byOrdinal) {
      if (k >= replicas && !p.metadata.deletionTimestamp) this.store.delete(this.pods, ns, p.metadata.name!);
    }
    const now = this.store
      .list(this.pods, ns)
      .filter((p) => (p.metadata.ownerReferences ?? []).some((o) => o.uid === sts.metadata.uid));
    const ready = now.filter((p) => podIsReady(p)).length;
    const status = {
      observedGeneration: sts.metadata.generation,
      replicas: now.length,
      readyReplicas: ready,
      currentReplicas: now.length,
      updatedReplicas: now.length,
      availableReplicas: ready,
    };
    if (JSON.stringify(status) !== JSON.stringify(sts.status ?? {})) {
      try {
        this.store.update(this.sts, ns, name, { metadata: {}, status } as KObj, "status");
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
  }

  private async syncPod(pod: KObj): Promise<void> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const key = `${ns}/${name}`;
    const r = this.running.get(key);
    if (pod.metadata.deletionTimestamp) {
      if (r !== undefined && r.uid === pod.metadata.uid) {
        if (!r.stopping) {
          r.stopping = true;
          void this.terminate(key, r, pod).then(() => this.removePod(ns, name, pod.metadata.uid!));
        }
        return;
      }
      if (r === undefined) this.removePod(ns, name, pod.metadata.uid!);
      return;
    }
    if (r !== undefined && r.uid !== pod.metadata.uid) {
      // A process of an earlier pod with this name: it must end before the new one starts.
      if (!r.stopping) r.proc.kill("SIGKILL");
      return;
    }
    if (r === undefined) {
      const last = this.restarts.get(key) ?? 0;
      if (Date.now() - last < 500) return; // crash-loop backoff
      this.restarts.set(key, Date.now());
      await this.startProcess(pod);
      return;
    }
    const ready = r.listening && !r.stopping && (await this.probe(ns, name));
    r.ready = ready;
    this.setPodStatus(pod, r.listening ? "Running" : "Pending", ready);
  }

  private removePod(ns: string, name: string, uid: string): void {
    const cur = this.store.tryGet(this.pods, ns, name);
    if (cur?.metadata.uid === uid) {
      try {
        this.store.delete(this.pods, ns, name, 0);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
  }

  private setPodStatus(pod: KObj, phase: string, ready: boolean): void {
    const prev = pod.status as
      { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
    const was = prev?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    if (prev?.phase === phase && was === ready && prev.conditions !== undefined) return;
    const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const status = {
      phase,
      podIP: "127.0.0.1",
      conditions: [
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: t },
        { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: t },
      ],
      containerStatuses: [
        { name: "raftq", ready, started: phase === "Running", restartCount: 0, image: "local", imageID: "" },
      ],
    };
    try {
      this.store.update(
        this.pods,
        pod.metadata.namespace,
        pod.metadata.name!,
        { metadata: {}, status } as KObj,
        "status",
      );
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }

  private async probe(ns: string, name: string): Promise<boolean> {
    const ports = this.knownPorts(ns, name);
    if (ports === undefined) return false;
    try {
      const res = await fetch(`http://127.0.0.1:${ports.http}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Kubernetes env semantics: $(VAR) refers to variables defined earlier; fieldRef for name/namespace. */
  private async environment(pod: KObj, c: Container): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace!;
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      let v = e.value ?? "";
      const f = e.valueFrom?.fieldRef?.fieldPath;
      if (f === "metadata.name") v = pod.metadata.name!;
      else if (f === "metadata.namespace") v = ns;
      env[e.name] = v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);
    }
    // The stand-in's DNS: <pod>.<service>.<ns>.svc:7700 -> that pod's loopback port.
    const dns = new RegExp(
      `([a-z0-9-]+)\\.[a-z0-9-]+\\.([a-z0-9-]+)\\.svc(?:\\.cluster\\.local)?:${NODE_GRPC_PORT}`,
      "g",
    );
    const pods = new Set<string>();
    for (const v of Object.values(env)) for (const m of v.matchAll(dns)) pods.add(`${m[2]}/${m[1]}`);
    for (const p of pods) {
      const [pns, pname] = p.split("/") as [string, string];
      await this.portsFor(pns, pname);
    }
    for (const k of Object.keys(env)) {
      env[k] = env[k]!.replace(
        dns,
        (_m, pod: string, pns: string) => `127.0.0.1:${this.knownPorts(pns, pod)!.grpc}`,
      );
    }
    const ports = await this.portsFor(ns, pod.metadata.name!);
    const claim = `data-${pod.metadata.name}`;
    return {
      ...env,
      RAFTQ_HOST: "127.0.0.1",
      RAFTQ_GRPC_PORT: String(ports.grpc),
      RAFTQ_HTTP_PORT: String(ports.http),
      RAFTQ_DATA_DIR: this.claimDir(ns, claim),
      ...this.opts.env,
    };
  }

  private async startProcess(pod: KObj): Promise<void> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const key = `${ns}/${name}`;
    const c = (pod.spec as { containers: Container[] }).containers[0]!;
    const env = await this.environment(pod, c);
    mkdirSync(env["RAFTQ_DATA_DIR"]!, { recursive: true });
    mkdirSync(join(this.opts.baseDir, "logs"), { recursive: true });
    const log = createWriteStream(join(this.opts.baseDir, "logs", `${ns}_${name}.log`), { flags: "a" });
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RAFTQ_")) clean[k] = v;
    const proc = spawn(process.execPath, ["--import", "tsx", MAIN, ...(c.args ?? ["node"])], {
      cwd: REPO_ROOT,
      env: { ...clean, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const r: Running = { proc, uid: pod.metadata.uid!, listening: false, ready: false, stopping: false, log };
    this.running.set(key, r);
    let buf = "";
    proc.stdout!.on("data", (d: Buffer) => {
      log.write(d);
      if (!r.listening) {
        buf = (buf + d.toString()).slice(-4096);
        if (buf.includes('"event":"listening"')) r.listening = true;
      }
    });
    proc.stderr!.on("data", (d: Buffer) => log.write(d));
    proc.on("exit", (code, signal) => {
      log.write(`\n--- exited code=${code} signal=${signal}\n`);
      if (this.running.get(key) === r && !r.stopping) this.running.delete(key);
    });
  }

  /** Graceful termination: the preStop hook (leadership hand-off), then SIGTERM, then SIGKILL at the grace period. */
  private async terminate(key: string, r: Running, pod: KObj): Promise<void> {
    const ports = this.knownPorts(pod.metadata.namespace!, pod.metadata.name!);
    if (ports && r.listening) await preStopStepDown(`127.0.0.1:${ports.grpc}`);
    const grace = Math.min(10, pod.metadata.deletionGracePeriodSeconds ?? 30);
    await new Promise<void>((res) => {
      if (r.proc.exitCode !== null || r.proc.signalCode !== null) return res();
      const t = setTimeout(() => r.proc.kill("SIGKILL"), grace * 1000);
      r.proc.once("exit", () => {
        clearTimeout(t);
        res();
      });
      r.proc.kill("SIGTERM");
    });
    r.log.end();
    if (this.running.get(key) === r) this.running.delete(key);
  }
}

function podIsReady(p: KObj): boolean {
  const st = p.status as { conditions?: { type: string; status: string }[] } | undefined;
  return (
    !p.metadata.deletionTimestamp &&
    (st?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
}

/** What the chart's preStop hook (`raftq step-down`) does: hand leadership over if this node leads. */
async function preStopStepDown(address: string): Promise<void> {
  const Ctor = loadRaftqProto().pkg.AdminService;
  const client = new Ctor(address, grpc.credentials.createInsecure());
  await callUnary(client, "TransferLeadership", { toId: "", onlyIfLeader: true }, 8000).catch(
    () => undefined, // best effort, as a preStop hook is
  );
  client.close();
}

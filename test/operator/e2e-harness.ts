/**
 * One end-to-end world per scenario: the stand-in API server, the pod runner
 * (StatefulSet controller + kubelet running real `raftq node` processes), the
 * real kubectl, the operator in-process (so a test can kill it at an exact
 * step), a job load generator and a GetClusterStatus poller that records every
 * answer. Everything lives in one temp dir and stops in close().
 */
import * as grpc from "@grpc/grpc-js";
import { KubeConfig } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callUnary } from "../../src/wire/unary.js";
import { loadRaftqProto, type RaftqPackage } from "../../src/wire/proto.js";
import type { StepAction } from "../../operator/src/actions.js";
import type { Logger } from "../../operator/src/controller.js";
import { quorum } from "../../operator/src/facts.js";
import { startOperator, type RunningOperator } from "../../operator/src/operator.js";
import { ensureTools } from "../../scripts/helm-tool.js";
import { REPO_ROOT, sleep } from "../node/harness.js";
import { PodRunner } from "./stand-in/pod-runner.js";
import { kubeconfigYaml, startStandInApiServer, type StandInServer } from "./stand-in/server.js";
import type { KObj } from "./stand-in/store.js";

const NS = "default";

export interface StatusSample {
  at: number;
  ok: boolean;
  leaderId?: string;
  voters?: number;
  aliveVoters?: number;
  /** Members the answering leader did not hear from within the liveness window. */
  down?: string[];
  answeredBy?: string;
}

export class World {
  api!: StandInServer;
  runner!: PodRunner;
  dir = "";
  kubeconfigPath = "";
  operator: RunningOperator | null = null;
  readonly steps: { at: number; key: string; step: StepAction }[] = [];
  readonly logs: string[] = [];
  readonly samples: StatusSample[] = [];
  readonly acked = new Map<string, string>();
  submitFailures = 0;
  private clients = new Map<string, grpc.Client>();
  private loops: Promise<void>[] = [];
  private loadOn = false;
  private pollOn = false;
  private seq = 0;

  static async create(name: string): Promise<World> {
    const w = new World();
    w.dir = await mkdtemp(join(tmpdir(), `raftq-op-${name}-`));
    w.api = await startStandInApiServer();
    w.runner = new PodRunner(w.api.store, {
      baseDir: w.dir,
      env: { RAFTQ_LOG_LEVEL: "warn" },
      periodMs: 150,
    });
    w.runner.start();
    const pods = w.api.store.resource("", "pods");
    w.api.store.subscribe((e) => {
      if (e.resource !== "pods") return;
      const st = e.object.status as
        { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
      const ready = st?.conditions?.find((c) => c.type === "Ready")?.status;
      const del = e.object.metadata.deletionTimestamp ? " deleting" : "";
      w.events.push([
        Date.now(),
        `pod ${e.type} ${e.object.metadata.name} ${st?.phase} ready=${ready}${del}`,
      ]);
      void pods;
    });
    w.kubeconfigPath = join(w.dir, "kubeconfig");
    await writeFile(w.kubeconfigPath, kubeconfigYaml(w.api.url, NS));
    return w;
  }

  /** The real kubectl against the stand-in (it serves no OpenAPI documents, hence --validate=false). */
  kubectl(...args: string[]): Promise<string> {
    const tools = ensureTools();
    const validate = ["apply", "create", "replace"].includes(args[0] ?? "") ? ["--validate=false"] : [];
    return new Promise((res, rej) =>
      execFile(
        tools.kubectl,
        [
          "--kubeconfig",
          this.kubeconfigPath,
          "--cache-dir",
          join(this.dir, "kube-cache"),
          ...args,
          ...validate,
        ],
        { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 },
        (e, out, err) => (e ? rej(new Error(`kubectl ${args.join(" ")}: ${err || e.message}`)) : res(out)),
      ),
    );
  }

  async startOperator(afterStep?: (key: string, step: StepAction) => void): Promise<RunningOperator> {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    const log = (level: string) => (obj: object, msg?: string) => {
      this.logs.push(`${level} ${msg ?? ""} ${JSON.stringify(obj)}`);
      if (this.logs.length > 5000) this.logs.splice(0, 1000);
    };
    const logger: Logger = {
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
      debug: () => undefined,
    };
    const runner = this.runner;
    const loopback = (pod: string) => {
      const p = runner.knownPorts(NS, pod);
      if (p === undefined) throw new Error(`no ports for ${pod} yet`);
      return `127.0.0.1:${p.grpc}`;
    };
    this.operator = await startOperator({
      kubeConfig: kc,
      namespace: NS,
      leaderElect: true,
      leaseNamespace: NS,
      identity: `op-${this.seq++}`,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 500,
      healthPort: 0,
      metricsPort: 0,
      host: "127.0.0.1",
      log: logger,
      endpoints: { memberAddress: (_jq, pod) => loopback(pod), dialAddress: (_jq, pod) => loopback(pod) },
      planOptions: { pollMs: 300, resyncMs: 2000 },
      afterStep: (key, step) => {
        this.steps.push({ at: Date.now(), key, step });
        afterStep?.(key, step);
      },
    });
    return this.operator;
  }

  pods(): KObj[] {
    return this.api.store.list(this.api.store.resource("", "pods"), NS);
  }

  jobQueue(name: string): KObj {
    return this.api.store.get(this.api.store.resource("raftq.io", "jobqueues"), NS, name);
  }

  private readyAddresses(): string[] {
    return this.pods()
      .filter((p) => {
        const st = p.status as { conditions?: { type: string; status: string }[] } | undefined;
        return (
          !p.metadata.deletionTimestamp &&
          st?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        );
      })
      .map((p) => this.runner.knownPorts(NS, p.metadata.name!))
      .filter((x) => x !== undefined)
      .map((x) => `127.0.0.1:${x.grpc}`);
  }

  call<T>(
    address: string,
    service: keyof RaftqPackage,
    method: string,
    req: unknown,
    timeoutMs = 3000,
  ): Promise<T> {
    const key = `${service}@${address}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      c = new (loadRaftqProto().pkg[service])(address, grpc.credentials.createInsecure());
      this.clients.set(key, c);
    }
    return callUnary<T>(c, method, req, timeoutMs);
  }

  /** Submits jobs back to back to Ready members; a failed submit is retried with the same key. */
  startLoad(tag: string): void {
    this.loadOn = true;
    this.loops.push(
      (async () => {
        let n = 0;
        while (this.loadOn) {
          const key = `${tag}-${n++}`;
          for (let attempt = 0; attempt < 100 && this.loadOn; attempt++) {
            const targets = this.readyAddresses();
            const target = targets[Math.floor(Math.random() * targets.length)];
            if (target === undefined) {
              await sleep(100);
              continue;
            }
            try {
              const r = await this.call<{ jobId: string }>(target, "JobService", "SubmitJob", {
                job: { queue: "e2e", type: "t", payload: Buffer.from(key), idempotencyKey: key },
              });
              this.acked.set(key, r.jobId);
              break;
            } catch {
              this.submitFailures++;
              await sleep(100);
            }
          }
          await sleep(40);
        }
      })(),
    );
  }

  /** Polls GetClusterStatus on a running member all along. */
  startPolling(): void {
    this.pollOn = true;
    this.loops.push(
      (async () => {
        while (this.pollOn) {
          const targets = this.readyAddresses();
          const target = targets[0];
          if (target !== undefined) {
            try {
              const st = await this.call<{
                leaderId: string;
                answeredBy: string;
                members: { id: string; voter: boolean; isAlive: boolean }[];
              }>(target, "ClusterService", "GetClusterStatus", {}, 2000);
              const voters = st.members.filter((m) => m.voter);
              this.samples.push({
                at: Date.now(),
                ok: true,
                leaderId: st.leaderId,
                voters: voters.length,
                aliveVoters: voters.filter((m) => m.isAlive).length,
                down: st.members.filter((m) => !m.isAlive).map((m) => m.id),
                answeredBy: st.answeredBy,
              });
            } catch {
              this.samples.push({ at: Date.now(), ok: false });
            }
          }
          await sleep(200);
        }
      })(),
    );
  }

  /** A timeline of steps, pod phases and status answers, for a failure message. */
  timeline(from: number): string {
    const rows = [
      ...this.steps.filter((s) => s.at >= from).map((s) => [s.at, `STEP ${JSON.stringify(s.step)}`] as const),
      ...this.samples
        .filter((s) => s.at >= from)
        .map(
          (s) => [s.at, `status ok=${s.ok} leader=${s.leaderId} by=${s.answeredBy} down=${s.down}`] as const,
        ),
      ...this.events.filter(([at]) => at >= from),
    ].sort((a, b) => a[0] - b[0]);
    return rows.map(([at, what]) => `${at - from} ${what}`).join("\n");
  }

  /** Pod lifecycle as the API server saw it. */
  readonly events: (readonly [number, string])[] = [];

  /** Answers that showed fewer live voters than a quorum. */
  quorumLost(): StatusSample[] {
    return this.leaderAnswers().filter((s) => s.aliveVoters! < quorum(s.voters!));
  }

  /**
   * Answers that came from the leader. Liveness is the leader's replication progress: a node that
   * just lost leadership (a transfer) answers for itself with every peer "not alive", which says
   * nothing about the quorum; those answers are counted apart.
   */
  leaderAnswers(): StatusSample[] {
    return this.samples.filter((s) => s.ok && s.voters !== undefined && s.answeredBy === s.leaderId);
  }

  nonLeaderAnswers(): number {
    return this.samples.filter((s) => s.ok && s.answeredBy !== s.leaderId).length;
  }

  async stopTraffic(): Promise<void> {
    this.loadOn = false;
    this.pollOn = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Every acknowledged job must be readable (linearizably) from the cluster. */
  async lostJobs(): Promise<string[]> {
    const lost: string[] = [];
    for (const [key, jobId] of this.acked) {
      let found = false;
      for (let attempt = 0; attempt < 20 && !found; attempt++) {
        const target = this.readyAddresses()[attempt % Math.max(1, this.readyAddresses().length)];
        if (target === undefined) {
          await sleep(200);
          continue;
        }
        try {
          const j = await this.call<{ id: string }>(target, "JobService", "GetJob", {
            jobId,
            linearizable: true,
          });
          found = j.id === jobId;
        } catch (e) {
          if ((e as { code?: number }).code === 5) break; // NOT_FOUND: lost
          await sleep(200);
        }
      }
      if (!found) lost.push(key);
    }
    return lost;
  }

  /** Polls until `pred` holds; throws with `what` after the bound. */
  async until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await pred()) return;
      await sleep(200);
    }
    throw new Error(`timed out waiting for ${what}\n${this.logs.slice(-30).join("\n")}`);
  }

  /** Voters and learners as the cluster sees them (null when nobody answers). */
  async members(): Promise<{ leaderId: string; voters: string[]; learners: string[] } | null> {
    for (const target of this.readyAddresses()) {
      try {
        const st = await this.call<{ leaderId: string; members: { id: string; voter: boolean }[] }>(
          target,
          "ClusterService",
          "GetClusterStatus",
          {},
          2000,
        );
        return {
          leaderId: st.leaderId,
          voters: st.members
            .filter((m) => m.voter)
            .map((m) => m.id)
            .sort(),
          learners: st.members
            .filter((m) => !m.voter)
            .map((m) => m.id)
            .sort(),
        };
      } catch {
        // next
      }
    }
    return null;
  }

  async close(): Promise<void> {
    await this.stopTraffic();
    await this.operator?.stop().catch(() => undefined);
    for (const c of this.clients.values()) c.close();
    await this.runner.stop();
    await this.api.close();
    if (!process.env["RAFTQ_KEEP_E2E_DIRS"]) await rm(this.dir, { recursive: true, force: true });
  }
}

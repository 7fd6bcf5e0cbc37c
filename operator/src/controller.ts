/**
 * The level-triggered controller: informers feed a per-key work queue; a
 * worker observes one JobQueue (caches + GetClusterStatus), asks plan() what
 * to do, executes the one step it returns, waits until its caches show the
 * result (so the next plan never acts on its own stale write), writes status
 * and events, and requeues. One reconcile per key at a time; failures back off.
 */
import type { KubeConfig, KubernetesObject, V1StatefulSet } from "@kubernetes/client-node";
import { AppsV1Api } from "@kubernetes/client-node";
import type { StepAction } from "./actions.js";
import { desiredObjects } from "./desired.js";
import { makeCaches, runInformer, type Cache, type Caches } from "./informers.js";
import { JOBQUEUE_KIND, NODE_GRPC_PORT, type JobQueue, type JobQueueStatus } from "./jobqueue-types.js";
import { httpCode, KubeWriter } from "./kube.js";
import type { OperatorMetrics } from "./metrics.js";
import { ANNOTATIONS, keyOf, splitKey } from "./names.js";
import { plan, podReady, podRunning, type Observed, type PlanOptions } from "./plan.js";
import { grpcCode, RaftClient } from "./raft-client.js";
import { clusterNames } from "./render.js";
import { WorkQueue } from "./workqueue.js";

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Where a member is reached. In a cluster: its stable DNS name through the headless Service. */
export interface MemberEndpoints {
  /** host:port the Raft members use to reach the pod (what AddLearner records). */
  memberAddress(jq: JobQueue, pod: string): string;
  /** host:port where the operator dials the pod's gRPC. */
  dialAddress(jq: JobQueue, pod: string): string;
}

export const dnsEndpoints: MemberEndpoints = {
  memberAddress: (jq, pod) =>
    `${pod}.${clusterNames(jq.metadata.name).peerService}.${jq.metadata.namespace ?? "default"}.svc:${NODE_GRPC_PORT}`,
  dialAddress: (jq, pod) => dnsEndpoints.memberAddress(jq, pod),
};

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** Empty: every namespace. */
  namespace?: string;
  endpoints?: MemberEndpoints;
  workers?: number;
  planOptions?: Partial<Omit<PlanOptions, "now">>;
  log: Logger;
  metrics?: OperatorMetrics;
  /** Called after each step succeeded, before its caches are awaited (tests stop the operator here). */
  afterStep?: (key: string, step: StepAction) => void;
  /** Longest wait for the caches to show a write. */
  cacheWaitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gRPC FAILED_PRECONDITION: another membership change is pending; try again shortly. */
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

export class Controller {
  private readonly caches: Caches;
  private readonly queue = new WorkQueue({ baseDelayMs: 500, maxDelayMs: 30_000 });
  private readonly writer: KubeWriter;
  private readonly raft = new RaftClient();
  private readonly endpoints: MemberEndpoints;
  private stopped = false;
  private synced = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly opts: ControllerOptions) {
    this.caches = makeCaches(opts.kubeConfig, opts.namespace ?? "");
    this.writer = new KubeWriter(opts.kubeConfig);
    this.endpoints = opts.endpoints ?? dnsEndpoints;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Starts the informers, waits until every cache has listed once, then starts the workers. */
  async start(): Promise<void> {
    const c = this.caches;
    c.jobQueues.on("add", (o) => this.enqueue(o));
    c.jobQueues.on("update", (o) => this.enqueue(o));
    for (const inf of [c.statefulSets, c.services, c.pdbs] as Cache<KubernetesObject>[]) {
      const owned = (o: KubernetesObject) => this.enqueueOwner(o);
      inf.on("add", owned);
      inf.on("update", owned);
      inf.on("delete", owned);
    }
    for (const inf of [c.pods, c.pvcs] as Cache<KubernetesObject>[]) {
      const byLabel = (o: KubernetesObject) => this.enqueueInstance(o);
      inf.on("add", byLabel);
      inf.on("update", byLabel);
      inf.on("delete", byLabel);
    }
    const log = (msg: string, fields: Record<string, unknown>) => this.opts.log.warn(fields, msg);
    await Promise.all(
      Object.entries(c).map(([name, inf]) =>
        runInformer(name, inf as Caches["pods"], () => this.stopped, log),
      ),
    );
    // An informer whose first list failed has no resourceVersion yet: wait for its restart to succeed,
    // because planning from an empty cache would "create" a StatefulSet that exists.
    while (!this.stopped && !Object.values(c).every((inf) => listed(inf))) await sleep(200);
    if (this.stopped) return;
    this.synced = true;
    for (const jq of c.jobQueues.list()) this.enqueue(jq);
    this.workers = Array.from({ length: this.opts.workers ?? 2 }, () => this.work());
    this.opts.log.info({ namespace: this.opts.namespace || "(all)" }, "controller started");
  }

  /** Graceful: no new reconciles; in-flight ones finish (each is bounded by its call deadlines). */
  async stop(): Promise<void> {
    this.halt();
    await Promise.all(this.workers);
    this.raft.close();
  }

  /** Abrupt, as a killed process: informers stop and work in flight is abandoned. */
  kill(): void {
    this.halt();
    this.raft.close();
  }

  private halt(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.shutDown();
    for (const inf of Object.values(this.caches)) void (inf as Caches["pods"]).stop();
  }

  private enqueue(o: KubernetesObject): void {
    if (o.metadata?.name) this.queue.add(keyOf(o.metadata.namespace, o.metadata.name));
  }

  private enqueueOwner(o: KubernetesObject): void {
    const ref = o.metadata?.ownerReferences?.find((r) => r.controller && r.kind === JOBQUEUE_KIND);
    if (ref) this.queue.add(keyOf(o.metadata?.namespace, ref.name));
  }

  private enqueueInstance(o: KubernetesObject): void {
    const instance = o.metadata?.labels?.["app.kubernetes.io/instance"];
    if (instance) this.queue.add(keyOf(o.metadata?.namespace, instance));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === null) return;
      const started = Date.now();
      try {
        const requeueMs = await this.reconcile(key);
        this.queue.forget(key);
        if (requeueMs !== null && !this.stopped) this.queue.addAfter(key, requeueMs);
        this.opts.metrics?.reconciled("ok", Date.now() - started);
      } catch (e) {
        if (this.stopped) return;
        const delay = this.queue.addRateLimited(key);
        this.opts.metrics?.reconciled("error", Date.now() - started);
        this.opts.log.warn({ key, error: errorText(e), retryInMs: delay }, "reconcile failed");
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** One reconcile of one JobQueue; returns when to look again (null: only on the next event). */
  async reconcile(key: string): Promise<number | null> {
    const { namespace, name } = splitKey(key);
    const jq = this.caches.jobQueues.get(name, namespace) as JobQueue | undefined;
    // Deleted: the owner references let the garbage collector take the rest.
    if (jq === undefined || this.stopped) return null;
    const observed = this.observe(jq);
    const dial = this.dialTargets(jq, observed);
    const answer = observed.statefulSet === null ? null : await this.raft.status(dial);
    if (this.stopped) return null;
    const monitors = await this.writer.serviceMonitorAvailable();
    const actions = plan(jq, observed, answer?.facts ?? null, {
      ...this.opts.planOptions,
      now: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      serviceMonitorAvailable: monitors,
    });
    let requeue: number | null = null;
    for (const a of actions) {
      if (this.stopped) return null;
      switch (a.kind) {
        case "update-status":
          await this.writeStatus(jq, a.status);
          break;
        case "emit-event":
          await this.writer.event(jq, a.type, a.reason, a.message).catch((e: unknown) => {
            this.opts.log.warn({ key, error: errorText(e) }, "could not record an event");
          });
          break;
        case "requeue-after":
          requeue = a.ms;
          break;
        default: {
          this.opts.log.info({ key, step: a }, "step");
          const retry = await this.execute(jq, a, answer?.target ?? dial[0] ?? "", observed, monitors);
          this.opts.metrics?.step(a.kind);
          if (retry !== null) return retry; // the step could not run now; plan again soon
          this.opts.afterStep?.(key, a);
          if (this.stopped) return null;
          await this.awaitCaches(jq, a);
        }
      }
    }
    return requeue;
  }

  private observe(jq: JobQueue): Observed {
    const { name } = jq.metadata;
    const ns = jq.metadata.namespace ?? "default";
    const mine = (o: KubernetesObject) => o.metadata?.labels?.["app.kubernetes.io/instance"] === name;
    const names = clusterNames(name);
    const sts = (this.caches.statefulSets.get(names.statefulSet, ns) as V1StatefulSet | undefined) ?? null;
    const missing: string[] = [];
    if (sts !== null) {
      for (const svc of [names.peerService, names.clientService]) {
        if (this.caches.services.get(svc, ns) === undefined) missing.push(`Service/${svc}`);
      }
      if (this.caches.pdbs.get(names.podDisruptionBudget, ns) === undefined) {
        missing.push(`PodDisruptionBudget/${names.podDisruptionBudget}`);
      }
    }
    return {
      statefulSet: sts,
      pods: this.caches.pods.list(ns).filter(mine),
      pvcs: this.caches.pvcs.list(ns).filter(mine),
      missingObjects: missing,
    };
  }

  /** Ready pods first (they know a leader), then the other running ones. */
  private dialTargets(jq: JobQueue, observed: Observed): string[] {
    const pods = [...observed.pods].sort((a, b) => Number(podReady(b)) - Number(podReady(a)));
    return pods.filter((p) => podRunning(p)).map((p) => this.endpoints.dialAddress(jq, p.metadata!.name!));
  }

  /** Runs one step; returns a requeue delay when it could not run now, null when it is done. */
  private async execute(
    jq: JobQueue,
    a: StepAction,
    target: string,
    observed: Observed,
    monitors: boolean,
  ): Promise<number | null> {
    const ns = jq.metadata.namespace ?? "default";
    try {
      switch (a.kind) {
        case "apply-objects":
        case "scale-statefulset": {
          const replicas = a.kind === "apply-objects" ? a.replicas : a.to;
          const d = desiredObjects(jq, {
            replicas,
            bootstrapReplicas: a.bootstrapReplicas,
            serviceMonitorAvailable: monitors,
          });
          for (const o of d.objects) {
            if (o.kind === "StatefulSet" && observed.statefulSet === null) {
              // Create, not apply: if the cache missed an existing StatefulSet, this 409s instead of
              // resetting its replicas to the bootstrap size behind the members' backs.
              await this.opts.kubeConfig.makeApiClient(AppsV1Api).createNamespacedStatefulSet({
                namespace: ns,
                body: o as V1StatefulSet,
              });
            } else {
              await this.writer.apply(o as KubernetesObject);
            }
          }
          return null;
        }
        case "add-learner":
          await this.raft.addLearner(target, a.id, this.endpoints.memberAddress(jq, a.id));
          return null;
        case "promote":
          await this.raft.promote(target, a.id);
          return null;
        case "remove-member":
          await this.raft.remove(target, a.id);
          return null;
        case "transfer-leadership":
          await this.raft.transferLeadership(target, a.to);
          return null;
        case "delete-pod":
          await this.writer.delete("v1", "Pod", ns, a.name);
          return null;
        case "delete-pvc":
          await this.writer.delete("v1", "PersistentVolumeClaim", ns, a.name);
          return null;
      }
    } catch (e) {
      const code = grpcCode(e);
      if (a.kind === "remove-member" && code === NOT_FOUND) return null;
      if (code === FAILED_PRECONDITION || httpCode(e) === 409) {
        this.opts.log.info({ step: a, error: errorText(e) }, "step must wait");
        return 500;
      }
      throw e;
    }
  }

  /** Waits (bounded) until the caches show what a step wrote. */
  private async awaitCaches(jq: JobQueue, a: StepAction): Promise<void> {
    const ns = jq.metadata.namespace ?? "default";
    const name = clusterNames(jq.metadata.name).statefulSet;
    const seen = (): boolean => {
      switch (a.kind) {
        case "apply-objects":
        case "scale-statefulset": {
          const sts = this.caches.statefulSets.get(name, ns);
          const want = a.kind === "apply-objects" ? a.replicas : a.to;
          return (
            sts?.spec?.replicas === want && sts.metadata?.annotations?.[ANNOTATIONS.appliedHash] !== undefined
          );
        }
        case "delete-pod": {
          const p = this.caches.pods.get(a.name, ns);
          return p === undefined || Boolean(p.metadata?.deletionTimestamp);
        }
        case "delete-pvc":
          return this.caches.pvcs.get(a.name, ns) === undefined;
        default:
          return true;
      }
    };
    const deadline = Date.now() + (this.opts.cacheWaitMs ?? 5_000);
    while (!seen() && Date.now() < deadline && !this.stopped) await sleep(50);
  }

  private async writeStatus(jq: JobQueue, status: JobQueueStatus): Promise<void> {
    await this.writer.replaceStatus(jq, status);
    // Our own write must be in the cache before the next status write, or that one 409s.
    const ns = jq.metadata.namespace ?? "default";
    const before = resourceVersion(jq);
    const deadline = Date.now() + (this.opts.cacheWaitMs ?? 5_000);
    while (!this.stopped && Date.now() < deadline) {
      const now = this.caches.jobQueues.get(jq.metadata.name, ns) as JobQueue | undefined;
      if (now === undefined || resourceVersion(now) !== before) return;
      await sleep(50);
    }
  }
}

function resourceVersion(jq: JobQueue): string | undefined {
  return (jq.metadata as { resourceVersion?: string }).resourceVersion;
}

function listed(inf: unknown): boolean {
  const lw = inf as { latestResourceVersion?: () => string };
  return typeof lw.latestResourceVersion === "function" ? lw.latestResourceVersion() !== "" : true;
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const body = (e as { body?: unknown }).body;
    return body !== undefined
      ? `${e.message}: ${typeof body === "string" ? body : JSON.stringify(body)}`
      : e.message;
  }
  return String(e);
}

/** Builders for the table-driven planner tests: JobQueues, observed objects and cluster facts. */
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { Action, StepAction } from "../../operator/src/actions.js";
import { desiredObjects } from "../../operator/src/desired.js";
import type { ClusterFacts, MemberFact } from "../../operator/src/facts.js";
import type { JobQueue, JobQueueSpec, JobQueueStatus } from "../../operator/src/jobqueue-types.js";
import type { Observed } from "../../operator/src/plan.js";

export const NOW = "2030-01-01T00:00:00Z";

export function jq(
  replicas: number,
  o: {
    spec?: Partial<JobQueueSpec>;
    status?: JobQueueStatus;
    annotations?: Record<string, string>;
    generation?: number;
  } = {},
): JobQueue {
  return {
    apiVersion: "raftq.io/v1alpha1",
    kind: "JobQueue",
    metadata: {
      name: "jobs",
      namespace: "ns",
      uid: "uid-1",
      generation: o.generation ?? 1,
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: { replicas, ...o.spec },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** The StatefulSet as the operator applied it for `q` (so no drift), at `replicas` pods. */
export function sts(q: JobQueue, replicas: number, bootstrap = 3, seen = replicas): V1StatefulSet {
  const d = desiredObjects(q, { replicas, bootstrapReplicas: bootstrap, serviceMonitorAvailable: true });
  return { ...structuredClone(d.statefulSet), status: { replicas: seen } };
}

export function templateHash(q: JobQueue, bootstrap = 3): string {
  return desiredObjects(q, { replicas: 1, bootstrapReplicas: bootstrap, serviceMonitorAvailable: true })
    .templateHash;
}

export interface PodOpts {
  ready?: boolean;
  running?: boolean;
  hash?: string;
  deleting?: boolean;
}

export function pod(k: number, hash: string, o: PodOpts = {}): V1Pod {
  const ready = o.ready ?? true;
  return {
    metadata: {
      name: `jobs-${k}`,
      namespace: "ns",
      labels: { "app.kubernetes.io/instance": "jobs" },
      annotations: { "raftq.io/template-hash": o.hash ?? hash },
      ...(o.deleting ? { deletionTimestamp: new Date(NOW) } : {}),
    },
    status: {
      phase: (o.running ?? true) ? "Running" : "Pending",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

export function pvc(k: number): V1PersistentVolumeClaim {
  return {
    metadata: { name: `data-jobs-${k}`, namespace: "ns", labels: { "app.kubernetes.io/instance": "jobs" } },
  };
}

/** [ordinal, voter, matchIndex, alive] per member. */
export type M = [number, boolean, number, boolean];

export function facts(leader: number | null, commit: number, members: M[]): ClusterFacts {
  return {
    leaderId: leader === null ? "" : `jobs-${leader}`,
    term: 7,
    commitIndex: commit,
    members: members.map(([k, voter, matchIndex, isAlive]): MemberFact => ({
      id: `jobs-${k}`,
      address: `jobs-${k}.jobs-peers.ns.svc:7700`,
      role: k === leader ? "leader" : voter ? "follower" : "learner",
      voter,
      matchIndex,
      isAlive,
    })),
  };
}

/** n healthy voters 0..n-1, caught up at 100, `leader` leading. */
export function healthy(n: number, leader = 0, commit = 100): ClusterFacts {
  return facts(
    leader,
    commit,
    Array.from({ length: n }, (_, k): M => [k, true, commit, true]),
  );
}

export function observed(
  s: V1StatefulSet | null,
  pods: V1Pod[],
  pvcs: V1PersistentVolumeClaim[] = [],
  missing: string[] = [],
): Observed {
  return { statefulSet: s, pods, pvcs, missingObjects: missing };
}

export function pods(n: number, hash: string, o: Record<number, PodOpts> = {}): V1Pod[] {
  return Array.from({ length: n }, (_, k) => pod(k, hash, o[k]));
}

export function pvcs(n: number): V1PersistentVolumeClaim[] {
  return Array.from({ length: n }, (_, k) => pvc(k));
}

export function stepOf(actions: Action[]): StepAction | null {
  return (
    (actions.find((a) => !["update-status", "emit-event", "requeue-after"].includes(a.kind)) as StepAction) ??
    null
  );
}

export function statusOf(actions: Action[]): JobQueueStatus | undefined {
  const a = actions.find((x) => x.kind === "update-status");
  return a?.kind === "update-status" ? a.status : undefined;
}

export function condition(actions: Action[], type: string): { status: string; reason?: string } | undefined {
  return statusOf(actions)?.conditions?.find((c) => c.type === type);
}

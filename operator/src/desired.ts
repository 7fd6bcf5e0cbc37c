/**
 * The objects the operator applies: render.ts's cluster plus two hashes that
 * let a level-triggered reconcile tell, from the objects alone, whether they
 * drifted (applied hash) and which pods run an outdated template (template hash).
 */
import type { V1StatefulSet } from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import type { JobQueue } from "./jobqueue-types.js";
import { ANNOTATIONS } from "./names.js";
import { renderCluster, type KubeObject } from "./render.js";

/** JSON with sorted keys, so equal objects hash equally whatever the key order. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function shortHash(v: unknown): string {
  return createHash("sha256").update(stableJson(v)).digest("hex").slice(0, 16);
}

export interface DesiredOptions {
  replicas: number;
  bootstrapReplicas: number;
  serviceMonitorAvailable?: boolean;
}

export interface Desired {
  objects: KubeObject[];
  statefulSet: V1StatefulSet;
  /** What a current pod carries in its `raftq.io/template-hash` annotation. */
  templateHash: string;
  /** What the StatefulSet carries in `raftq.io/applied-hash` once these objects are applied. */
  appliedHash: string;
}

function isStatefulSet(o: KubeObject): o is V1StatefulSet {
  return o.kind === "StatefulSet";
}

export function desiredObjects(jq: JobQueue, opts: DesiredOptions): Desired {
  const objects = renderCluster(jq, {
    replicas: opts.replicas,
    bootstrapReplicas: opts.bootstrapReplicas,
    ...(opts.serviceMonitorAvailable !== undefined
      ? { serviceMonitorAvailable: opts.serviceMonitorAvailable }
      : {}),
  });
  const sts = objects.find(isStatefulSet);
  if (sts === undefined || sts.spec === undefined) throw new Error("renderCluster returned no StatefulSet");
  const template = sts.spec.template;
  const restartedAt = jq.metadata.annotations?.[ANNOTATIONS.restartedAt];
  template.metadata = {
    ...template.metadata,
    annotations: {
      ...template.metadata?.annotations,
      ...(restartedAt !== undefined ? { [ANNOTATIONS.restartedAt]: restartedAt } : {}),
    },
  };
  // --peers matters only on a member's first start (a member with state ignores it), and it
  // shrinks when the cluster shrinks below its bootstrap size: that must not restart anyone.
  const forHash = structuredClone(template);
  for (const c of forHash.spec?.containers ?? []) {
    for (const e of c.env ?? []) if (e.name === "RAFTQ_PEERS") e.value = "";
  }
  const templateHash = shortHash(forHash);
  template.metadata.annotations = {
    ...template.metadata.annotations,
    [ANNOTATIONS.templateHash]: templateHash,
  };
  // Everything but the replica count, which the operator moves one step at a time on its own.
  const appliedHash = shortHash(
    objects.map((o) => (isStatefulSet(o) ? { ...o, spec: { ...o.spec, replicas: 0 } } : o)),
  );
  sts.metadata = {
    ...sts.metadata,
    annotations: { ...sts.metadata?.annotations, [ANNOTATIONS.appliedHash]: appliedHash },
  };
  return { objects, statefulSet: sts, templateHash, appliedHash };
}

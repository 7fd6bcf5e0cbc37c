/** Names derived from a JobQueue: member ids are pod names, `<jobqueue>-<ordinal>`. */
import { clusterNames } from "./render.js";

export function memberId(jobQueue: string, ordinal: number): string {
  return `${jobQueue}-${ordinal}`;
}

/** The ordinal of a pod or member of this JobQueue, or null for anything else. */
export function ordinalOf(jobQueue: string, id: string): number | null {
  const prefix = `${jobQueue}-`;
  if (!id.startsWith(prefix)) return null;
  const rest = id.slice(prefix.length);
  return /^(0|[1-9][0-9]{0,3})$/.test(rest) ? Number(rest) : null;
}

/** The volume claim the StatefulSet creates for an ordinal (template "data"). */
export function pvcName(jobQueue: string, ordinal: number): string {
  return `data-${clusterNames(jobQueue).statefulSet}-${ordinal}`;
}

/** The ordinal of one of this JobQueue's data claims, or null. */
export function pvcOrdinal(jobQueue: string, claim: string): number | null {
  const prefix = "data-";
  return claim.startsWith(prefix) ? ordinalOf(jobQueue, claim.slice(prefix.length)) : null;
}

/** The key of a JobQueue in the work queue. */
export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Annotations the operator reads or writes. */
export const ANNOTATIONS = {
  /** On a JobQueue: changing it restarts every member, one at a time. */
  restartedAt: "raftq.io/restartedAt",
  /** On the pod template (and so on each pod): the hash of what a pod runs. */
  templateHash: "raftq.io/template-hash",
  /** On the StatefulSet: the hash of everything the operator last applied. */
  appliedHash: "raftq.io/applied-hash",
  /** On the StatefulSet (render.ts): the members listed in --peers. */
  bootstrapReplicas: "raftq.io/bootstrap-replicas",
} as const;

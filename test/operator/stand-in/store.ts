/**
 * The stand-in API server's object store: one global resourceVersion counter,
 * optimistic concurrency (409 on a stale resourceVersion), generation bumped
 * on spec changes only, a status subresource that is the only way to change
 * status, graceful pod deletion, finalizers, background garbage collection
 * through owner references, and a bounded event log that watches replay from.
 */
import { randomUUID } from "node:crypto";
import { fieldSelectorMatches, labelSelectorMatches } from "./selectors.js";

export interface KObj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string; name: string; apiVersion: string; controller?: boolean }[];
    finalizers?: string[];
    managedFields?: unknown[];
  };
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  status: boolean;
  shortNames?: string[];
}

export type WatchType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent {
  rv: number;
  resource: string;
  type: WatchType;
  object: KObj;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function resourceKey(group: string, plural: string): string {
  return group === "" ? plural : `${plural}.${group}`;
}

export function apiVersionOf(r: ResourceDef): string {
  return r.group === "" ? r.version : `${r.group}/${r.version}`;
}

const BUILTIN: ResourceDef[] = [
  {
    group: "",
    version: "v1",
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    status: true,
    shortNames: ["ns"],
  },
  {
    group: "",
    version: "v1",
    plural: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    status: true,
    shortNames: ["po"],
  },
  {
    group: "",
    version: "v1",
    plural: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    status: true,
    shortNames: ["svc"],
  },
  {
    group: "",
    version: "v1",
    plural: "persistentvolumeclaims",
    singular: "persistentvolumeclaim",
    kind: "PersistentVolumeClaim",
    namespaced: true,
    status: true,
    shortNames: ["pvc"],
  },
  {
    group: "",
    version: "v1",
    plural: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    status: false,
    shortNames: ["ev"],
  },
  {
    group: "apps",
    version: "v1",
    plural: "statefulsets",
    singular: "statefulset",
    kind: "StatefulSet",
    namespaced: true,
    status: true,
    shortNames: ["sts"],
  },
  {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    kind: "PodDisruptionBudget",
    namespaced: true,
    status: true,
    shortNames: ["pdb"],
  },
  {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    singular: "lease",
    kind: "Lease",
    namespaced: true,
    status: false,
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    singular: "customresourcedefinition",
    kind: "CustomResourceDefinition",
    namespaced: false,
    status: true,
    shortNames: ["crd"],
  },
];

/** Fields that only the server sets; a client's update cannot change them. */
const SYSTEM_META = [
  "uid",
  "creationTimestamp",
  "generation",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
] as const;

function withoutMetaStatus(o: KObj): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export class Store {
  private rv = 1;
  readonly resources = new Map<string, ResourceDef>();
  private readonly objects = new Map<string, Map<string, KObj>>();
  private readonly log: WatchEvent[] = [];
  private readonly listeners = new Set<(e: WatchEvent) => void>();
  /** Watches may resume from any resourceVersion still in this many events; older ones get 410. */
  constructor(private readonly logLimit = 20_000) {
    for (const r of BUILTIN) this.addResource(r);
  }

  addResource(r: ResourceDef): void {
    const key = resourceKey(r.group, r.plural);
    this.resources.set(key, r);
    if (!this.objects.has(key)) this.objects.set(key, new Map());
  }

  resource(group: string, plural: string): ResourceDef {
    const r = this.resources.get(resourceKey(group, plural));
    if (r === undefined)
      throw new ApiError(
        404,
        "NotFound",
        `the server could not find the requested resource (${plural}.${group})`,
      );
    return r;
  }

  resourceByKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return [...this.resources.values()].find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
  }

  currentRv(): string {
    return String(this.rv);
  }

  oldestRv(): number {
    return this.log[0]?.rv ?? this.rv;
  }

  private bucket(r: ResourceDef): Map<string, KObj> {
    return this.objects.get(resourceKey(r.group, r.plural))!;
  }

  private id(r: ResourceDef, ns: string | undefined, name: string): string {
    return r.namespaced ? `${ns ?? "default"}/${name}` : name;
  }

  private emit(r: ResourceDef, type: WatchType, obj: KObj): void {
    const e: WatchEvent = {
      rv: Number(obj.metadata.resourceVersion),
      resource: resourceKey(r.group, r.plural),
      type,
      object: structuredClone(obj),
    };
    this.log.push(e);
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
    for (const l of [...this.listeners]) l(e);
  }

  /** Events after `rv` (exclusive) for a resource; throws 410 when they are no longer kept. */
  eventsSince(resource: string, rv: number): WatchEvent[] {
    if (rv < this.oldestRv() - 1 && this.log.length >= this.logLimit) {
      throw new ApiError(410, "Expired", `too old resource version: ${rv} (${this.oldestRv()})`);
    }
    return this.log.filter((e) => e.resource === resource && e.rv > rv);
  }

  subscribe(l: (e: WatchEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get(r: ResourceDef, ns: string | undefined, name: string): KObj {
    const o = this.bucket(r).get(this.id(r, ns, name));
    if (o === undefined) {
      throw new ApiError(404, "NotFound", `${r.plural}${r.group ? "." + r.group : ""} "${name}" not found`);
    }
    return structuredClone(o);
  }

  tryGet(r: ResourceDef, ns: string | undefined, name: string): KObj | undefined {
    const o = this.bucket(r).get(this.id(r, ns, name));
    return o === undefined ? undefined : structuredClone(o);
  }

  list(
    r: ResourceDef,
    ns: string | undefined,
    labelSelector: string | null = null,
    fieldSelector: string | null = null,
  ): KObj[] {
    return [...this.bucket(r).values()]
      .filter((o) => !r.namespaced || ns === undefined || o.metadata.namespace === ns)
      .filter(
        (o) =>
          labelSelectorMatches(labelSelector, o.metadata.labels) && fieldSelectorMatches(fieldSelector, o),
      )
      .map((o) => structuredClone(o));
  }

  create(r: ResourceDef, ns: string | undefined, body: KObj): KObj {
    const obj = structuredClone(body);
    obj.metadata = obj.metadata ?? {};
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = obj.metadata.generateName + randomUUID().slice(0, 5);
    }
    const name = obj.metadata.name;
    if (!name)
      throw new ApiError(422, "Invalid", "metadata.name: Required value: name or generateName is required");
    if (r.namespaced) obj.metadata.namespace = obj.metadata.namespace ?? ns ?? "default";
    else delete obj.metadata.namespace;
    if (ns !== undefined && r.namespaced && obj.metadata.namespace !== ns) {
      throw new ApiError(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const key = this.id(r, obj.metadata.namespace, name);
    if (this.bucket(r).has(key)) {
      throw new ApiError(
        409,
        "AlreadyExists",
        `${r.plural}${r.group ? "." + r.group : ""} "${name}" already exists`,
      );
    }
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    obj.metadata.generation = 1;
    delete obj.metadata.deletionTimestamp;
    obj.metadata.resourceVersion = String(++this.rv);
    this.bucket(r).set(key, obj);
    this.emit(r, "ADDED", obj);
    if (r.group === "apiextensions.k8s.io" && r.plural === "customresourcedefinitions") this.registerCrd(obj);
    return structuredClone(obj);
  }

  /**
   * Replaces an object (PUT). `subresource` "status" changes only status;
   * otherwise status is kept where the resource has a status subresource.
   */
  update(r: ResourceDef, ns: string | undefined, name: string, body: KObj, subresource?: "status"): KObj {
    const key = this.id(r, ns, name);
    const current = this.bucket(r).get(key);
    if (current === undefined) {
      throw new ApiError(404, "NotFound", `${r.plural}${r.group ? "." + r.group : ""} "${name}" not found`);
    }
    const sent = body.metadata?.resourceVersion;
    if (sent !== undefined && sent !== "" && sent !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${r.plural}${r.group ? "." + r.group : ""} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: KObj;
    if (subresource === "status") {
      next = { ...structuredClone(current), status: structuredClone(body.status) };
    } else {
      next = structuredClone(body);
      next.metadata = { ...next.metadata };
      for (const f of SYSTEM_META) {
        if (current.metadata[f] !== undefined)
          (next.metadata as Record<string, unknown>)[f] = current.metadata[f];
        else delete (next.metadata as Record<string, unknown>)[f];
      }
      if (r.status) next.status = structuredClone(current.status);
      if (JSON.stringify(withoutMetaStatus(next)) !== JSON.stringify(withoutMetaStatus(current))) {
        next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      }
    }
    next.apiVersion = apiVersionOf(r);
    next.kind = r.kind;
    next.metadata.name = name;
    if (r.namespaced) next.metadata.namespace = current.metadata.namespace;
    if (
      JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: "" } }) ===
      JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: "" } })
    ) {
      return structuredClone(current); // no-op writes do not bump resourceVersion, as in Kubernetes
    }
    next.metadata.resourceVersion = String(++this.rv);
    // A deleting object whose last finalizer went away is removed now.
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      r.plural !== "pods"
    ) {
      this.bucket(r).delete(key);
      this.emit(r, "DELETED", next);
      this.collectGarbage(next.metadata.uid!);
      return structuredClone(next);
    }
    this.bucket(r).set(key, next);
    this.emit(r, "MODIFIED", next);
    return structuredClone(next);
  }

  /**
   * DELETE. Pods are deleted gracefully (deletionTimestamp first; the kubelet
   * stand-in removes them with gracePeriodSeconds=0 once the process ended),
   * objects with finalizers wait for them; dependents are garbage collected.
   */
  delete(r: ResourceDef, ns: string | undefined, name: string, gracePeriodSeconds?: number): KObj {
    const key = this.id(r, ns, name);
    const current = this.bucket(r).get(key);
    if (current === undefined) {
      throw new ApiError(404, "NotFound", `${r.plural}${r.group ? "." + r.group : ""} "${name}" not found`);
    }
    const graceful = r.plural === "pods" && gracePeriodSeconds !== 0;
    if (graceful || (current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return structuredClone(current);
      const next = structuredClone(current);
      next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      next.metadata.deletionGracePeriodSeconds = gracePeriodSeconds ?? 30;
      next.metadata.resourceVersion = String(++this.rv);
      this.bucket(r).set(key, next);
      this.emit(r, "MODIFIED", next);
      return structuredClone(next);
    }
    this.bucket(r).delete(key);
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit(r, "DELETED", gone);
    this.collectGarbage(current.metadata.uid!);
    return gone;
  }

  /** Background cascading deletion: whatever names `uid` as an owner goes too. */
  private collectGarbage(uid: string): void {
    for (const [rk, bucket] of this.objects) {
      const r = this.resources.get(rk)!;
      for (const o of [...bucket.values()]) {
        if ((o.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid)) {
          try {
            this.delete(r, o.metadata.namespace, o.metadata.name!, r.plural === "pods" ? undefined : 0);
          } catch {
            // already gone
          }
        }
      }
    }
  }

  /** A CustomResourceDefinition makes its resource servable (the storage version only). */
  private registerCrd(crd: KObj): void {
    const spec = crd.spec as {
      group: string;
      scope: string;
      names: { plural: string; singular?: string; kind: string; shortNames?: string[] };
      versions: { name: string; storage?: boolean; served?: boolean; subresources?: { status?: unknown } }[];
    };
    const v = spec.versions.find((x) => x.storage) ?? spec.versions[0];
    if (v === undefined) return;
    this.addResource({
      group: spec.group,
      version: v.name,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      namespaced: spec.scope === "Namespaced",
      status: v.subresources?.status !== undefined,
      ...(spec.names.shortNames ? { shortNames: spec.names.shortNames } : {}),
    });
  }
}

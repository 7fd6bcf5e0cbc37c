/**
 * The operator (renderCluster) and the chart's operator-less mode must build
 * the same cluster: same ports, env/args, probes, selectors, PDB, volume
 * claims. Known, intended differences: the operator uses OnDelete (it restarts
 * pods itself), sets owner references, and labels objects as its own.
 */
import { describe, expect, it } from "vitest";
import type { V1PodDisruptionBudget, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import type { JobQueue, JobQueueSpec } from "../../operator/src/jobqueue-types.js";
import { renderCluster, specWarnings, type KubeObject } from "../../operator/src/render.js";
import {
  VALUE_SETS,
  chartAppVersion,
  chartDefaults,
  find,
  isPlainObject,
  mergeValues,
  renderChart,
  type ValueSet,
  type Values,
} from "./chart-helpers.js";
import { validateBuiltin, type KubeObj } from "./kube-validate.js";

const UID = "0b5c7a1e-1111-4222-8333-944455556666";

/** The chart's `cluster`, `image` and `monitoring` values (after merging over the defaults). */
interface ChartValues {
  image: { repository: string; tag: string; pullPolicy: NonNullable<JobQueueSpec["image"]>["pullPolicy"] };
  imagePullSecrets: { name: string }[];
  cluster: Required<Omit<JobQueueSpec, "image" | "imagePullSecrets" | "monitoring">> & {
    storage: { storageClassName: string };
  };
  monitoring: {
    enabled: boolean;
    serviceMonitor: { enabled: boolean; interval: string; labels: Record<string, string> };
  };
}

/** The JobQueue a user would write to get what the chart renders from these values. */
function jobQueueFromValues(values: Values, name: string, namespace: string): JobQueue {
  const v = values as unknown as ChartValues;
  const c = v.cluster;
  const m = v.monitoring;
  const spec: JobQueueSpec = {
    replicas: c.replicas,
    image: { ...v.image, tag: v.image.tag || chartAppVersion() },
    ...(v.imagePullSecrets.length ? { imagePullSecrets: v.imagePullSecrets } : {}),
    resources: c.resources,
    // An empty storageClassName in values means "unset" (the cluster default), as in the chart.
    storage: { ...c.storage, storageClassName: c.storage.storageClassName || undefined },
    raft: c.raft,
    snapshotThreshold: c.snapshotThreshold,
    livenessWindowMs: c.livenessWindowMs,
    logLevel: c.logLevel,
    scheduling: c.scheduling,
    service: c.service,
    podAnnotations: c.podAnnotations,
    podLabels: c.podLabels,
    terminationGracePeriodSeconds: c.terminationGracePeriodSeconds,
    monitoring: {
      enabled: m.enabled,
      serviceMonitor: m.serviceMonitor.enabled,
      interval: m.serviceMonitor.interval,
      labels: m.serviceMonitor.labels,
    },
  };
  return {
    apiVersion: "raftq.io/v1alpha1",
    kind: "JobQueue",
    metadata: { name, namespace, uid: UID },
    // JSON round trip drops the undefined storageClassName, as the API server would.
    spec: JSON.parse(JSON.stringify(spec)) as JobQueueSpec,
  };
}

/** JSON round trip: drops undefined, and quantities become strings as the API server would store them. */
function norm<T>(x: T): T {
  return JSON.parse(
    JSON.stringify(x, (k, val: unknown) =>
      (k === "requests" || k === "limits") && isPlainObject(val)
        ? Object.fromEntries(Object.entries(val).map(([r, q]) => [r, String(q)]))
        : val,
    ),
  ) as T;
}

const cases = VALUE_SETS.filter(
  (vs) => (vs.values.cluster as { enabled?: boolean } | undefined)?.enabled,
).map((vs) => {
  const values = mergeValues(mergeValues(chartDefaults(), { cluster: { name: "jobs" } }), vs.values);
  const withName: ValueSet = { ...vs, values: mergeValues(vs.values, { cluster: { name: "jobs" } }) };
  const ns = vs.namespace ?? "default";
  const chart = renderChart(withName).filter((o) => o.kind !== "CustomResourceDefinition");
  const jq = jobQueueFromValues(values, "jobs", ns);
  const bootstrap = (values.cluster as { bootstrapReplicas: number }).bootstrapReplicas || undefined;
  const operator = renderCluster(jq, {
    ...(bootstrap ? { bootstrapReplicas: bootstrap } : {}),
    serviceMonitorAvailable: (vs.apiVersions ?? []).includes("monitoring.coreos.com/v1/ServiceMonitor"),
  }) as unknown as KubeObj[];
  return [vs.name, { chart, operator, jq }] as const;
});

describe.each(cases)("chart cluster mode and renderCluster agree: %s", (_name, { chart, operator, jq }) => {
  const clusterKinds = (objs: KubeObj[]) =>
    objs
      .filter((o) => ["StatefulSet", "Service", "PodDisruptionBudget", "ServiceMonitor"].includes(o.kind))
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();

  it("the same objects, by kind and name", () => {
    expect(clusterKinds(operator)).toEqual(clusterKinds(chart));
  });

  it("StatefulSet: pod spec (ports, args, env, probes, preStop, security), selector, claims", () => {
    const a = norm(find(chart, "StatefulSet") as unknown as V1StatefulSet).spec!;
    const b = norm(find(operator, "StatefulSet") as unknown as V1StatefulSet).spec!;
    expect(b.template.spec).toEqual(a.template.spec);
    expect(b.selector).toEqual(a.selector);
    expect(b.volumeClaimTemplates).toEqual(a.volumeClaimTemplates);
    expect(b.template.metadata!.annotations).toEqual(a.template.metadata!.annotations);
    const { updateStrategy: ua, template: _ta, ...restA } = a;
    const { updateStrategy: ub, template: _tb, ...restB } = b;
    expect(restB).toEqual(restA);
    expect(ub).toEqual({ type: "OnDelete" });
    expect(["RollingUpdate", "OnDelete"]).toContain(ua!.type);
    // Pod labels include the selector on both sides.
    for (const [k, v] of Object.entries(a.selector.matchLabels!)) {
      expect(b.template.metadata!.labels![k]).toBe(v);
      expect(a.template.metadata!.labels![k]).toBe(v);
    }
  });

  it("Services and PodDisruptionBudget", () => {
    for (const name of ["jobs", "jobs-peers"]) {
      const a = find(chart, "Service", name) as unknown as V1Service;
      const b = find(operator, "Service", name) as unknown as V1Service;
      expect(norm(b.spec)).toEqual(norm(a.spec));
      expect(b.metadata!.annotations).toEqual(a.metadata!.annotations);
      expect(b.metadata!.labels!["raftq.io/service"]).toBe(a.metadata!.labels!["raftq.io/service"]);
    }
    const pa = find(chart, "PodDisruptionBudget") as unknown as V1PodDisruptionBudget;
    const pb = find(operator, "PodDisruptionBudget") as unknown as V1PodDisruptionBudget;
    expect(norm(pb.spec)).toEqual(norm(pa.spec));
  });

  it("ServiceMonitor, when there is one", () => {
    const a = chart.find((o) => o.kind === "ServiceMonitor");
    const b = operator.find((o) => o.kind === "ServiceMonitor");
    expect(b?.spec).toEqual(a?.spec);
    if (a && b) expect(b.metadata.labels).toMatchObject(jq.spec.monitoring?.labels ?? {});
  });

  it("every operator object is owned by the JobQueue and valid for its kind", async () => {
    for (const o of operator as unknown as (KubeObject & KubeObj)[]) {
      expect(o.metadata.namespace).toBe(jq.metadata.namespace);
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: "raftq.io/v1alpha1",
          kind: "JobQueue",
          name: "jobs",
          uid: UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      if (o.kind === "ServiceMonitor") continue;
      const r = await validateBuiltin(o);
      expect([...r.errors, ...r.unknownFields]).toEqual([]);
    }
  });
});

describe("renderCluster", () => {
  const base: JobQueue = {
    apiVersion: "raftq.io/v1alpha1",
    kind: "JobQueue",
    metadata: { name: "q", namespace: "ns", uid: UID },
    spec: { replicas: 3 },
  };
  const sts = (objs: KubeObject[]) => objs.find((o) => o.kind === "StatefulSet") as V1StatefulSet;
  const env = (objs: KubeObject[], name: string) =>
    sts(objs).spec!.template.spec!.containers[0]!.env!.find((e) => e.name === name)?.value;

  it("keeps --peers at the bootstrap size while the operator scales one member at a time", () => {
    const scaling: JobQueue = { ...base, spec: { replicas: 5 }, status: { bootstrapReplicas: 3 } };
    const objs = renderCluster(scaling, { replicas: 4 });
    expect(sts(objs).spec!.replicas).toBe(4);
    expect(env(objs, "RAFTQ_PEERS")!.split(",")).toHaveLength(3);
    expect(sts(objs).metadata!.annotations!["raftq.io/bootstrap-replicas"]).toBe("3");
  });

  it("is pure: the same input gives the same output, and the input is not modified", () => {
    const input = structuredClone(base);
    expect(renderCluster(input)).toEqual(renderCluster(input));
    expect(input).toEqual(base);
  });

  it("needs the JobQueue's uid for owner references", () => {
    expect(() => renderCluster({ ...base, metadata: { name: "q" } })).toThrow(/uid/);
  });

  it("flags even sizes and unsafe timing as warnings", () => {
    expect(specWarnings(base)).toEqual([]);
    expect(specWarnings({ ...base, spec: { replicas: 4 } }).join()).toMatch(/even/);
    expect(
      specWarnings({ ...base, spec: { replicas: 3, raft: { heartbeatIntervalMs: 100 } } }).join(),
    ).toMatch(/heartbeat/);
  });

  it("without monitoring: no ServiceMonitor and no scrape annotations", () => {
    const objs = renderCluster({ ...base, spec: { replicas: 3, monitoring: { enabled: false } } });
    expect(objs.map((o) => o.kind)).not.toContain("ServiceMonitor");
    expect(sts(objs).spec!.template.metadata!.annotations).toBeUndefined();
  });
});

/**
 * charts/raftq with the real helm: lint and template for several value sets,
 * every rendered object validated against the Kubernetes schema of its kind
 * (no unknown fields), and the structural promises of the issue checked.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import type {
  V1Container,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import {
  JOBQUEUE_DEFAULTS,
  NODE_DATA_DIR,
  NODE_GRPC_PORT,
  NODE_HTTP_PORT,
} from "../../operator/src/jobqueue-types.js";
import { repoRoot } from "../../scripts/helm-tool.js";
import { VALUE_SETS, find, lintChart, renderChart, tryRenderChart, type ValueSet } from "./chart-helpers.js";
import { objName, validateBuiltin, type KubeObj } from "./kube-validate.js";
import { NODE_ENV_FLAGS, NODE_HTTP_PATHS } from "./node-contract.js";

const rendered = new Map<string, KubeObj[]>(VALUE_SETS.map((vs) => [vs.name, renderChart(vs)]));
const objs = (name: string): KubeObj[] => rendered.get(name)!;
const clusterSets = VALUE_SETS.filter(
  (vs) => (vs.values.cluster as { enabled?: boolean } | undefined)?.enabled,
);

/** A small schema for the Prometheus Operator's objects (their CRDs are not available offline). */
const monitorSchema = {
  type: "object",
  required: ["apiVersion", "kind", "metadata", "spec"],
  additionalProperties: false,
  properties: {
    apiVersion: { const: "monitoring.coreos.com/v1" },
    kind: { enum: ["ServiceMonitor", "PodMonitor"] },
    metadata: {
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
        namespace: { type: "string" },
        labels: { type: "object", additionalProperties: { type: "string" } },
      },
    },
    spec: {
      type: "object",
      additionalProperties: false,
      required: ["selector"],
      properties: {
        selector: {
          type: "object",
          additionalProperties: false,
          required: ["matchLabels"],
          properties: {
            matchLabels: { type: "object", additionalProperties: { type: "string" }, minProperties: 1 },
          },
        },
        endpoints: { $ref: "#/$defs/endpoints" },
        podMetricsEndpoints: { $ref: "#/$defs/endpoints" },
        jobLabel: { type: "string" },
      },
      oneOf: [{ required: ["endpoints"] }, { required: ["podMetricsEndpoints"] }],
    },
  },
  $defs: {
    endpoints: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["port"],
        properties: {
          port: { type: "string", minLength: 1 },
          path: { type: "string", pattern: "^/" },
          interval: { type: "string", pattern: "^[0-9]+(ms|s|m|h)$" },
          scrapeTimeout: { type: "string", pattern: "^[0-9]+(ms|s|m|h)$" },
          scheme: { enum: ["http", "https"] },
        },
      },
    },
  },
};
const validateMonitor = new Ajv({ allErrors: true, strictRequired: false }).compile(monitorSchema);

function containers(o: KubeObj): V1Container[] {
  const spec = (o as unknown as V1StatefulSet | V1Deployment).spec?.template.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function envOf(c: V1Container): Map<string, string> {
  return new Map((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}

/** Resolves a probe/service port (number or container port name) to a number. */
function portNumber(c: V1Container, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function matches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

describe("helm lint", () => {
  it.each(VALUE_SETS.map((vs) => [vs.name, vs] as [string, ValueSet]))(
    "%s is clean with --strict",
    (_n, vs) => {
      const r = lintChart(vs);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    },
  );
});

describe("every rendered object matches the Kubernetes schema of its kind", () => {
  it.each(VALUE_SETS.map((vs) => [vs.name]))("%s", async (name) => {
    const problems: string[] = [];
    for (const o of objs(name)) {
      if (o.apiVersion === "monitoring.coreos.com/v1") {
        if (!validateMonitor(o)) problems.push(`${objName(o)}: ${JSON.stringify(validateMonitor.errors)}`);
        continue;
      }
      const r = await validateBuiltin(o);
      problems.push(...r.errors.map((e) => `${objName(o)}: ${e}`));
      problems.push(...r.unknownFields.map((f) => `${objName(o)}: unknown field ${f}`));
    }
    expect(problems).toEqual([]);
  });

  it("the unknown-field check does catch a misplaced field", async () => {
    const sts = structuredClone(find(objs("no-operator"), "StatefulSet")) as unknown as V1StatefulSet;
    (sts.spec!.template.spec!.containers[0]!.readinessProbe as Record<string, unknown>).path = "/readyz";
    const r = await validateBuiltin(sts as unknown as KubeObj);
    expect(r.unknownFields).toEqual(["/spec/template/spec/containers/0/readinessProbe/path"]);
  });
});

describe("objects per value set", () => {
  it("defaults install the CRD and the operator, no cluster", () => {
    const kinds = objs("defaults").map((o) => o.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
      ]),
    );
    expect(kinds).not.toContain("StatefulSet");
    expect(kinds).not.toContain("ConfigMap");
  });

  it("operator.enabled=false renders only the CRD and the cluster", () => {
    const kinds = objs("no-operator")
      .map((o) => o.kind)
      .sort();
    expect(kinds).toEqual(
      ["CustomResourceDefinition", "PodDisruptionBudget", "Service", "Service", "StatefulSet"].sort(),
    );
  });

  it("monitoring uses ServiceMonitor/PodMonitor only when their API exists, annotations otherwise", () => {
    const withApi = objs("monitoring-prometheus-operator");
    const sm = find(withApi, "ServiceMonitor");
    expect(find(withApi, "PodMonitor").metadata.labels).toMatchObject({ release: "kps" });
    const peer = find(withApi, "Service", "raftq-peers");
    expect(
      matches(
        (sm.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
        peer.metadata.labels,
      ),
    ).toBe(true);
    const smPort = (sm.spec as { endpoints: { port: string; path: string }[] }).endpoints[0]!;
    expect((peer.spec as V1Service["spec"])!.ports!.find((p) => p.name === smPort.port)?.port).toBe(
      NODE_HTTP_PORT,
    );
    expect(smPort.path).toBe("/metrics");
    for (const o of [find(withApi, "StatefulSet"), find(withApi, "Deployment")]) {
      const ann = (o as unknown as V1StatefulSet).spec!.template.metadata!.annotations ?? {};
      expect(ann["prometheus.io/scrape"]).toBeUndefined();
    }

    const without = objs("monitoring-annotations");
    expect(without.some((o) => o.apiVersion === "monitoring.coreos.com/v1")).toBe(false);
    const sts = find(without, "StatefulSet") as unknown as V1StatefulSet;
    expect(sts.spec!.template.metadata!.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(NODE_HTTP_PORT),
      "prometheus.io/path": "/metrics",
    });
    const dep = find(without, "Deployment") as unknown as V1Deployment;
    expect(dep.spec!.template.metadata!.annotations!["prometheus.io/port"]).toBe("8080");
  });

  it("the Grafana dashboard is a sidecar ConfigMap with the panels the issue asks for", () => {
    const cm = find(objs("monitoring-prometheus-operator"), "ConfigMap");
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: "1" });
    const dash = JSON.parse((cm.data as Record<string, string>)["raftq.json"]!) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    // The names src/observability/metrics.ts exports.
    for (const metric of [
      'raftq_raft_role{namespace="$namespace", cluster="$cluster", role="leader"}',
      "raftq_raft_term",
      "raftq_raft_commit_index",
      "raftq_proposal_commit_seconds_bucket",
      "raftq_storage_fsync_seconds_bucket",
      "raftq_peer_append_round_trip_seconds_bucket",
      "raftq_jobs",
      "raftq_workers_live",
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(dash.panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(["Leader", "Term", "Live workers", "Queue depth by state"]),
    );
  });

  it("a namespace-scoped operator gets a Role in that namespace instead of a ClusterRole", () => {
    const o = objs("tuned");
    expect(o.some((x) => x.kind === "ClusterRole")).toBe(false);
    expect(find(o, "Role", "raftq-operator").metadata.namespace).toBe("queues");
    expect(o.some((x) => x.metadata.name.endsWith("leader-election"))).toBe(false);
  });
});

describe("the cluster (operator-less mode)", () => {
  describe.each(clusterSets.map((vs) => [vs.name, vs] as [string, ValueSet]))("%s", (name, vs) => {
    const o = objs(name);
    const sts = find(o, "StatefulSet") as unknown as V1StatefulSet;
    const spec = sts.spec!;
    const pod = spec.template;
    const c = pod.spec!.containers[0]!;
    const env = envOf(c);
    const grpcPort = portNumber(c, "grpc");
    const httpPort = portNumber(c, "http");
    const clusterValues = (vs.values.cluster ?? {}) as { replicas?: number; bootstrapReplicas?: number };
    const replicas = clusterValues.replicas ?? 3;
    const services = o.filter((x) => x.kind === "Service") as unknown as V1Service[];
    const peerSvc = services.find((s) => s.metadata!.name === spec.serviceName)!;
    const clientSvc = services.find((s) => s !== peerSvc)!;

    it("StatefulSet: Parallel, volume claims for the data dir, retention policy, replicas", () => {
      expect(spec.podManagementPolicy).toBe("Parallel");
      expect(spec.replicas).toBe(replicas);
      expect(spec.persistentVolumeClaimRetentionPolicy).toBeDefined();
      const claim = spec.volumeClaimTemplates![0]!;
      expect(claim.spec!.accessModes).toEqual(["ReadWriteOnce"]);
      expect(claim.spec!.resources!.requests!.storage).toMatch(/^[0-9]+[GMT]i$/);
      const mount = c.volumeMounts!.find((m) => m.name === claim.metadata!.name);
      expect(mount?.mountPath).toBe(NODE_DATA_DIR);
      expect(env.get("RAFTQ_DATA_DIR")).toBe(NODE_DATA_DIR);
      expect(matches(spec.selector.matchLabels, pod.metadata!.labels)).toBe(true);
    });

    it("ports match the node's flags and its fixed ports", () => {
      expect(grpcPort).toBe(NODE_GRPC_PORT);
      expect(httpPort).toBe(NODE_HTTP_PORT);
      expect(Number(env.get("RAFTQ_GRPC_PORT"))).toBe(grpcPort);
      expect(Number(env.get("RAFTQ_HTTP_PORT"))).toBe(httpPort);
      expect(c.args).toEqual(["node"]);
      for (const e of c.env ?? []) {
        if (e.name.startsWith("RAFTQ_")) expect(NODE_ENV_FLAGS, e.name).toContain(e.name);
      }
    });

    it("peers: bootstrap members only, by their headless-service DNS names", () => {
      const bootstrap = clusterValues.bootstrapReplicas || replicas;
      const peers = env.get("RAFTQ_PEERS")!.split(",");
      expect(peers).toHaveLength(bootstrap);
      peers.forEach((p, i) => {
        const podName = `${sts.metadata!.name}-${i}`;
        expect(p).toBe(`${podName}=${podName}.${spec.serviceName}.$(POD_NAMESPACE).svc:${grpcPort}`);
      });
      expect(env.get("RAFTQ_ID")).toBe("$(POD_NAME)");
      expect(env.get("RAFTQ_ADVERTISE_ADDRESS")).toBe(
        `$(POD_NAME).${spec.serviceName}.$(POD_NAMESPACE).svc:${grpcPort}`,
      );
      expect(env.get("RAFTQ_CLUSTER_ID")).toBe(sts.metadata!.name);
      // $(VAR) expansion only sees variables defined earlier in the list.
      const names = (c.env ?? []).map((e) => e.name);
      expect(names.indexOf("POD_NAME")).toBeLessThan(names.indexOf("RAFTQ_ID"));
      expect(names.indexOf("POD_NAMESPACE")).toBeLessThan(names.indexOf("RAFTQ_PEERS"));
    });

    it("probes: cheap local startup/liveness, quorum-aware readiness, on endpoints the node serves", () => {
      for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
        expect(probe?.httpGet, "http probe").toBeDefined();
        expect(portNumber(c, probe!.httpGet!.port)).toBe(httpPort);
        expect(NODE_HTTP_PATHS).toContain(probe!.httpGet!.path);
      }
      expect(c.startupProbe!.httpGet!.path).toBe("/livez");
      expect(c.livenessProbe!.httpGet!.path).toBe("/livez");
      expect(c.readinessProbe!.httpGet!.path).toBe("/readyz");
      // Startup must allow minutes of RocksDB recovery before liveness can restart the pod.
      const p = c.startupProbe!;
      expect((p.periodSeconds ?? 10) * (p.failureThreshold ?? 3)).toBeGreaterThanOrEqual(120);
    });

    it("preStop transfers leadership within the termination grace period", () => {
      const cmd = c.lifecycle!.preStop!.exec!.command!;
      expect(cmd.slice(0, 2)).toEqual(["raftq", "step-down"]);
      expect(cmd[cmd.indexOf("--endpoint") + 1]).toBe(`127.0.0.1:${grpcPort}`);
      const timeoutMs = Number(cmd[cmd.indexOf("--timeout-ms") + 1]);
      expect(timeoutMs).toBeGreaterThan(0);
      expect(pod.spec!.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(timeoutMs + 5000);
    });

    it("scheduling: anti-affinity by hostname (or as configured) and topology spread", () => {
      const aa = pod.spec!.affinity?.podAntiAffinity;
      const mode = (vs.values.cluster as { scheduling?: { antiAffinity?: string } }).scheduling?.antiAffinity;
      if (mode === "preferred") {
        const term = aa!.preferredDuringSchedulingIgnoredDuringExecution![0]!.podAffinityTerm;
        expect(matches(term.labelSelector!.matchLabels, pod.metadata!.labels)).toBe(true);
      } else {
        const term = aa!.requiredDuringSchedulingIgnoredDuringExecution![0]!;
        expect(term.topologyKey).toBe("kubernetes.io/hostname");
        expect(matches(term.labelSelector!.matchLabels, pod.metadata!.labels)).toBe(true);
        const spread = pod.spec!.topologySpreadConstraints![0]!;
        expect(spread.topologyKey).toBe("topology.kubernetes.io/zone");
        expect(matches(spread.labelSelector!.matchLabels, pod.metadata!.labels)).toBe(true);
      }
    });

    it("security: non-root, read-only root filesystem, no privilege escalation, requests set", () => {
      expect(pod.spec!.securityContext!.runAsNonRoot).toBe(true);
      expect(pod.spec!.securityContext!.runAsUser).not.toBe(0);
      expect(pod.spec!.automountServiceAccountToken).toBe(false);
      for (const ctr of containers(sts as unknown as KubeObj)) {
        expect(ctr.securityContext).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
        expect(ctr.resources?.requests?.cpu).toBeDefined();
        expect(ctr.resources?.requests?.memory).toBeDefined();
      }
    });

    it("peer Service is headless and publishes not-ready addresses; client Service selects the members", () => {
      expect(peerSvc.spec!.clusterIP).toBe("None");
      expect(peerSvc.spec!.publishNotReadyAddresses).toBe(true);
      for (const svc of [peerSvc, clientSvc]) {
        expect(matches(svc.spec!.selector, pod.metadata!.labels)).toBe(true);
        const grpc = svc.spec!.ports!.find((p) => p.name === "grpc")!;
        expect(grpc.port).toBe(NODE_GRPC_PORT);
        expect(portNumber(c, grpc.targetPort)).toBe(NODE_GRPC_PORT);
      }
      expect(clientSvc.spec!.publishNotReadyAddresses).toBeFalsy();
    });

    it("PodDisruptionBudget allows at most one member unavailable", () => {
      const pdb = find(o, "PodDisruptionBudget") as unknown as V1PodDisruptionBudget;
      expect(pdb.spec!.maxUnavailable).toBe(1);
      expect(pdb.spec!.minAvailable).toBeUndefined();
      expect(matches(pdb.spec!.selector!.matchLabels, pod.metadata!.labels)).toBe(true);
    });
  });
});

describe("the operator", () => {
  const o = objs("defaults");
  const dep = find(o, "Deployment") as unknown as V1Deployment;
  const c = dep.spec!.template.spec!.containers[0]!;

  it("runs `raftq operator` as non-root with probes on its health port", () => {
    expect(c.args).toEqual(["operator"]);
    const env = envOf(c);
    expect(portNumber(c, c.livenessProbe!.httpGet!.port)).toBe(Number(env.get("RAFTQ_HEALTH_PORT")));
    expect(c.livenessProbe!.httpGet!.path).toBe("/healthz");
    expect(c.readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(portNumber(c, "metrics")).toBe(Number(env.get("RAFTQ_METRICS_PORT")));
    expect(env.get("RAFTQ_OPERATOR_NAMESPACE")).toBe("");
    expect(dep.spec!.template.spec!.securityContext!.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
  });

  it("RBAC is least-privilege: no wildcards, no secrets, no exec, bound to the operator's ServiceAccount", () => {
    const sa = find(o, "ServiceAccount");
    expect(dep.spec!.template.spec!.serviceAccountName).toBe(sa.metadata.name);
    const roles = o.filter((x) => x.kind === "ClusterRole" || x.kind === "Role");
    for (const role of roles) {
      for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain("*");
        expect(rule.resources).not.toContain("secrets");
        expect(rule.resources).not.toContain("pods/exec");
      }
    }
    for (const b of o.filter((x) => x.kind.endsWith("RoleBinding"))) {
      expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: sa.metadata.name, namespace: "default" }]);
    }
    const cr = find(o, "ClusterRole");
    const can = (group: string, resource: string, verb: string) =>
      (cr.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    expect(can("raftq.io", "jobqueues", "watch")).toBe(true);
    expect(can("raftq.io", "jobqueues/status", "patch")).toBe(true);
    expect(can("apps", "statefulsets", "create")).toBe(true);
    expect(can("", "pods", "delete")).toBe(true);
    expect(can("", "pods", "create")).toBe(false);
    expect(can("policy", "poddisruptionbudgets", "create")).toBe(true);
  });
});

describe("values.schema.json rejects what cannot run", () => {
  it.each([
    ["even replicas", { cluster: { enabled: true, replicas: 4 } }, "/cluster/replicas"],
    ["zero replicas", { cluster: { enabled: true, replicas: 0 } }, "/cluster/replicas"],
    ["negative storage", { cluster: { storage: { size: "-10Gi" } } }, "/cluster/storage/size"],
    [
      "negative cpu",
      { cluster: { resources: { requests: { cpu: -1 } } } },
      "/cluster/resources/requests/cpu",
    ],
    ["unknown top-level key", { clutser: { enabled: true } }, "clutser"],
    ["unknown nested key", { cluster: { raft: { electionTimeoutMs: 100 } } }, "electionTimeoutMs"],
    ["bad update strategy", { cluster: { updateStrategy: "Recreate" } }, "/cluster/updateStrategy"],
    [
      "short grace period",
      { cluster: { terminationGracePeriodSeconds: 5 } },
      "terminationGracePeriodSeconds",
    ],
  ])("%s", (_name, values, where) => {
    const r = tryRenderChart(values);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(where);
  });
});

/**
 * Check the manifests against the node's real code, not only against the contract.
 */
describe("the node's own code agrees with the manifests", () => {
  const httpSource = join(repoRoot, "src", "observability", "http.ts");

  it("the HTTP server serves every path a probe or scrape uses", () => {
    const src = readFileSync(httpSource, "utf8");
    for (const path of NODE_HTTP_PATHS) expect(src, path).toContain(`"${path}"`);
  });

  it("the node's defaults are the JobQueue's defaults", async () => {
    const { DEFAULT_NODE_CONFIG: n } = (await import("../../src/node/config.js")) as {
      DEFAULT_NODE_CONFIG: Record<string, unknown>;
    };
    const d = JOBQUEUE_DEFAULTS;
    expect(n).toMatchObject({
      grpcPort: NODE_GRPC_PORT,
      httpPort: NODE_HTTP_PORT,
      electionTimeoutMinMs: d.raft.electionTimeoutMinMs,
      electionTimeoutMaxMs: d.raft.electionTimeoutMaxMs,
      heartbeatIntervalMs: d.raft.heartbeatIntervalMs,
      maxPendingProposals: d.raft.maxPendingProposals,
      proposalTimeoutMs: d.raft.proposalTimeoutMs,
      snapshotThreshold: d.snapshotThreshold,
      livenessWindowMs: d.livenessWindowMs,
      logLevel: d.logLevel,
    });
  });
});

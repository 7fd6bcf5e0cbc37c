/**
 * The objects a raftq cluster is made of, computed from a JobQueue.
 *
 * Pure: no I/O, no clock, no randomness; the reconciler applies what this
 * returns (server-side apply) and decides *when* (one member at a time). The
 * Helm chart's operator-less mode renders the same objects from its values;
 * test/k8s/render-parity.test.ts keeps the two in step.
 */
import type {
  V1Affinity,
  V1EnvVar,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Probe,
  V1Service,
  V1StatefulSet,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import {
  JOBQUEUE_API_VERSION,
  JOBQUEUE_DEFAULTS as D,
  JOBQUEUE_KIND,
  NODE_DATA_DIR,
  NODE_GRPC_PORT,
  NODE_HTTP_PORT,
  NODE_UID,
  STEP_DOWN_TIMEOUT_MS,
  type JobQueue,
  type ResourceList,
} from "./jobqueue-types.js";

/** The Prometheus Operator's ServiceMonitor, reduced to the fields raftq sets. */
export interface ServiceMonitor {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    ownerReferences?: V1OwnerReference[];
  };
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: { port: string; path: string; interval?: string; scheme?: string }[];
    jobLabel?: string;
  };
}

export type KubeObject = V1StatefulSet | V1Service | V1PodDisruptionBudget | ServiceMonitor;

export interface RenderOptions {
  /**
   * StatefulSet replicas. The operator moves one member at a time towards
   * spec.replicas (add learner, promote, then the next), so it passes the step
   * it is on; defaults to spec.replicas.
   */
  replicas?: number;
  /**
   * Members listed in --peers. Only the bootstrap members belong there: a pod
   * whose id is not listed starts in join mode and waits to be added as a
   * learner. Defaults to status.bootstrapReplicas, else spec.replicas.
   */
  bootstrapReplicas?: number;
  /** Whether the ServiceMonitor CRD exists (the operator checks API discovery). Defaults to true. */
  serviceMonitorAvailable?: boolean;
}

/** Object names for a cluster called `name` (the JobQueue's name). */
export function clusterNames(name: string): {
  statefulSet: string;
  peerService: string;
  clientService: string;
  podDisruptionBudget: string;
  serviceMonitor: string;
} {
  return {
    statefulSet: name,
    peerService: `${name}-peers`,
    clientService: name,
    podDisruptionBudget: name,
    serviceMonitor: name,
  };
}

/** Labels that select a cluster's pods; never change them on a live cluster (selectors are immutable). */
export function selectorLabels(name: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "raftq",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/component": "node",
  };
}

function commonLabels(name: string): Record<string, string> {
  return {
    ...selectorLabels(name),
    "app.kubernetes.io/part-of": "raftq",
    "app.kubernetes.io/managed-by": "raftq-operator",
  };
}

/** `--peers`: the bootstrap members' stable DNS names through the headless service. */
export function peersValue(name: string, bootstrapReplicas: number): string {
  const svc = clusterNames(name).peerService;
  return Array.from(
    { length: bootstrapReplicas },
    (_, i) => `${name}-${i}=${name}-${i}.${svc}.$(POD_NAMESPACE).svc:${NODE_GRPC_PORT}`,
  ).join(",");
}

/** Warnings the operator surfaces as a condition; the CRD schema already rejected what cannot run. */
export function specWarnings(jq: JobQueue): string[] {
  const out: string[] = [];
  const r = jq.spec.replicas;
  if (r % 2 === 0) {
    out.push(`replicas=${r} is even: it tolerates no more failures than ${r - 1} and needs a larger quorum`);
  }
  const raft = { ...D.raft, ...jq.spec.raft };
  if (raft.electionTimeoutMinMs >= raft.electionTimeoutMaxMs) {
    out.push("raft.electionTimeoutMinMs must be below raft.electionTimeoutMaxMs");
  }
  if (raft.heartbeatIntervalMs * 2 > raft.electionTimeoutMinMs) {
    out.push("raft.heartbeatIntervalMs should be at most half of raft.electionTimeoutMinMs");
  }
  const grace = jq.spec.terminationGracePeriodSeconds ?? D.terminationGracePeriodSeconds;
  if (grace * 1000 < STEP_DOWN_TIMEOUT_MS + 5000) {
    out.push(`terminationGracePeriodSeconds=${grace} leaves too little time for the leadership transfer`);
  }
  return out;
}

function quantities(list: ResourceList | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  return Object.fromEntries(Object.entries(list).map(([k, v]) => [k, String(v)]));
}

/** Environment of the node container; every `raftq node` flag has an env twin (--foo-bar = RAFTQ_FOO_BAR). */
export function nodeEnv(jq: JobQueue, bootstrapReplicas: number): V1EnvVar[] {
  const name = jq.metadata.name;
  const raft = { ...D.raft, ...jq.spec.raft };
  const s = jq.spec;
  return [
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "RAFTQ_ID", value: "$(POD_NAME)" },
    { name: "RAFTQ_CLUSTER_ID", value: name },
    {
      name: "RAFTQ_ADVERTISE_ADDRESS",
      value: `$(POD_NAME).${clusterNames(name).peerService}.$(POD_NAMESPACE).svc:${NODE_GRPC_PORT}`,
    },
    { name: "RAFTQ_PEERS", value: peersValue(name, bootstrapReplicas) },
    { name: "RAFTQ_GRPC_PORT", value: String(NODE_GRPC_PORT) },
    { name: "RAFTQ_HTTP_PORT", value: String(NODE_HTTP_PORT) },
    { name: "RAFTQ_DATA_DIR", value: NODE_DATA_DIR },
    { name: "RAFTQ_ELECTION_TIMEOUT_MIN_MS", value: String(raft.electionTimeoutMinMs) },
    { name: "RAFTQ_ELECTION_TIMEOUT_MAX_MS", value: String(raft.electionTimeoutMaxMs) },
    { name: "RAFTQ_HEARTBEAT_INTERVAL_MS", value: String(raft.heartbeatIntervalMs) },
    { name: "RAFTQ_SNAPSHOT_THRESHOLD", value: String(s.snapshotThreshold ?? D.snapshotThreshold) },
    { name: "RAFTQ_LIVENESS_WINDOW_MS", value: String(s.livenessWindowMs ?? D.livenessWindowMs) },
    { name: "RAFTQ_MAX_PENDING_PROPOSALS", value: String(raft.maxPendingProposals) },
    { name: "RAFTQ_PROPOSAL_TIMEOUT_MS", value: String(raft.proposalTimeoutMs) },
    { name: "RAFTQ_LOG_LEVEL", value: s.logLevel ?? D.logLevel },
  ];
}

/** Probes: startup and liveness are local and cheap; readiness is quorum-aware (/readyz). */
export function nodeProbes(): { startupProbe: V1Probe; livenessProbe: V1Probe; readinessProbe: V1Probe } {
  return {
    // Opening RocksDB and replaying the log after a crash can take minutes; allow 5 before liveness counts.
    startupProbe: {
      httpGet: { path: "/livez", port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 60,
    },
    // Only the process and its event loop: a node cut off from its peers must not be restarted for it.
    livenessProbe: {
      httpGet: { path: "/livez", port: "http" },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    },
    // Takes the pod out of the client Service while it has no leader or lags; peers still reach it
    // through the headless Service, which publishes not-ready addresses.
    readinessProbe: {
      httpGet: { path: "/readyz", port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    },
  };
}

function affinity(jq: JobQueue): V1Affinity | undefined {
  const mode = jq.spec.scheduling?.antiAffinity ?? D.scheduling.antiAffinity;
  const topologyKey = jq.spec.scheduling?.antiAffinityTopologyKey ?? D.scheduling.antiAffinityTopologyKey;
  const term = { labelSelector: { matchLabels: selectorLabels(jq.metadata.name) }, topologyKey };
  if (mode === "required") {
    return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } };
  }
  if (mode === "preferred") {
    return {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }],
      },
    };
  }
  return undefined;
}

function topologySpread(jq: JobQueue): V1TopologySpreadConstraint[] | undefined {
  const z = { ...D.scheduling.zoneSpread, ...jq.spec.scheduling?.zoneSpread };
  if (!z.enabled) return undefined;
  return [
    {
      maxSkew: z.maxSkew,
      topologyKey: z.topologyKey,
      whenUnsatisfiable: z.whenUnsatisfiable,
      labelSelector: { matchLabels: selectorLabels(jq.metadata.name) },
    },
  ];
}

function monitoringMode(jq: JobQueue, opts: RenderOptions): "serviceMonitor" | "annotations" | "off" {
  const m = { ...D.monitoring, ...jq.spec.monitoring };
  if (!m.enabled) return "off";
  return m.serviceMonitor && (opts.serviceMonitorAvailable ?? true) ? "serviceMonitor" : "annotations";
}

function podSpec(jq: JobQueue, bootstrapReplicas: number): V1PodSpec {
  const s = jq.spec;
  const image = { ...D.image, ...s.image };
  const sched = s.scheduling ?? {};
  const resources = s.resources ?? D.resources;
  return {
    // Nodes never call the Kubernetes API.
    automountServiceAccountToken: false,
    // Service links would inject RAFTQ_*-looking variables (e.g. RAFTQ_PEERS_SERVICE_HOST for a
    // cluster named "raftq") into an environment the node reads its flags from.
    enableServiceLinks: false,
    terminationGracePeriodSeconds: s.terminationGracePeriodSeconds ?? D.terminationGracePeriodSeconds,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: NODE_UID,
      runAsGroup: NODE_UID,
      fsGroup: NODE_UID,
      // Avoids a recursive chown of a large RocksDB volume on every start.
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    },
    ...(s.imagePullSecrets?.length ? { imagePullSecrets: s.imagePullSecrets } : {}),
    ...(sched.priorityClassName ? { priorityClassName: sched.priorityClassName } : {}),
    ...(sched.nodeSelector && Object.keys(sched.nodeSelector).length
      ? { nodeSelector: sched.nodeSelector }
      : {}),
    ...(sched.tolerations?.length ? { tolerations: sched.tolerations } : {}),
    ...(affinity(jq) ? { affinity: affinity(jq) } : {}),
    ...(topologySpread(jq) ? { topologySpreadConstraints: topologySpread(jq) } : {}),
    containers: [
      {
        name: "raftq",
        image: `${image.repository}:${image.tag}`,
        imagePullPolicy: image.pullPolicy,
        args: ["node"],
        env: nodeEnv(jq, bootstrapReplicas),
        ports: [
          { name: "grpc", containerPort: NODE_GRPC_PORT, protocol: "TCP" },
          { name: "http", containerPort: NODE_HTTP_PORT, protocol: "TCP" },
        ],
        ...nodeProbes(),
        lifecycle: {
          // Hand leadership to a caught-up voter before SIGTERM, so a restart costs no election timeout.
          preStop: {
            exec: {
              command: [
                "raftq",
                "step-down",
                "--endpoint",
                `127.0.0.1:${NODE_GRPC_PORT}`,
                "--timeout-ms",
                String(STEP_DOWN_TIMEOUT_MS),
              ],
            },
          },
        },
        resources: {
          ...(resources.requests ? { requests: quantities(resources.requests) } : {}),
          ...(resources.limits ? { limits: quantities(resources.limits) } : {}),
        },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: NODE_UID,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
        volumeMounts: [
          { name: "data", mountPath: NODE_DATA_DIR },
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    // The root filesystem is read-only; Node and RocksDB may still want a scratch directory.
    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
  };
}

/**
 * Renders the StatefulSet, the headless peer Service, the client Service, the
 * PodDisruptionBudget and (with monitoring and the Prometheus Operator) a
 * ServiceMonitor, all owned by the JobQueue.
 */
export function renderCluster(jq: JobQueue, opts: RenderOptions = {}): KubeObject[] {
  const name = jq.metadata.name;
  const namespace = jq.metadata.namespace;
  if (!jq.metadata.uid) throw new Error(`JobQueue ${name} has no uid: owner references need one`);
  const names = clusterNames(name);
  const replicas = opts.replicas ?? jq.spec.replicas;
  const bootstrapReplicas = opts.bootstrapReplicas ?? jq.status?.bootstrapReplicas ?? jq.spec.replicas;
  const owner: V1OwnerReference = {
    apiVersion: JOBQUEUE_API_VERSION,
    kind: JOBQUEUE_KIND,
    name,
    uid: jq.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  const meta = (objName: string, extraLabels: Record<string, string> = {}) => ({
    name: objName,
    ...(namespace ? { namespace } : {}),
    labels: { ...commonLabels(name), ...extraLabels },
    ownerReferences: [owner],
  });
  const storage = { ...D.storage, ...jq.spec.storage };
  const retention = { ...D.storage.retentionPolicy, ...jq.spec.storage?.retentionPolicy };
  const monitoring = { ...D.monitoring, ...jq.spec.monitoring };
  const mode = monitoringMode(jq, opts);
  const service = { ...D.service, ...jq.spec.service };

  const podAnnotations: Record<string, string> = {
    ...(mode === "annotations"
      ? {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(NODE_HTTP_PORT),
          "prometheus.io/path": "/metrics",
        }
      : {}),
    ...jq.spec.podAnnotations,
  };

  const statefulSet: V1StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      ...meta(names.statefulSet),
      annotations: { "raftq.io/bootstrap-replicas": String(bootstrapReplicas) },
    },
    spec: {
      replicas,
      serviceName: names.peerService,
      // Members find each other by DNS and the operator orders membership changes itself; waiting for
      // pod-0 to be Ready first would deadlock, since readiness needs a quorum.
      podManagementPolicy: "Parallel",
      // The operator restarts pods itself: followers first, the leader last after a transfer, never
      // while quorum is at risk. The StatefulSet controller must not do it behind its back.
      updateStrategy: { type: "OnDelete" },
      persistentVolumeClaimRetentionPolicy: {
        whenDeleted: retention.whenDeleted,
        whenScaled: retention.whenScaled,
      },
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: {
          labels: { ...commonLabels(name), ...jq.spec.podLabels },
          ...(Object.keys(podAnnotations).length ? { annotations: podAnnotations } : {}),
        },
        spec: podSpec(jq, bootstrapReplicas),
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "data", labels: selectorLabels(name) },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
            resources: { requests: { storage: storage.size } },
          },
        },
      ],
    },
  };

  const peerService: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(names.peerService, { "raftq.io/service": "peers" }),
    spec: {
      clusterIP: "None",
      // Peers must reach each other before they are Ready: readiness itself needs a leader.
      publishNotReadyAddresses: true,
      selector: selectorLabels(name),
      ports: [
        { name: "grpc", port: NODE_GRPC_PORT, targetPort: "grpc", protocol: "TCP" },
        { name: "http", port: NODE_HTTP_PORT, targetPort: "http", protocol: "TCP" },
      ],
    },
  };

  const clientService: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      ...meta(names.clientService, { "raftq.io/service": "client" }),
      ...(service.annotations && Object.keys(service.annotations).length
        ? { annotations: service.annotations }
        : {}),
    },
    spec: {
      type: service.type,
      selector: selectorLabels(name),
      ports: [{ name: "grpc", port: NODE_GRPC_PORT, targetPort: "grpc", protocol: "TCP" }],
    },
  };

  const pdb: V1PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(names.podDisruptionBudget),
    spec: {
      // One member down at a time keeps a quorum for any size >= 3.
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(name) },
      // A member that is not Ready (lagging, or the cluster has no leader) must not be evicted on top.
      unhealthyPodEvictionPolicy: "IfHealthyBudget",
    },
  };

  const objects: KubeObject[] = [statefulSet, peerService, clientService, pdb];
  if (mode === "serviceMonitor") {
    objects.push({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: meta(names.serviceMonitor, monitoring.labels ?? {}),
      spec: {
        // The peer Service lists not-ready members too: their metrics matter most.
        selector: { matchLabels: { ...selectorLabels(name), "raftq.io/service": "peers" } },
        endpoints: [{ port: "http", path: "/metrics", interval: monitoring.interval }],
      },
    });
  }
  return objects;
}

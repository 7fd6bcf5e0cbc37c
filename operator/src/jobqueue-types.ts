/**
 * The JobQueue custom resource (raftq.io/v1alpha1): what a user writes (spec)
 * and what the operator reports (status).
 *
 * The OpenAPI schema that the API server enforces lives in the Helm chart
 * (charts/raftq/templates/crd-jobqueue.yaml); test/k8s checks that the
 * defaults below, the CRD's defaults and the chart's cluster values agree.
 */
import type { V1Toleration } from "@kubernetes/client-node";

export const JOBQUEUE_GROUP = "raftq.io";
export const JOBQUEUE_VERSION = "v1alpha1";
export const JOBQUEUE_API_VERSION = `${JOBQUEUE_GROUP}/${JOBQUEUE_VERSION}`;
export const JOBQUEUE_KIND = "JobQueue";
export const JOBQUEUE_PLURAL = "jobqueues";

/** Quantities may be written as numbers (`cpu: 1`) or strings (`memory: 512Mi`), as in core objects. */
export type Quantity = number | string;

export interface ResourceList {
  [resource: string]: Quantity;
}

export interface JobQueueResources {
  requests?: ResourceList;
  limits?: ResourceList;
}

export type PullPolicy = "Always" | "IfNotPresent" | "Never";
export type PvcRetention = "Retain" | "Delete";
export type AntiAffinityMode = "required" | "preferred" | "none";
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface JobQueueImage {
  repository?: string;
  tag?: string;
  pullPolicy?: PullPolicy;
}

export interface JobQueueStorage {
  /** Size of each member's RocksDB volume, e.g. "10Gi". */
  size?: string;
  /** StorageClass of the volume claims; unset = the cluster's default class. */
  storageClassName?: string;
  /** What happens to the claims when the JobQueue is deleted or scaled down. */
  retentionPolicy?: { whenDeleted?: PvcRetention; whenScaled?: PvcRetention };
}

/** Raft timing and flow control: each maps to one `raftq node` flag. */
export interface JobQueueRaft {
  electionTimeoutMinMs?: number;
  electionTimeoutMaxMs?: number;
  heartbeatIntervalMs?: number;
  maxPendingProposals?: number;
  proposalTimeoutMs?: number;
}

export interface JobQueueScheduling {
  /** Pod anti-affinity between members: "required" keeps two members off one failure domain. */
  antiAffinity?: AntiAffinityMode;
  /** The failure domain of the anti-affinity (a node label key). */
  antiAffinityTopologyKey?: string;
  zoneSpread?: {
    enabled?: boolean;
    topologyKey?: string;
    maxSkew?: number;
    whenUnsatisfiable?: "DoNotSchedule" | "ScheduleAnyway";
  };
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  priorityClassName?: string;
}

export interface JobQueueMonitoring {
  /** Expose metrics to Prometheus (ServiceMonitor, or scrape annotations without the Prometheus Operator). */
  enabled?: boolean;
  /** Create a ServiceMonitor when the Prometheus Operator's CRDs exist. */
  serviceMonitor?: boolean;
  interval?: string;
  /** Extra labels on the ServiceMonitor, e.g. the `release` label a Prometheus selects on. */
  labels?: Record<string, string>;
}

export interface JobQueueSpec {
  /** Number of Raft members, 1..7; odd numbers tolerate the most failures per member. */
  replicas: number;
  image?: JobQueueImage;
  imagePullSecrets?: { name: string }[];
  resources?: JobQueueResources;
  storage?: JobQueueStorage;
  raft?: JobQueueRaft;
  /** Log entries between snapshots (`--snapshot-threshold`). */
  snapshotThreshold?: number;
  /** How long a worker or member counts as alive after it was last heard from (`--liveness-window-ms`). */
  livenessWindowMs?: number;
  logLevel?: LogLevel;
  scheduling?: JobQueueScheduling;
  service?: { type?: "ClusterIP" | "NodePort" | "LoadBalancer"; annotations?: Record<string, string> };
  podAnnotations?: Record<string, string>;
  podLabels?: Record<string, string>;
  /** Must cover the preStop leadership transfer (20 s) plus a clean shutdown. */
  terminationGracePeriodSeconds?: number;
  monitoring?: JobQueueMonitoring;
}

export type MemberRoleStatus = "leader" | "follower" | "candidate" | "learner" | "unknown";

export interface JobQueueMemberStatus {
  id: string;
  address?: string;
  role?: MemberRoleStatus;
  alive?: boolean;
  matchIndex?: number;
}

export interface JobQueueCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export type JobQueuePhase = "Pending" | "Bootstrapping" | "Running" | "Scaling" | "Degraded" | "Failed";

export interface JobQueueStatus {
  observedGeneration?: number;
  phase?: JobQueuePhase;
  replicas?: number;
  readyReplicas?: number;
  /** The size the cluster was bootstrapped with: `--peers` lists exactly these members, forever. */
  bootstrapReplicas?: number;
  leader?: string;
  term?: number;
  commitIndex?: number;
  members?: JobQueueMemberStatus[];
  conditions?: JobQueueCondition[];
}

export interface ObjectMetaLite {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

export interface JobQueue {
  apiVersion: typeof JOBQUEUE_API_VERSION;
  kind: typeof JOBQUEUE_KIND;
  metadata: ObjectMetaLite;
  spec: JobQueueSpec;
  status?: JobQueueStatus;
}

/**
 * Defaults applied when a field is absent. The CRD schema declares the same
 * defaults (so `kubectl get -o yaml` shows them) and the chart's `cluster`
 * values start from them; a test keeps the three equal.
 */
export const JOBQUEUE_DEFAULTS = {
  image: { repository: "ghcr.io/raftq/raftq", tag: "0.1.0", pullPolicy: "IfNotPresent" as PullPolicy },
  resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } } as JobQueueResources,
  storage: {
    size: "10Gi",
    // Keep data when the JobQueue is deleted (recoverable); drop a scaled-away member's data, because it
    // was removed from the Raft configuration first and must rejoin fresh if its ordinal comes back.
    retentionPolicy: { whenDeleted: "Retain" as PvcRetention, whenScaled: "Delete" as PvcRetention },
  },
  raft: {
    electionTimeoutMinMs: 150,
    electionTimeoutMaxMs: 300,
    heartbeatIntervalMs: 50,
    maxPendingProposals: 256,
    proposalTimeoutMs: 5000,
  },
  snapshotThreshold: 1000,
  livenessWindowMs: 3000,
  logLevel: "info" as LogLevel,
  scheduling: {
    antiAffinity: "required" as AntiAffinityMode,
    antiAffinityTopologyKey: "kubernetes.io/hostname",
    zoneSpread: {
      enabled: true,
      topologyKey: "topology.kubernetes.io/zone",
      maxSkew: 1,
      whenUnsatisfiable: "ScheduleAnyway" as const,
    },
  },
  service: { type: "ClusterIP" as const },
  terminationGracePeriodSeconds: 45,
  monitoring: { enabled: true, serviceMonitor: true, interval: "30s" },
} as const;

/** The node's fixed ports and paths (the image's contract; not configurable per JobQueue). */
export const NODE_GRPC_PORT = 7700;
export const NODE_HTTP_PORT = 9100;
export const NODE_DATA_DIR = "/var/lib/raftq";
export const NODE_UID = 10001;
/** How long the preStop hook waits for a leadership transfer. */
export const STEP_DOWN_TIMEOUT_MS = 20_000;

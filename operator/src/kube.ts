/**
 * The Kubernetes writes the operator makes, through @kubernetes/client-node:
 * server-side apply of owned objects, scale by merge patch, deletes, the
 * JobQueue status subresource (PUT with resourceVersion: a stale read gets a
 * 409 and the key is retried), Events, and the discovery check for the
 * Prometheus Operator.
 */
import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import {
  JOBQUEUE_API_VERSION,
  JOBQUEUE_GROUP,
  JOBQUEUE_KIND,
  JOBQUEUE_PLURAL,
  JOBQUEUE_VERSION,
  type JobQueue,
  type JobQueueStatus,
} from "./jobqueue-types.js";

export const FIELD_MANAGER = "raftq-operator";

/** HTTP status of a client-node error (ApiException.code), if any. */
export function httpCode(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const o = e as { code?: unknown; statusCode?: unknown };
  if (typeof o.code === "number") return o.code;
  if (typeof o.statusCode === "number") return o.statusCode;
  return undefined;
}

export class KubeWriter {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly apis: ApisApi;
  private monitorCheck: { at: number; available: boolean } | null = null;

  constructor(
    kc: KubeConfig,
    private readonly component = FIELD_MANAGER,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.apis = kc.makeApiClient(ApisApi);
  }

  /** Server-side apply with force: the operator owns these fields. */
  async apply(obj: KubernetesObject): Promise<void> {
    await this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  async mergePatch(obj: KubernetesObject): Promise<void> {
    await this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
  }

  /** Deletes; an object that is already gone counts as deleted. */
  async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
    try {
      await this.objects.delete({ apiVersion, kind, metadata: { name, namespace } });
    } catch (e) {
      if (httpCode(e) !== 404) throw e;
    }
  }

  async replaceStatus(jq: JobQueue, status: JobQueueStatus): Promise<void> {
    await this.custom.replaceNamespacedCustomObjectStatus({
      group: JOBQUEUE_GROUP,
      version: JOBQUEUE_VERSION,
      namespace: jq.metadata.namespace ?? "default",
      plural: JOBQUEUE_PLURAL,
      name: jq.metadata.name,
      body: {
        apiVersion: JOBQUEUE_API_VERSION,
        kind: JOBQUEUE_KIND,
        metadata: jq.metadata,
        spec: jq.spec,
        status,
      },
    });
  }

  /** A core/v1 Event on the JobQueue; failures are the caller's to log, never fatal. */
  async event(jq: JobQueue, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const now = new Date();
    const namespace = jq.metadata.namespace ?? "default";
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: `${jq.metadata.name}.${randomBytes(8).toString("hex")}`, namespace },
        involvedObject: {
          apiVersion: JOBQUEUE_API_VERSION,
          kind: JOBQUEUE_KIND,
          name: jq.metadata.name,
          namespace,
          ...(jq.metadata.uid ? { uid: jq.metadata.uid } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  /** Whether the ServiceMonitor kind is served (the Prometheus Operator is installed); cached a minute. */
  async serviceMonitorAvailable(): Promise<boolean> {
    if (this.monitorCheck && Date.now() - this.monitorCheck.at < 60_000) return this.monitorCheck.available;
    let available = false;
    try {
      const groups = await this.apis.getAPIVersions();
      available = groups.groups.some((g) => g.name === "monitoring.coreos.com");
    } catch {
      available = false;
    }
    this.monitorCheck = { at: Date.now(), available };
    return available;
  }
}

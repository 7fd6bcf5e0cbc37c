/**
 * The caches the controller reads: list+watch informers on JobQueues and on
 * the objects a cluster is made of, restricted to raftq's labels. A watch that
 * ends with an error is restarted after a bounded backoff (client-node's
 * informer does not restart itself after an error).
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  PolicyV1Api,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1Service,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { JOBQUEUE_GROUP, JOBQUEUE_PLURAL, JOBQUEUE_VERSION, type JobQueue } from "./jobqueue-types.js";

/** Every object the operator creates carries it; pods and claims get it from the StatefulSet. */
export const RAFTQ_SELECTOR = "app.kubernetes.io/name=raftq";

export type Cache<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface Caches {
  jobQueues: Cache<JobQueue & KubernetesObject>;
  statefulSets: Cache<V1StatefulSet>;
  pods: Cache<V1Pod>;
  pvcs: Cache<V1PersistentVolumeClaim>;
  services: Cache<V1Service>;
  pdbs: Cache<V1PodDisruptionBudget>;
}

function nsPath(prefix: string, namespace: string, plural: string): string {
  return namespace ? `${prefix}/namespaces/${namespace}/${plural}` : `${prefix}/${plural}`;
}

export function makeCaches(kc: KubeConfig, namespace: string): Caches {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const sel = RAFTQ_SELECTOR;
  const jq = { group: JOBQUEUE_GROUP, version: JOBQUEUE_VERSION, plural: JOBQUEUE_PLURAL };
  return {
    jobQueues: makeInformer(
      kc,
      nsPath(`/apis/${JOBQUEUE_GROUP}/${JOBQUEUE_VERSION}`, namespace, JOBQUEUE_PLURAL),
      () =>
        namespace
          ? custom.listNamespacedCustomObject({ ...jq, namespace })
          : custom.listClusterCustomObject(jq),
    ),
    statefulSets: makeInformer(
      kc,
      nsPath("/apis/apps/v1", namespace, "statefulsets"),
      () =>
        namespace
          ? apps.listNamespacedStatefulSet({ namespace, labelSelector: sel })
          : apps.listStatefulSetForAllNamespaces({ labelSelector: sel }),
      sel,
    ),
    pods: makeInformer(
      kc,
      nsPath("/api/v1", namespace, "pods"),
      () =>
        namespace
          ? core.listNamespacedPod({ namespace, labelSelector: sel })
          : core.listPodForAllNamespaces({ labelSelector: sel }),
      sel,
    ),
    pvcs: makeInformer(
      kc,
      nsPath("/api/v1", namespace, "persistentvolumeclaims"),
      () =>
        namespace
          ? core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: sel })
          : core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: sel }),
      sel,
    ),
    services: makeInformer(
      kc,
      nsPath("/api/v1", namespace, "services"),
      () =>
        namespace
          ? core.listNamespacedService({ namespace, labelSelector: sel })
          : core.listServiceForAllNamespaces({ labelSelector: sel }),
      sel,
    ),
    pdbs: makeInformer(
      kc,
      nsPath("/apis/policy/v1", namespace, "poddisruptionbudgets"),
      () =>
        namespace
          ? policy.listNamespacedPodDisruptionBudget({ namespace, labelSelector: sel })
          : policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector: sel }),
      sel,
    ),
  };
}

/**
 * Starts an informer and keeps it running: after an error it restarts with
 * backoff (1 s doubling to 30 s). Resolves once the first list succeeded.
 */
export function runInformer<T extends KubernetesObject>(
  name: string,
  inf: Cache<T>,
  isStopped: () => boolean,
  log: (msg: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  let delay = 1000;
  inf.on("connect", () => {
    delay = 1000;
  });
  inf.on("error", (err: unknown) => {
    if (isStopped()) return;
    log("watch ended with an error; restarting", { informer: name, error: String(err), delayMs: delay });
    setTimeout(() => {
      if (!isStopped()) void inf.start().catch(() => undefined);
    }, delay);
    delay = Math.min(30_000, delay * 2);
  });
  return inf.start();
}

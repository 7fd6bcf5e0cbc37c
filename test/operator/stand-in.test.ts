/**
 * The stand-in API server keeps the promises the operator relies on, checked
 * through @kubernetes/client-node itself: resourceVersion and 409 on stale
 * updates, generation on spec changes only, the status subresource, list +
 * watch resuming from a resourceVersion (410 when too old), server-side apply
 * as an upsert, graceful pod deletion, owner-reference garbage collection.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCode } from "../../operator/src/kube.js";
import { kubeconfigYaml, startStandInApiServer, type StandInServer } from "./stand-in/server.js";
import { Store } from "./stand-in/store.js";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../node/harness.js";
import { join } from "node:path";

let api: StandInServer;
let kc: KubeConfig;
const jq = { group: "raftq.io", version: "v1alpha1", plural: "jobqueues", namespace: "default" };

beforeAll(async () => {
  api = await startStandInApiServer(new Store(50));
  kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(api.url));
  const crd = parseAllDocuments(readFileSync(join(REPO_ROOT, "deploy/10-crd.yaml"), "utf8"))
    .map((d) => d.toJSON() as { kind?: string })
    .find((d) => d?.kind === "CustomResourceDefinition")!;
  await KubernetesObjectApi.makeApiClient(kc).create(crd as never);
});
afterAll(() => api.close());

const custom = () => kc.makeApiClient(CustomObjectsApi);
const getJq = (name: string) => custom().getNamespacedCustomObject({ ...jq, name }) as Promise<Loose>;

/** A JobQueue read back as plain JSON. */
type Loose = {
  metadata: { generation?: number; resourceVersion?: string; labels?: Record<string, string> };
  spec: { replicas?: number };
  status?: { phase?: string };
};

describe("stand-in API server", () => {
  it("bumps generation on spec changes only; status only through /status", async () => {
    await custom().createNamespacedCustomObject({
      ...jq,
      body: {
        apiVersion: "raftq.io/v1alpha1",
        kind: "JobQueue",
        metadata: { name: "g" },
        spec: { replicas: 3 },
      },
    });
    let o = await getJq("g");
    expect(o.metadata.generation).toBe(1);
    await custom().replaceNamespacedCustomObject({
      ...jq,
      name: "g",
      body: { ...o, metadata: { ...o.metadata, labels: { a: "b" } } },
    });
    o = await getJq("g");
    expect(o.metadata.generation).toBe(1);
    await custom().replaceNamespacedCustomObject({
      ...jq,
      name: "g",
      body: { ...o, spec: { replicas: 5 }, status: { phase: "X" } },
    });
    o = await getJq("g");
    expect(o.metadata.generation).toBe(2);
    expect(o.status).toBeUndefined();
    await custom().replaceNamespacedCustomObjectStatus({
      ...jq,
      name: "g",
      body: { ...o, spec: { replicas: 7 }, status: { phase: "Running" } },
    });
    o = await getJq("g");
    expect([o.spec.replicas, o.status?.phase, o.metadata.generation]).toEqual([5, "Running", 2]);
  });

  it("answers 409 to an update with a stale resourceVersion", async () => {
    const o = await getJq("g");
    await custom().replaceNamespacedCustomObject({ ...jq, name: "g", body: { ...o, spec: { replicas: 1 } } });
    const err = await custom()
      .replaceNamespacedCustomObject({ ...jq, name: "g", body: { ...o, spec: { replicas: 3 } } })
      .catch((e: unknown) => e);
    expect(httpCode(err)).toBe(409);
    const dup = await custom()
      .createNamespacedCustomObject({
        ...jq,
        body: { apiVersion: "raftq.io/v1alpha1", kind: "JobQueue", metadata: { name: "g" }, spec: {} },
      })
      .catch((e: unknown) => e);
    expect(httpCode(dup)).toBe(409);
  });

  it("server-side apply creates, then replaces what it names", async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const svc = (spec: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ssa", namespace: "default" },
      spec,
    });
    await objects.patch(
      svc({ type: "ClusterIP", externalName: "x" }),
      undefined,
      undefined,
      "t",
      true,
      PatchStrategy.ServerSideApply,
    );
    await objects.patch(
      svc({ type: "NodePort" }),
      undefined,
      undefined,
      "t",
      true,
      PatchStrategy.ServerSideApply,
    );
    const got = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ namespace: "default", name: "ssa" });
    expect(got.spec).toEqual({ type: "NodePort" });
  });

  it("watches resume from a resourceVersion, and say 410 when it is too old", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedService({ namespace: "default" });
    const rv = list.metadata!.resourceVersion!;
    await core.createNamespacedService({ namespace: "default", body: { metadata: { name: "w1" } } });
    const seen: string[] = [];
    const watch = new Watch(kc);
    const done = new Promise<unknown>((res) => {
      void watch.watch(
        "/api/v1/namespaces/default/services",
        { resourceVersion: rv },
        (type, obj) => {
          seen.push(`${type} ${obj.metadata.name}`);
        },
        res,
      );
    });
    await core.createNamespacedService({ namespace: "default", body: { metadata: { name: "w2" } } });
    await core.deleteNamespacedService({ namespace: "default", name: "w1" });
    for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(["ADDED w1", "ADDED w2", "DELETED w1"]);
    // Push the first event out of the (50-event) log.
    for (let i = 0; i < 60; i++)
      await core.createNamespacedService({ namespace: "default", body: { metadata: { name: `f${i}` } } });
    const gone = await new Promise<unknown>((res) => {
      void watch.watch("/api/v1/namespaces/default/services", { resourceVersion: rv }, () => undefined, res);
    });
    expect(httpCode(gone)).toBe(410);
    void done;
  });

  it("deletes pods gracefully and garbage-collects dependents", async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const sts = await apps.createNamespacedStatefulSet({
      namespace: "default",
      body: { metadata: { name: "gc" }, spec: { selector: {}, serviceName: "x", template: {} } },
    });
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: {
          name: "gc-0",
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "StatefulSet", name: "gc", uid: sts.metadata!.uid! },
          ],
        },
        spec: { containers: [] },
      },
    });
    await core.deleteNamespacedPod({ namespace: "default", name: "gc-0" });
    const terminating = await core.readNamespacedPod({ namespace: "default", name: "gc-0" });
    expect(terminating.metadata?.deletionTimestamp).toBeDefined();
    await core.deleteNamespacedPod({ namespace: "default", name: "gc-0", gracePeriodSeconds: 0 });
    expect(
      httpCode(await core.readNamespacedPod({ namespace: "default", name: "gc-0" }).catch((e: unknown) => e)),
    ).toBe(404);
    const svc = await core.createNamespacedService({
      namespace: "default",
      body: {
        metadata: {
          name: "owned",
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "StatefulSet", name: "gc", uid: sts.metadata!.uid! },
          ],
        },
      },
    });
    expect(svc.metadata?.uid).toBeDefined();
    await apps.deleteNamespacedStatefulSet({ namespace: "default", name: "gc" });
    expect(
      httpCode(
        await core.readNamespacedService({ namespace: "default", name: "owned" }).catch((e: unknown) => e),
      ),
    ).toBe(404);
  });
});

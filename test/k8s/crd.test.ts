/**
 * The JobQueue CRD: its openAPIV3Schema, compiled with ajv the way the API
 * server applies it, accepts the example and defaults like the operator does,
 * and rejects what cannot run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOBQUEUE_DEFAULTS } from "../../operator/src/jobqueue-types.js";
import { repoRoot } from "../../scripts/helm-tool.js";
import {
  chartAppVersion,
  chartDefaults,
  compileCrdSchema,
  crdOpenApiSchema,
  isPlainObject,
  renderedCrd,
} from "./chart-helpers.js";
import { parseManifests } from "./kube-validate.js";

const crd = renderedCrd();
const schema = crdOpenApiSchema(crd);
const validator = compileCrdSchema(schema);

const example = parseManifests(readFileSync(join(repoRoot, "deploy", "examples", "jobqueue.yaml"), "utf8"));

function jq(spec: Record<string, unknown>, name = "jobs"): Record<string, unknown> {
  return {
    apiVersion: "raftq.io/v1alpha1",
    kind: "JobQueue",
    metadata: { name, namespace: "default" },
    spec,
  };
}

/** Validates a copy (ajv applies defaults in place) and returns [errors, defaulted object]. */
function check(obj: unknown): [string[], Record<string, unknown>] {
  const copy = structuredClone(obj) as Record<string, unknown>;
  return [validator.validate(copy), copy];
}

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; [k: string]: unknown };

describe("the JobQueue CRD", () => {
  const version = (crd.spec as { versions: Record<string, unknown>[] }).versions[0]!;

  it("is raftq.io/v1alpha1 JobQueue with a status subresource and the printer columns", () => {
    expect((crd.spec as { group: string }).group).toBe("raftq.io");
    expect((crd.spec as { names: { kind: string } }).names.kind).toBe("JobQueue");
    expect(version.subresources).toEqual({ status: {} });
    const cols = (version.additionalPrinterColumns as { name: string; jsonPath: string }[]).map(
      (c) => c.name,
    );
    expect(cols).toEqual(expect.arrayContaining(["Replicas", "Ready", "Leader", "Phase", "Age"]));
  });

  it("is a structural schema: every node has a type (or is int-or-string)", () => {
    const missing: string[] = [];
    const walk = (s: Schema, path: string) => {
      if (s.type === undefined && s["x-kubernetes-int-or-string"] !== true) missing.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (isPlainObject(s.additionalProperties)) walk(s.additionalProperties as Schema, `${path}.*`);
    };
    walk(schema as Schema, "");
    expect(missing).toEqual([]);
  });

  it("declares every spec field of the issue", () => {
    const spec = (schema as Schema).properties!.spec!.properties!;
    for (const f of [
      "replicas",
      "image",
      "resources",
      "storage",
      "raft",
      "snapshotThreshold",
      "livenessWindowMs",
      "monitoring",
    ]) {
      expect(spec, f).toHaveProperty(f);
    }
    expect(Object.keys(spec.storage!.properties!)).toEqual(
      expect.arrayContaining(["size", "storageClassName"]),
    );
  });

  it("accepts deploy/examples/jobqueue.yaml", () => {
    expect(example).toHaveLength(1);
    expect(check(example[0])[0]).toEqual([]);
  });

  it("accepts a minimal JobQueue and fills in the operator's defaults", () => {
    const [errors, obj] = check(jq({}));
    expect(errors).toEqual([]);
    const spec = obj.spec as Record<string, unknown>;
    expect(spec.replicas).toBe(3);
    const d = JOBQUEUE_DEFAULTS;
    expect(spec.image).toEqual(d.image);
    expect(spec.raft).toEqual(d.raft);
    expect(spec.storage).toEqual({ size: d.storage.size, retentionPolicy: d.storage.retentionPolicy });
    expect(spec.snapshotThreshold).toBe(d.snapshotThreshold);
    expect(spec.livenessWindowMs).toBe(d.livenessWindowMs);
    expect(spec.logLevel).toBe(d.logLevel);
    expect(spec.scheduling).toEqual(d.scheduling);
    expect(spec.service).toEqual(d.service);
    expect(spec.terminationGracePeriodSeconds).toBe(d.terminationGracePeriodSeconds);
    expect(spec.monitoring).toEqual(d.monitoring);
  });

  it("the example shows the defaults (apart from what it marks otherwise)", () => {
    const [, defaulted] = check(jq({}));
    const exampleSpec = structuredClone((example[0] as unknown as { spec: Record<string, unknown> }).spec);
    expect(exampleSpec).toEqual(defaulted.spec);
  });

  it("the chart's cluster values start from the same defaults", () => {
    const v = chartDefaults() as { cluster: Record<string, unknown>; image: Record<string, unknown> };
    const c = v.cluster;
    const d = JOBQUEUE_DEFAULTS;
    expect(c.replicas).toBe(3);
    expect({ ...v.image, tag: v.image.tag || chartAppVersion() }).toEqual(d.image);
    expect(c.resources).toEqual(d.resources);
    expect(c.raft).toEqual(d.raft);
    expect(c.storage).toEqual({ ...d.storage, storageClassName: "" });
    expect(c.snapshotThreshold).toBe(d.snapshotThreshold);
    expect(c.livenessWindowMs).toBe(d.livenessWindowMs);
    expect(c.logLevel).toBe(d.logLevel);
    expect(c.scheduling).toEqual({
      ...d.scheduling,
      nodeSelector: {},
      tolerations: [],
      priorityClassName: "",
    });
    expect(c.service).toEqual({ ...d.service, annotations: {} });
    expect(c.terminationGracePeriodSeconds).toBe(d.terminationGracePeriodSeconds);
  });

  it("accepts even replica counts (the operator flags them) and 1..7", () => {
    for (const replicas of [1, 2, 3, 4, 5, 6, 7])
      expect(check(jq({ replicas }))[0], String(replicas)).toEqual([]);
  });

  it.each([
    ["zero replicas", { replicas: 0 }, "/spec/replicas"],
    ["eight replicas", { replicas: 8 }, "/spec/replicas"],
    ["negative replicas", { replicas: -1 }, "/spec/replicas"],
    ["fractional replicas", { replicas: 2.5 }, "/spec/replicas"],
    ["replicas as a string", { replicas: "3" }, "/spec/replicas"],
    ["negative storage size", { storage: { size: "-10Gi" } }, "/spec/storage/size"],
    ["storage size without a number", { storage: { size: "Gi" } }, "/spec/storage/size"],
    ["negative cpu request", { resources: { requests: { cpu: -1 } } }, "/spec/resources/requests/cpu"],
    ["negative memory limit", { resources: { limits: { memory: "-1Gi" } } }, "/spec/resources/limits/memory"],
    ["unknown spec field", { replica: 3 }, "must NOT have additional properties"],
    ["unknown nested field", { raft: { electionTimeoutMs: 200 } }, "/spec/raft"],
    ["unknown resources field", { resources: { request: { cpu: "1" } } }, "/spec/resources"],
    [
      "min timeout above max",
      { raft: { electionTimeoutMinMs: 400, electionTimeoutMaxMs: 300 } },
      "electionTimeoutMinMs",
    ],
    ["heartbeat above the election timeout", { raft: { heartbeatIntervalMs: 200 } }, "heartbeatIntervalMs"],
    ["zero snapshot threshold", { snapshotThreshold: 0 }, "/spec/snapshotThreshold"],
    ["bad pull policy", { image: { pullPolicy: "Sometimes" } }, "/spec/image/pullPolicy"],
    [
      "grace period shorter than the step-down",
      { terminationGracePeriodSeconds: 10 },
      "terminationGracePeriodSeconds",
    ],
    ["bad anti-affinity mode", { scheduling: { antiAffinity: "strict" } }, "/spec/scheduling/antiAffinity"],
    ["bad scrape interval", { monitoring: { interval: "often" } }, "/spec/monitoring/interval"],
    ["bad retention policy", { storage: { retentionPolicy: { whenScaled: "Keep" } } }, "retentionPolicy"],
  ])("rejects %s", (_name, spec, where) => {
    const errors = check(jq(spec))[0];
    expect(errors.join("\n")).toContain(where);
  });

  it("rejects unknown top-level fields and names that cannot name a StatefulSet", () => {
    expect(check({ ...jq({}), extra: 1 })[0]).not.toEqual([]);
    expect(check(jq({}, "Jobs"))[0].join()).toContain("/metadata/name");
    expect(check(jq({}, "j".repeat(53)))[0].join()).toContain("/metadata/name");
  });

  it("accepts a status as the operator writes it", () => {
    const obj = {
      ...jq({ replicas: 3 }),
      status: {
        observedGeneration: 2,
        phase: "Running",
        replicas: 3,
        readyReplicas: 3,
        bootstrapReplicas: 3,
        leader: "jobs-1",
        term: 7,
        commitIndex: 1234,
        members: [
          { id: "jobs-0", address: "jobs-0.jobs-peers.default.svc:7700", role: "follower", alive: true },
        ],
        conditions: [
          {
            type: "Available",
            status: "True",
            reason: "QuorumHealthy",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
        ],
      },
    };
    expect(check(obj)[0]).toEqual([]);
    expect(check({ ...obj, status: { ...obj.status, phase: "Happy" } })[0].join()).toContain("/status/phase");
  });
});

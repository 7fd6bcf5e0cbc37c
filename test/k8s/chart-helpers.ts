/**
 * Shared helpers of the chart tests: render charts/raftq with the real helm
 * binary for a named value set, and compile the JobQueue CRD's schema with ajv
 * the way the API server applies it (defaults, int-or-string, pruning of
 * unknown fields as rejection, the CEL rules we use).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv, type AnySchema, type ValidateFunction } from "ajv";
import { parse, stringify } from "yaml";
import { helm, repoRoot, runHelm, type RunResult } from "../../scripts/helm-tool.js";
import { parseManifests, type KubeObj } from "./kube-validate.js";

export const chartDir = join(repoRoot, "charts", "raftq");

export type Values = Record<string, unknown>;

export interface ValueSet {
  name: string;
  values: Values;
  /** APIs that exist in the pretend cluster (helm --api-versions). */
  apiVersions?: string[];
  namespace?: string;
}

const PROM_APIS = ["monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor"];

/** The value sets of the issue (defaults; without the operator; 5 replicas; monitoring on) and a few more. */
export const VALUE_SETS: ValueSet[] = [
  { name: "defaults", values: {} },
  { name: "no-operator", values: { operator: { enabled: false }, cluster: { enabled: true } } },
  { name: "five-replicas", values: { cluster: { enabled: true, replicas: 5 } } },
  {
    name: "monitoring-prometheus-operator",
    values: {
      monitoring: { enabled: true, serviceMonitor: { labels: { release: "kps" } } },
      cluster: { enabled: true },
    },
    apiVersions: PROM_APIS,
  },
  { name: "monitoring-annotations", values: { monitoring: { enabled: true }, cluster: { enabled: true } } },
  {
    name: "tuned",
    namespace: "queues",
    values: {
      operator: { watchNamespace: "queues", leaderElect: false },
      cluster: {
        enabled: true,
        name: "jobs",
        replicas: 7,
        bootstrapReplicas: 3,
        updateStrategy: "OnDelete",
        storage: { size: "50Gi", storageClassName: "fast-ssd" },
        resources: { requests: { cpu: 1, memory: "2Gi" }, limits: { memory: "2Gi" } },
        raft: { electionTimeoutMinMs: 500, electionTimeoutMaxMs: 1000, heartbeatIntervalMs: 100 },
        snapshotThreshold: 5000,
        scheduling: {
          antiAffinity: "preferred",
          zoneSpread: { enabled: false },
          tolerations: [{ key: "dedicated", operator: "Equal", value: "queues", effect: "NoSchedule" }],
          nodeSelector: { "node-pool": "queues" },
        },
        service: { type: "LoadBalancer", annotations: { "example.com/internal": "true" } },
        podAnnotations: { "example.com/team": "payments" },
      },
    },
  },
];

function withValuesFile<T>(values: Values, fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "raftq-values-"));
  try {
    const file = join(dir, "values.yaml");
    writeFileSync(file, stringify(values));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function helmArgs(vs: ValueSet, file: string): string[] {
  return ["-f", file, ...(vs.apiVersions ?? []).flatMap((a) => ["--api-versions", a])];
}

/** `helm template` of the chart with a value set; returns the parsed objects. */
export function renderChart(vs: ValueSet, release = "raftq"): KubeObj[] {
  return withValuesFile(vs.values, (file) =>
    parseManifests(
      helm(["template", release, chartDir, "--namespace", vs.namespace ?? "default", ...helmArgs(vs, file)]),
    ),
  );
}

/** `helm template` that may fail (schema rejections); never throws. */
export function tryRenderChart(values: Values): RunResult {
  return withValuesFile(values, (file) => runHelm(["template", "raftq", chartDir, "-f", file]));
}

export function lintChart(vs: ValueSet): RunResult {
  // helm lint has no --api-versions: it lints the Capabilities-free branch of each template.
  return withValuesFile(vs.values, (file) => runHelm(["lint", "--strict", chartDir, "-f", file]));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Helm's merge of user values over the chart defaults (maps merge, everything else replaces). */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeValues(b, v) : v;
  }
  return out;
}

export function chartDefaults(): Values {
  return parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Values;
}

export function chartAppVersion(): string {
  return String(
    (parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as { appVersion: string }).appVersion,
  );
}

export function find(objs: KubeObj[], kind: string, name?: string): KubeObj {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ""} among ${objs.map((x) => x.kind).join(", ")}`);
  return o;
}

// ---------------------------------------------------------------- CRD schema

type Schema = Record<string, unknown>;

/**
 * Rewrites a CRD openAPIV3Schema for ajv. The API server prunes fields its
 * schema does not declare and, under strict field validation, rejects them:
 * objects with `properties` but no `additionalProperties` (and no
 * x-kubernetes-preserve-unknown-fields) become closed. Root metadata is
 * ObjectMeta, validated by the server itself, so it stays open.
 */
export function crdSchemaForAjv(schema: Schema, isRoot = true): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "properties" && isPlainObject(v)) {
      out[k] = Object.fromEntries(
        Object.entries(v).map(([p, s]) => [
          p,
          isRoot && p === "metadata" ? { ...(s as Schema) } : crdSchemaForAjv(s as Schema, false),
        ]),
      );
    } else if ((k === "items" || k === "additionalProperties" || k === "not") && isPlainObject(v)) {
      out[k] = crdSchemaForAjv(v, false);
    } else if ((k === "allOf" || k === "anyOf" || k === "oneOf") && Array.isArray(v)) {
      out[k] = v.map((s: Schema) => crdSchemaForAjv(s, false));
    } else {
      out[k] = v;
    }
  }
  if (
    out.type === "object" &&
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true &&
    !isRoot
  ) {
    out.additionalProperties = false;
  }
  if (isRoot) {
    // Only apiVersion, kind, metadata, spec and status may appear at the top level.
    out.additionalProperties = false;
  }
  return out;
}

/**
 * x-kubernetes-validations rules are CEL. The rules in our CRD are plain
 * comparisons of `self.field`, whose CEL and JavaScript meanings agree; any
 * other rule fails the test so that this evaluator is extended on purpose.
 */
const SIMPLE_CEL = /^[\sA-Za-z0-9_.<>=!&|()+\-*/]+$/;

function celRule(rule: string): (self: unknown) => boolean {
  if (!SIMPLE_CEL.test(rule) || /\b(has|size|matches|all|exists|quantity)\s*\(/.test(rule)) {
    throw new Error(`CEL rule outside the evaluated subset: ${rule}`);
  }
  return new Function("self", `"use strict"; return (${rule});`) as (self: unknown) => boolean;
}

export interface CrdValidator {
  /** Validates (and defaults, like the API server) a whole JobQueue object; returns error messages. */
  validate(obj: unknown): string[];
}

export function compileCrdSchema(openAPIV3Schema: Schema): CrdValidator {
  // The API server defaults first and validates after, while ajv runs a keyword such as
  // x-kubernetes-validations before `properties` has filled in defaults: so default in one pass
  // (rules off) and validate in a second.
  const defaulter = buildAjv(false).compile(crdSchemaForAjv(openAPIV3Schema) as AnySchema);
  const fn: ValidateFunction = buildAjv(true).compile(crdSchemaForAjv(openAPIV3Schema) as AnySchema);
  return {
    validate(obj: unknown): string[] {
      defaulter(obj);
      if (fn(obj)) return [];
      return (fn.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`);
    },
  };
}

function buildAjv(evaluateRules: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  for (const kw of [
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-map-type",
  ]) {
    ajv.addKeyword({ keyword: kw });
  }
  ajv.addKeyword({
    keyword: "x-kubernetes-validations",
    errors: true,
    compile(rules: { rule: string; message?: string }[]) {
      const compiled = rules.map((r) => ({ ...r, fn: celRule(r.rule) }));
      const check = (data: unknown): boolean => {
        if (!evaluateRules) return true;
        const failed = compiled.filter((r) => !r.fn(data));
        (check as unknown as { errors: unknown[] }).errors = failed.map((r) => ({
          keyword: "x-kubernetes-validations",
          message: r.message ?? `failed rule: ${r.rule}`,
          params: { rule: r.rule },
        }));
        return failed.length === 0;
      };
      return check;
    },
  });
  return ajv;
}

/** The JobQueue CRD as the chart renders it by default. */
export function renderedCrd(): KubeObj {
  return find(renderChart(VALUE_SETS[0]!), "CustomResourceDefinition", "jobqueues.raftq.io");
}

export function crdOpenApiSchema(crd: KubeObj): Schema {
  const versions = (crd.spec as { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] })
    .versions;
  const v = versions.find((x) => x.name === "v1alpha1");
  if (!v) throw new Error("CRD has no v1alpha1");
  return v.schema.openAPIV3Schema;
}

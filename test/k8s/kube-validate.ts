/**
 * Offline validation of Kubernetes objects against the OpenAPI schema of their
 * apiVersion and kind (kubernetes-models' precompiled ajv validators), plus
 * detection of unknown fields, which those validators let through.
 *
 * Unknown fields: the validator is run on a Proxy of the object that records
 * which property names the validator looks up. A generated validator reads
 * every property its schema declares (`data.foo === undefined || ...`) and
 * enumerates the keys of map-like objects (labels, resource lists), so a key
 * of a fixed-shape object that it never looked up is unknown to the schema:
 * the API server would reject it under strict field validation (kubectl's
 * default) or silently drop it.
 */
import { parseAllDocuments } from "yaml";

export interface KubeObj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Parses `helm template` output (or any multi-document YAML) into objects, skipping empty documents. */
export function parseManifests(text: string): KubeObj[] {
  const out: KubeObj[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as KubeObj | null;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

interface Access {
  path: string;
  target: object;
  read: Set<string>;
  enumerated: boolean;
}

function track(root: unknown): { proxy: unknown; records: Access[] } {
  const records: Access[] = [];
  const proxies = new WeakMap<object, unknown>();
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== "object") return value;
    const cached = proxies.get(value);
    if (cached !== undefined) return cached;
    const rec: Access = { path, target: value, read: new Set(), enumerated: false };
    records.push(rec);
    const proxy = new Proxy(value, {
      get(t, key, receiver) {
        const v: unknown = Reflect.get(t, key, receiver);
        if (typeof key !== "string") return v;
        rec.read.add(key);
        return Object.prototype.hasOwnProperty.call(t, key) ? wrap(v, `${path}/${key}`) : v;
      },
      has(t, key) {
        if (typeof key === "string") rec.read.add(key);
        return Reflect.has(t, key);
      },
      ownKeys(t) {
        rec.enumerated = true;
        return Reflect.ownKeys(t);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root, ""), records };
}

/**
 * kubernetes-models strips every `description` and `x-kubernetes-*` key from
 * the OpenAPI documents it compiles, which also removes those *properties*
 * from JSONSchemaProps and CustomResourceColumnDefinition: its validators never
 * look them up, so they cannot be judged here.
 */
const GENERATOR_DROPPED = /^(description|x-kubernetes-.*)$/;

type ValidateMethod = (this: unknown) => void;

const validators = new Map<string, ValidateMethod | null>();

/** The kubernetes-models validate method for apiVersion/kind, or null when the package has no such model. */
export async function modelValidator(apiVersion: string, kind: string): Promise<ValidateMethod | null> {
  const key = `${apiVersion}/${kind}`;
  if (!validators.has(key)) {
    try {
      const specifier = `kubernetes-models/${apiVersion}/${kind}`;
      const mod = (await import(/* @vite-ignore */ specifier)) as Record<
        string,
        { prototype: { validate: ValidateMethod } }
      >;
      validators.set(key, mod[kind]?.prototype.validate ?? null);
    } catch {
      validators.set(key, null);
    }
  }
  return validators.get(key) ?? null;
}

export interface ValidationResult {
  /** Schema errors (types, enums, required fields, formats). */
  errors: string[];
  /** JSON pointers of fields the schema does not know. */
  unknownFields: string[];
}

/** Validates one object against the built-in Kubernetes schema of its apiVersion/kind. */
export async function validateBuiltin(obj: KubeObj): Promise<ValidationResult> {
  const validate = await modelValidator(obj.apiVersion, obj.kind);
  if (validate === null) throw new Error(`no Kubernetes schema for ${obj.apiVersion} ${obj.kind}`);
  const { proxy, records } = track(obj);
  const errors: string[] = [];
  try {
    validate.call(proxy);
  } catch (err) {
    errors.push((err as Error).message);
  }
  const unknownFields: string[] = [];
  for (const rec of records) {
    // Arrays are checked element by element; objects the validator never looked into are free-form.
    if (Array.isArray(rec.target) || rec.enumerated || rec.read.size === 0) continue;
    for (const key of Object.keys(rec.target)) {
      if (!rec.read.has(key) && !GENERATOR_DROPPED.test(key)) unknownFields.push(`${rec.path}/${key}`);
    }
  }
  return { errors, unknownFields };
}

/** Short human name of an object for test messages. */
export function objName(o: KubeObj): string {
  return `${o.kind}/${o.metadata.name}`;
}

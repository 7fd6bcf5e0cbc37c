/**
 * Patch formats the stand-in API server accepts: JSON merge patch (RFC 7386),
 * JSON patch (RFC 6902, the common ops) and, approximated by a merge patch,
 * strategic merge patch. Server-side apply is handled by the store (full upsert).
 */
type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescape(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

export class PatchError extends Error {}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError("a JSON patch is an array of operations");
  let doc = structuredClone(target);
  for (const op of ops as { op: string; path: string; value?: Json; from?: string }[]) {
    const parts = op.path.split("/").slice(1).map(unescape);
    if (parts.length === 0) {
      if (op.op === "replace" || op.op === "add") doc = structuredClone(op.value);
      continue;
    }
    let parent: Json = doc;
    for (const p of parts.slice(0, -1)) {
      const next: Json = Array.isArray(parent) ? parent[Number(p)] : isObject(parent) ? parent[p] : undefined;
      if (next === undefined) throw new PatchError(`path ${op.path} does not exist`);
      parent = next;
    }
    const last = parts[parts.length - 1]!;
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (op.op === "add") parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === "replace") parent[i] = structuredClone(op.value);
      else if (op.op === "remove") parent.splice(i, 1);
      else if (op.op === "test" && JSON.stringify(parent[i]) !== JSON.stringify(op.value))
        throw new PatchError(`test failed at ${op.path}`);
    } else if (isObject(parent)) {
      if (op.op === "add" || op.op === "replace") parent[last] = structuredClone(op.value);
      else if (op.op === "remove") delete parent[last];
      else if (op.op === "test" && JSON.stringify(parent[last]) !== JSON.stringify(op.value))
        throw new PatchError(`test failed at ${op.path}`);
    } else throw new PatchError(`path ${op.path} does not exist`);
  }
  return doc;
}

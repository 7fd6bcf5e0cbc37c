/**
 * A small, honest stand-in for the Kubernetes API server, over plain HTTP on
 * loopback, good enough for @kubernetes/client-node (informers, server-side
 * apply, status) and the real kubectl (apply, get, patch, annotate, delete):
 * discovery, CRUD, list + watch with resourceVersion, 409 on conflicts, the
 * status subresource, generation, owner-reference GC. What it does NOT do is
 * listed in docs/operator.md (no auth, no admission or schema validation, no
 * field managers: server-side apply is a full-object upsert).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseYaml } from "yaml";
import { jsonPatch, mergePatch, PatchError } from "./patch.js";
import { fieldSelectorMatches, labelSelectorMatches } from "./selectors.js";
import { ApiError, apiVersionOf, resourceKey, Store, type KObj, type ResourceDef } from "./store.js";

interface Route {
  r: ResourceDef;
  ns: string | undefined;
  name: string | undefined;
  sub: string | undefined;
}

function statusBody(code: number, reason: string, message: string): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 8 * 1024 * 1024) throw new ApiError(413, "RequestEntityTooLarge", "body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface StandInServer {
  url: string;
  store: Store;
  /** Requests served, by "METHOD path-without-query" (for tests that check what a client did). */
  requests: string[];
  close(): Promise<void>;
}

export async function startStandInApiServer(store = new Store()): Promise<StandInServer> {
  const watches = new Set<ServerResponse>();
  const requests: string[] = [];

  function discovery(path: string): unknown | undefined {
    const all = [...store.resources.values()];
    if (path === "/version") {
      return { major: "1", minor: "33", gitVersion: "v1.33.0-raftq-stand-in", platform: "linux/amd64" };
    }
    if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
    if (path === "/apis") {
      const groups = new Map<string, Set<string>>();
      for (const r of all)
        if (r.group !== "") groups.set(r.group, (groups.get(r.group) ?? new Set()).add(r.version));
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [...groups].map(([name, vs]) => {
          const versions = [...vs].map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
          return { name, versions, preferredVersion: versions[0] };
        }),
      };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (m === null) return undefined;
    const group = m[1] ? "" : m[2]!;
    const version = m[1] ?? m[3]!;
    const rs = all.filter((r) => r.group === group && r.version === version);
    if (rs.length === 0) return undefined;
    const verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: group === "" ? version : `${group}/${version}`,
      resources: rs.flatMap((r) => [
        {
          name: r.plural,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs,
          shortNames: r.shortNames ?? [],
        },
        ...(r.status
          ? [
              {
                name: `${r.plural}/status`,
                singularName: "",
                namespaced: r.namespaced,
                kind: r.kind,
                verbs: ["get", "patch", "update"],
              },
            ]
          : []),
      ]),
    };
  }

  function route(path: string): Route | undefined {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(path);
    if (m === null) return undefined;
    const group = m[1] ? "" : m[2]!;
    const parts = m[4]!.split("/").filter((p) => p !== "");
    let ns: string | undefined;
    if (parts[0] === "namespaces" && parts.length >= 3) {
      ns = decodeURIComponent(parts[1]!);
      parts.splice(0, 2);
    }
    const [plural, name, sub] = parts;
    if (plural === undefined) return undefined;
    const r = store.resource(group, plural);
    if (r.version !== (m[1] ?? m[3])) throw new ApiError(404, "NotFound", `version not served for ${plural}`);
    return { r, ns, name: name === undefined ? undefined : decodeURIComponent(name), sub };
  }

  function watch(req: IncomingMessage, res: ServerResponse, rt: Route, q: URLSearchParams): void {
    const key = resourceKey(rt.r.group, rt.r.plural);
    const labelSel = q.get("labelSelector");
    const fieldSel = q.get("fieldSelector");
    const fromRv = q.get("resourceVersion");
    const matches = (o: KObj) =>
      (rt.ns === undefined || !rt.r.namespaced || o.metadata.namespace === rt.ns) &&
      (rt.name === undefined || o.metadata.name === rt.name) &&
      labelSelectorMatches(labelSel, o.metadata.labels) &&
      fieldSelectorMatches(fieldSel, o);
    let backlog: { type: string; object: KObj }[];
    if (!fromRv || fromRv === "0") {
      // No resourceVersion: synthetic ADDED for everything that exists now, then changes.
      backlog = store
        .list(rt.r, rt.ns)
        .filter(matches)
        .map((object) => ({ type: "ADDED", object }));
    } else {
      backlog = store.eventsSince(key, Number(fromRv)).filter((e) => matches(e.object));
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    // Clients wait for the response headers before they consider the watch started.
    res.flushHeaders();
    watches.add(res);
    const write = (type: string, object: KObj) => res.write(JSON.stringify({ type, object }) + "\n");
    for (const e of backlog) write(e.type, e.object);
    const unsubscribe = store.subscribe((e) => {
      if (e.resource === key && matches(e.object)) write(e.type, e.object);
    });
    const seconds = Number(q.get("timeoutSeconds") ?? "0");
    const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
    const done = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      watches.delete(res);
    };
    res.on("close", done);
    req.on("close", done);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const path = url.pathname.replace(/\/$/, "") || "/";
    const q = url.searchParams;
    const method = req.method ?? "GET";
    requests.push(`${method} ${path}`);
    if (requests.length > 50_000) requests.splice(0, 10_000);
    if (method === "GET") {
      const d = discovery(path);
      if (d !== undefined) return send(res, 200, d);
    }
    const rt = route(path);
    if (rt === undefined)
      return send(
        res,
        404,
        statusBody(404, "NotFound", `the server could not find the requested resource ${path}`),
      );
    const { r, ns, name, sub } = rt;
    if (sub !== undefined && (sub !== "status" || !r.status)) {
      throw new ApiError(404, "NotFound", `subresource ${sub} of ${r.plural} is not served`);
    }
    const dryRun = q.get("dryRun") === "All";
    switch (method) {
      case "GET": {
        if (q.get("watch") === "true" || q.get("watch") === "1") return watch(req, res, rt, q);
        if (name !== undefined) return send(res, 200, store.get(r, ns, name));
        const items = store.list(r, ns, q.get("labelSelector"), q.get("fieldSelector"));
        return send(res, 200, {
          kind: `${r.kind}List`,
          apiVersion: apiVersionOf(r),
          metadata: { resourceVersion: store.currentRv() },
          items,
        });
      }
      case "POST": {
        const body = parseYaml(await readBody(req)) as KObj;
        if (dryRun) return send(res, 201, body);
        return send(res, 201, store.create(r, ns, body));
      }
      case "PUT": {
        if (name === undefined) throw new ApiError(405, "MethodNotAllowed", "PUT needs a name");
        const body = parseYaml(await readBody(req)) as KObj;
        if (dryRun) return send(res, 200, body);
        return send(res, 200, store.update(r, ns, name, body, sub === "status" ? "status" : undefined));
      }
      case "PATCH": {
        if (name === undefined) throw new ApiError(405, "MethodNotAllowed", "PATCH needs a name");
        const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
        const raw = await readBody(req);
        const patch: unknown = type === "application/apply-patch+yaml" ? parseYaml(raw) : JSON.parse(raw);
        const current = store.tryGet(r, ns, name);
        if (type === "application/apply-patch+yaml") {
          // Server-side apply, simplified: the applied object replaces the fields it names at the top
          // level (spec, data, metadata labels/annotations/ownerReferences); no field ownership.
          const applied = patch as KObj;
          if (current === undefined) {
            if (dryRun) return send(res, 201, applied);
            return send(
              res,
              201,
              store.create(r, ns, { ...applied, metadata: { ...applied.metadata, name } }),
            );
          }
          const next: KObj =
            sub === "status"
              ? { ...current, status: applied.status }
              : { ...current, ...applied, status: current.status };
          next.metadata = {
            ...current.metadata,
            ...applied.metadata,
            resourceVersion: applied.metadata?.resourceVersion ?? current.metadata.resourceVersion,
          };
          if (dryRun) return send(res, 200, next);
          return send(res, 200, store.update(r, ns, name, next, sub === "status" ? "status" : undefined));
        }
        if (current === undefined) throw new ApiError(404, "NotFound", `${r.plural} "${name}" not found`);
        let next: KObj;
        try {
          next =
            type === "application/json-patch+json"
              ? (jsonPatch(current, patch) as KObj)
              : (mergePatch(current, patch) as KObj); // merge-patch, and strategic merge approximated by it
        } catch (e) {
          if (e instanceof PatchError) throw new ApiError(422, "Invalid", e.message);
          throw e;
        }
        // A resourceVersion inside the patch is a precondition; otherwise the patch applies to the latest.
        const sentRv = (patch as KObj | null)?.metadata?.resourceVersion;
        next.metadata = { ...next.metadata, resourceVersion: sentRv ?? current.metadata.resourceVersion };
        if (dryRun) return send(res, 200, next);
        return send(res, 200, store.update(r, ns, name, next, sub === "status" ? "status" : undefined));
      }
      case "DELETE": {
        if (name === undefined)
          throw new ApiError(405, "MethodNotAllowed", "deletecollection is not supported");
        const raw = await readBody(req);
        const opts = (raw.trim() ? JSON.parse(raw) : {}) as { gracePeriodSeconds?: number };
        const grace = q.has("gracePeriodSeconds")
          ? Number(q.get("gracePeriodSeconds"))
          : opts.gracePeriodSeconds;
        if (dryRun) return send(res, 200, store.get(r, ns, name));
        return send(res, 200, store.delete(r, ns, name, grace));
      }
      default:
        throw new ApiError(405, "MethodNotAllowed", `${method} is not supported`);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.end();
      if (e instanceof ApiError) return send(res, e.code, statusBody(e.code, e.reason, e.message));
      send(res, 500, statusBody(500, "InternalError", e instanceof Error ? e.message : String(e)));
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    requests,
    close: async () => {
      for (const w of watches) w.end();
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

/** A kubeconfig for the stand-in: plain http needs insecure-skip-tls-verify for client-node. */
export function kubeconfigYaml(url: string, namespace = "default"): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: stand-in",
    "  cluster:",
    `    server: ${url}`,
    "    insecure-skip-tls-verify: true",
    "users:",
    "- name: stand-in",
    "  user:",
    "    token: stand-in",
    "contexts:",
    "- name: stand-in",
    "  context:",
    "    cluster: stand-in",
    "    user: stand-in",
    `    namespace: ${namespace}`,
    "current-context: stand-in",
    "",
  ].join("\n");
}

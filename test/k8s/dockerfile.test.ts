/**
 * Static checks of the Dockerfile and .dockerignore: what the issue asks of
 * the image that can be read without building it (test/k8s/image.test.ts runs
 * the build steps themselves).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  NODE_DATA_DIR,
  NODE_GRPC_PORT,
  NODE_HTTP_PORT,
  NODE_UID,
} from "../../operator/src/jobqueue-types.js";
import { repoRoot } from "../../scripts/helm-tool.js";

interface Instruction {
  op: string;
  args: string;
}

/** Parses a Dockerfile into instructions per stage (line continuations joined, comments dropped). */
function parseDockerfile(text: string): {
  args: Map<string, string>;
  stages: { from: string; name?: string; body: Instruction[] }[];
} {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const args = new Map<string, string>();
  const stages: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (op === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest)!;
      const from = f[1]!.replace(/\$\{(\w+)\}/g, (_, v: string) => args.get(v) ?? "");
      stages.push({ from, ...(f[2] ? { name: f[2] } : {}), body: [] });
    } else if (op === "ARG" && stages.length === 0) {
      const [k, v] = rest.split("=");
      args.set(k!, v ?? "");
    } else {
      stages.at(-1)?.body.push({ op, args: rest });
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(repoRoot, "Dockerfile"), "utf8"));
const final = dockerfile.stages.at(-1)!;
const ops = (op: string) => final.body.filter((i) => i.op === op).map((i) => i.args);

describe("Dockerfile", () => {
  it("is multi-stage and ends in a Node 20 slim runtime", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile.stages) expect(s.from).toMatch(/^node:20[-.\w]*slim$/);
  });

  it("runs as the non-root uid the manifests expect, with the data dir as a volume", () => {
    expect(ops("USER").at(-1)).toMatch(new RegExp(`^${NODE_UID}(:${NODE_UID})?$`));
    expect(ops("VOLUME").join(" ")).toContain(NODE_DATA_DIR);
    expect(ops("RUN").join(" ")).toContain(`chown raftq:raftq ${NODE_DATA_DIR}`);
    expect(ops("EXPOSE").join(" ").split(/\s+/)).toEqual(
      expect.arrayContaining([String(NODE_GRPC_PORT), String(NODE_HTTP_PORT)]),
    );
  });

  it("has `raftq` as its entrypoint and `node` as the default command", () => {
    expect(JSON.parse(ops("ENTRYPOINT").at(-1)!)).toEqual(["raftq"]);
    expect(JSON.parse(ops("CMD").at(-1)!)).toEqual(["node"]);
    expect(ops("RUN").join(" ")).toContain("/usr/local/bin/raftq");
  });

  it("copies only production dependencies into the final stage", () => {
    const deps = dockerfile.stages.find((s) =>
      s.body.some((i) => i.op === "RUN" && i.args.includes("--omit=dev")),
    );
    expect(deps?.name).toBeDefined();
    const copies = ops("COPY");
    expect(copies.filter((c) => c.includes("node_modules"))).toEqual([
      `--from=${deps!.name} /app/node_modules ./node_modules`,
    ]);
    expect(copies.some((c) => /^\.\s/.test(c))).toBe(false);
    // The final stage checks the prebuilt RocksDB binary loads where it will run.
    expect(ops("RUN").join(" ")).toContain("require('@nxtedition/rocksdb')");
  });
});

describe(".dockerignore", () => {
  const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  it("keeps host dependencies, build output, tools and VCS data out of the context", () => {
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "dist", ".tools", ".git"]));
  });

  it("does not exclude what the build copies", () => {
    for (const needed of [
      "package.json",
      "package-lock.json",
      ".npmrc",
      "src",
      "operator",
      "proto",
      "tsconfig.build.json",
    ]) {
      expect(ignored, needed).not.toContain(needed);
    }
  });
});

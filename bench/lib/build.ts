/**
 * Benchmarks measure the product as shipped: `raftq node` compiled by tsc
 * (what the image runs), not the tsx development loader. Under tsx, source
 * maps are on, and every gRPC error (a forwarded call to a node just killed)
 * parsed source maps to build its stack: 40-160 ms stalls on the survivors
 * in the failover benchmark, and a second more of startup in restart times.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dirname, "../..");

let built = false;

/** Compile src/ into dist/ (tsconfig.build.json) once per bench process. */
export function buildProduct(): void {
  if (built) return;
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: REPO_ROOT,
      stdio: "inherit",
    },
  );
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal})`);
  built = true;
  console.error(`built dist/ in ${Date.now() - t0} ms (nodes run dist/src/cli/main.js)`);
}

/**
 * The harness itself (this process and the load generators) runs under tsx:
 * turn source maps off so its own error stacks stay cheap while it counts.
 */
export function harnessWithoutSourceMaps(): void {
  process.setSourceMapsEnabled(false);
}

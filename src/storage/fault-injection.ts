/**
 * Test-only switches that make a node's disk misbehave, so multi-process tests, chaos runs and
 * benchmarks can show what a node does then:
 * - fail after n writes (a disk bad from the start: the node fails soon after it starts);
 * - a fault file, read before every write while it exists, that says what the disk does now
 *   (a disk that goes bad or slow in a running node, a leader's mid-term included):
 *   `fail` = the write fails; `delay <ms>` = the write reaches the disk ms later; empty = no
 *   fault (a file still being written; write the content to a temp file and rename it over).
 * Both are off unless set; a failed write is not applied and the store stays failed.
 */
import { existsSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { StorageFatalError } from "./errors.js";

export const FAIL_AFTER_WRITES_ENV = "RAFTQ_FAULT_STORAGE_FAIL_AFTER_WRITES";
export const FAULT_FILE_ENV = "RAFTQ_FAULT_STORAGE_FILE";
/** Bound on an injected delay: a longer one is a typo, not a slow disk. */
export const MAX_INJECTED_DELAY_MS = 60_000;

/** The switches one store obeys. */
export interface DiskFaultPlan {
  /** Writes 1..n succeed; write n+1 and all later ones fail. */
  readonly failAfterWrites?: number | undefined;
  /** While this file exists its content is the disk's behaviour for each write (see above). */
  readonly faultFile?: string | undefined;
}

/** What the next write meets: nothing, a failure, or a slow disk. */
export type DiskFaultNow = null | { readonly fail: StorageFatalError } | { readonly delayMs: number };

/** Reads the env switch; a malformed value is refused loudly rather than ignored. */
export function failAfterWritesFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[FAIL_AFTER_WRITES_ENV];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${FAIL_AFTER_WRITES_ENV} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Both switches from the environment; `given` (a caller's options) wins over it, switch by switch. */
export function diskFaultPlan(
  given: DiskFaultPlan = {},
  env: NodeJS.ProcessEnv = process.env,
): DiskFaultPlan {
  const failAfterWrites = given.failAfterWrites ?? failAfterWritesFromEnv(env);
  assertFailAfterWrites(failAfterWrites);
  const fromEnv = env[FAULT_FILE_ENV];
  const faultFile = given.faultFile ?? (fromEnv === "" ? undefined : fromEnv);
  return { failAfterWrites, faultFile };
}

/**
 * What the next write meets. `writesDone` counts the store's accepted writes. The fault file
 * costs a stat per write, paid only when that switch is set.
 */
export function diskFaultNow(plan: DiskFaultPlan, writesDone: number, where: string): DiskFaultNow {
  const n = plan.failAfterWrites;
  if (n !== undefined && writesDone >= n) {
    return { fail: injectedFault(`write #${n + 1} failed (failAfterWrites=${n})`, where) };
  }
  const file = plan.faultFile;
  if (file === undefined || !existsSync(file)) return null;
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return null; // removed between the two calls: the disk is well again
  }
  if (text === "") return null;
  if (text === "fail") return { fail: injectedFault(`${file} says fail`, where) };
  const delay = /^delay (\d+)$/.exec(text);
  const ms = delay === null ? NaN : Number(delay[1]);
  if (ms >= 0 && ms <= MAX_INJECTED_DELAY_MS) return { delayMs: ms };
  return {
    fail: injectedFault(
      `${file} holds ${JSON.stringify(text.slice(0, 40))}, not "fail" or "delay <0-${MAX_INJECTED_DELAY_MS}>"`,
      where,
    ),
  };
}

/**
 * Sets what the disk of a node started with `faultFile` does from its next write on (tests,
 * chaos, benchmarks): written beside and renamed over, so a node never reads it half-written.
 */
export async function setDiskFault(
  faultFile: string,
  fault: "fail" | { readonly delayMs: number },
): Promise<void> {
  const text = fault === "fail" ? "fail" : `delay ${fault.delayMs}`;
  const temp = `${faultFile}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, faultFile);
}

function injectedFault(why: string, where: string): StorageFatalError {
  return new StorageFatalError("io", `injected disk fault in ${where}: ${why}`);
}

export function assertFailAfterWrites(n: number | undefined): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
    throw new RangeError(`failAfterWrites must be a non-negative integer, got ${n}`);
  }
}

/**
 * Test-only switches that make a write fail like a disk error, so multi-process tests and chaos
 * runs can prove that a node exits non-zero on a storage fault:
 * - fail after n writes (the disk is bad from the start: the node fails soon after it starts);
 * - fail while a named file exists (the disk goes bad in a running node, e.g. a leader mid-term).
 * Both are off unless their env var is set; a write that trips one is not applied.
 */
import { existsSync } from "node:fs";
import { StorageFatalError } from "./errors.js";

export const FAIL_AFTER_WRITES_ENV = "RAFTQ_FAULT_STORAGE_FAIL_AFTER_WRITES";
export const FAIL_WHEN_FILE_EXISTS_ENV = "RAFTQ_FAULT_STORAGE_FAIL_WHEN_FILE_EXISTS";

/** The switches one store obeys. */
export interface DiskFaultPlan {
  /** Writes 1..n succeed; write n+1 and all later ones fail. */
  readonly failAfterWrites?: number | undefined;
  /** Every write attempted while this file exists fails (the store is failed from then on). */
  readonly failWhenFileExists?: string | undefined;
}

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
  const fromEnv = env[FAIL_WHEN_FILE_EXISTS_ENV];
  const failWhenFileExists = given.failWhenFileExists ?? (fromEnv === "" ? undefined : fromEnv);
  return { failAfterWrites, failWhenFileExists };
}

/**
 * The injected failure for the next write, or null. `writesDone` counts the store's accepted
 * writes. The file check is a stat per write, paid only when that switch is set.
 */
export function plannedFault(
  plan: DiskFaultPlan,
  writesDone: number,
  where: string,
): StorageFatalError | null {
  const n = plan.failAfterWrites;
  if (n !== undefined && writesDone >= n)
    return injectedFault(`write #${n + 1} failed (failAfterWrites=${n})`, where);
  const file = plan.failWhenFileExists;
  if (file !== undefined && existsSync(file)) return injectedFault(`${file} exists`, where);
  return null;
}

function injectedFault(why: string, where: string): StorageFatalError {
  return new StorageFatalError("io", `injected disk fault in ${where}: ${why}`);
}

export function assertFailAfterWrites(n: number | undefined): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
    throw new RangeError(`failAfterWrites must be a non-negative integer, got ${n}`);
  }
}

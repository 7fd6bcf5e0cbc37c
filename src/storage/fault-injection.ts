/**
 * Test-only switch that makes the (n+1)-th write fail like a disk error, so a
 * multi-process test can prove that a node exits non-zero on a storage fault.
 */
import { StorageFatalError } from "./errors.js";

export const FAIL_AFTER_WRITES_ENV = "RAFTQ_FAULT_STORAGE_FAIL_AFTER_WRITES";

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

export function injectedFault(failAfterWrites: number, where: string): StorageFatalError {
  return new StorageFatalError(
    "io",
    `injected disk fault in ${where}: write #${failAfterWrites + 1} failed (failAfterWrites=${failAfterWrites})`,
  );
}

export function assertFailAfterWrites(n: number | undefined): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
    throw new RangeError(`failAfterWrites must be a non-negative integer, got ${n}`);
  }
}

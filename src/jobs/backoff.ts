/**
 * Retry backoff: exponential, capped, with "equal jitter" (half fixed, half
 * random), so retries of many jobs failing together spread out but never come
 * back sooner than half the nominal delay.
 *
 * The randomness is not ours: each command that can cause a retry carries a
 * jitterSeed stamped by the leader, and each job derives its own jitter from
 * (seed, job id). Arithmetic is plain IEEE multiplication and Math.floor, which
 * give the same result on every replica (no Math.pow, whose last bit may vary).
 */
import type { JobOptions } from "./records.js";

/** Nominal delay before attempt `attempts + 1`, after `attempts` attempts failed; no jitter. */
export function nominalBackoffMs(options: JobOptions, attempts: number): number {
  let delay = options.backoffInitialMs;
  for (let i = 1; i < attempts && delay < options.backoffMaxMs; i++) delay *= options.backoffMultiplier;
  return Math.min(delay, options.backoffMaxMs);
}

/** Jittered delay: nominal * (0.5 + 0.5 * jitter) with jitter in [0, 1), whole milliseconds. */
export function backoffMs(options: JobOptions, attempts: number, jitter: number): number {
  return Math.floor(nominalBackoffMs(options, attempts) * (0.5 + 0.5 * jitter));
}

/** A deterministic value in [0, 1) from the leader's seed and a job id (a 32-bit integer hash). */
export function jitterFor(seed: number, jobId: number): number {
  let h = (seed ^ Math.imul(jobId | 0, 0x9e3779b1) ^ Math.floor(jobId / 4294967296)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

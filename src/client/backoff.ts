/** Exponential backoff with jitter, for retries and reconnects. */

/** How retries space out. */
export interface BackoffOptions {
  /** First delay in ms. Default 50. */
  initialMs?: number;
  /** Largest delay in ms. Default 2000. */
  maxMs?: number;
  /** Growth factor per attempt. Default 2. */
  multiplier?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 50, maxMs: 2_000, multiplier: 2 };

/**
 * The delay before retry number `attempt` (0-based): the exponential step,
 * capped, then "equal jitter" (uniform in [step/2, step]) so that many
 * clients retrying at once spread out but never retry at once.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, multiplier } = { ...DEFAULT_BACKOFF, ...options };
  const step = Math.min(maxMs, initialMs * Math.pow(multiplier, Math.max(0, attempt)));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

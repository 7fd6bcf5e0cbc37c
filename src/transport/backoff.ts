/**
 * Reconnect delays: exponential, capped, with jitter so that the nodes of a
 * cluster that lost a peer at the same instant do not all knock on its door
 * in the same millisecond when it comes back.
 */

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry):
 * min * 2^attempt capped at max, then drawn uniformly from its upper half
 * ("equal jitter"), never below min. `random` returns [0, 1).
 */
export function reconnectDelayMs(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.max(minMs, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}

import fc from "fast-check";
import { expect, it } from "vitest";
import { reconnectDelayMs } from "../../src/transport/backoff.js";

it("reconnect delays stay within [min, max], grow with attempts, and jitter within the upper half", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 100 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 0, max: 60_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, minMs, extraMs, r) => {
        const maxMs = minMs + extraMs;
        const d = reconnectDelayMs(attempt, minMs, maxMs, () => r);
        const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
        expect(d).toBeGreaterThanOrEqual(minMs);
        expect(d).toBeLessThanOrEqual(maxMs);
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
      },
    ),
  );
  expect(reconnectDelayMs(0, 100, 5000, () => 0.999)).toBe(100);
  expect(reconnectDelayMs(3, 100, 5000, () => 0)).toBe(400);
  expect(reconnectDelayMs(50, 100, 5000, () => 0.999)).toBe(4998);
});

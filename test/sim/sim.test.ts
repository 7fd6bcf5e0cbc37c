import { describe, expect, it } from "vitest";
import { runSeed } from "./run-seed.js";

/**
 * Randomized whole-cluster runs under faults. Each seed is an exact replay:
 * `npm run sim -- --seed N --verbose` reproduces a failure with its trace.
 */
const FIRST_SEED = Number(process.env.RAFTQ_SIM_FIRST_SEED ?? 1);
const SEEDS = Number(process.env.RAFTQ_SIM_SEEDS ?? 300);

describe("deterministic simulation", () => {
  it(`keeps every safety property and stays live over ${SEEDS} seeds`, () => {
    const failures: string[] = [];
    let events = 0;
    let committed = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      const r = runSeed({ seed });
      events += r.events;
      committed += r.committed;
      if (!r.ok) {
        failures.push(
          `seed ${seed} (${r.nodes} nodes): ${r.error}\n  replay: npm run sim -- --seed ${seed} --verbose`,
        );
        if (failures.length >= 3) break;
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
    // The runs must have done real work, not idled.
    expect(committed).toBeGreaterThan(SEEDS * 300);
    expect(events).toBeGreaterThan(SEEDS * 1000);
  }, 180_000);

  it("replays a seed exactly", () => {
    const a = runSeed({ seed: 4242 });
    const b = runSeed({ seed: 4242 });
    expect(a.ok).toBe(true);
    expect(b).toEqual(a);
  });
});

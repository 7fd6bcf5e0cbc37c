// The port picker of the test and bench clusters (bench/lib/free-port.ts): picks in one process
// never repeat (a CI run failed when two picks of one cluster were the same port), stay below
// Linux's ephemeral range, and stay in this vitest worker's slice of the range.
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../../bench/lib/free-port.js";

/** This worker's slice, computed here independently of the module (8 slices of 1,500 from 20,000). */
function sliceStart(): number {
  return 20_000 + (Number(process.env.VITEST_POOL_ID ?? 0) % 8) * 1_500;
}

describe("freePort", () => {
  it("hands out distinct ports in this worker's slice, below the ephemeral range", async () => {
    const ports: number[] = [];
    for (let i = 0; i < 200; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    const first = sliceStart();
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(first);
      expect(p).toBeLessThan(first + 1_500);
    }
    expect(Math.max(...ports)).toBeLessThan(32_768);
  });

  it("skips ports that are in use", async () => {
    // Hold every port of the slice but each tenth: every pick must be one of those.
    const first = sliceStart();
    const held: Server[] = [];
    for (let p = first; p < first + 1_500; p++) {
      if (p % 10 === 0) continue;
      const s = createServer();
      const ok = await new Promise<boolean>((res) => {
        s.once("error", () => res(false));
        s.listen(p, "127.0.0.1", () => res(true));
      });
      if (ok) held.push(s);
    }
    try {
      for (let i = 0; i < 5; i++) expect((await freePort()) % 10).toBe(0);
    } finally {
      await Promise.all(held.map((s) => new Promise<void>((res) => s.close(() => res()))));
    }
  });
});

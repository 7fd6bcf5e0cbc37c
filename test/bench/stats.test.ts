import { describe, expect, it } from "vitest";
import { median, summarize } from "../../bench/lib/stats.js";

describe("bench statistics", () => {
  it("takes the middle value, and the mean of the two middle ones for an even count", () => {
    expect(median([3, 1, 2])).toBe(2);
    // The interleaved comparison takes medians of 4 windows per system: neither the lower nor
    // the upper middle value, which would favour one side of a latency or a rate comparison.
    expect(median([2474, 3281, 2764, 2947])).toBe((2764 + 2947) / 2);
    expect(median([1.39, 1.41, 1.4, 1.39])).toBeCloseTo(1.395, 10);
    expect(median([])).toBeNaN();
  });

  it("leaves its input in place", () => {
    const xs = [5, 1, 4];
    median(xs);
    expect(xs).toEqual([5, 1, 4]);
  });

  it("summarizes percentiles by rank", () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect([s.count, s.p50, s.p90, s.p99, s.max]).toEqual([100, 50, 90, 99, 100]);
    expect(s.mean).toBe(50.5);
  });
});

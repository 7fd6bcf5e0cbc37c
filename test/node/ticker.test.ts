import { describe, expect, it } from "vitest";
import { WallClockTicker } from "../../src/node/ticker.js";

function fakeTicker(maxCatchUpTicks = 3, stalls: number[] = []) {
  let nowMs = 1000;
  let ticks = 0;
  const t = new WallClockTicker({
    tickMs: 10,
    maxCatchUpTicks,
    onTick: () => ticks++,
    stallMs: 100,
    onStall: (gapMs) => stalls.push(gapMs),
    now: () => nowMs,
  });
  t.start();
  t.stop(); // the test drives poll() itself
  return {
    advance(ms: number): number {
      nowMs += ms;
      return t.poll();
    },
    get ticks() {
      return ticks;
    },
  };
}

describe("WallClockTicker", () => {
  it("late callbacks still tick at the clock's rate", () => {
    const t = fakeTicker();
    // 100 callbacks, each 13 ms apart (a busy event loop): 1,300 ms is 130 ticks, not 100.
    for (let i = 0; i < 100; i++) t.advance(13);
    expect(t.ticks).toBe(130);
  });

  it("an early callback runs nothing and keeps the partial tick", () => {
    const t = fakeTicker();
    expect(t.advance(6)).toBe(0);
    expect(t.advance(6)).toBe(1); // 12 ms: one tick, 2 ms carried
    expect(t.advance(8)).toBe(1); // 20 ms in all: two ticks
    expect(t.ticks).toBe(2);
  });

  it("reports a callback that comes stallMs or more after the previous one, with the gap", () => {
    const stalls: number[] = [];
    const t = fakeTicker(3, stalls);
    for (let i = 0; i < 20; i++) t.advance(13); // late, not stalled
    t.advance(99);
    expect(stalls).toEqual([]);
    t.advance(240);
    t.advance(10);
    t.advance(100);
    expect(stalls).toEqual([240, 100]);
  });

  it("after a long stall it catches up at most maxCatchUpTicks and drops the rest", () => {
    const t = fakeTicker(3);
    expect(t.advance(500)).toBe(3); // 50 ticks were due: a stalled node does not replay them in a burst
    expect(t.advance(10)).toBe(1); // and the clock is not owed the dropped 47
    expect(t.ticks).toBe(4);
  });

  it("refuses nonsense settings", () => {
    expect(() => new WallClockTicker({ tickMs: 0, maxCatchUpTicks: 1, onTick: () => undefined })).toThrow(
      /tickMs/,
    );
    expect(() => new WallClockTicker({ tickMs: 10, maxCatchUpTicks: 0, onTick: () => undefined })).toThrow(
      /maxCatchUpTicks/,
    );
  });
});

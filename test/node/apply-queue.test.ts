import { describe, expect, it } from "vitest";
import { ApplyQueue, type ApplyItem } from "../../src/node/apply-queue.js";
import type { Entry } from "../../src/raft/index.js";

const entry = (index: number, bytes = 1): ApplyItem => ({
  kind: "entry",
  entry: { index, term: 1, type: 0, data: new Uint8Array(bytes) } as Entry,
});

/** A queue whose every apply takes `costMs` of a fake clock. */
function queue(
  costMs: number,
  opts: { held?: () => boolean; pauseItems?: number; pauseBytes?: number } = {},
) {
  let nowMs = 0;
  const applied: number[] = [];
  let slices = 0;
  let rooms = 0;
  const q = new ApplyQueue({
    sliceMs: 10,
    pauseItems: opts.pauseItems ?? 100,
    pauseBytes: opts.pauseBytes ?? 1_000_000,
    maxItems: 1000,
    apply: (item) => {
      if (item.kind === "entry") applied.push(item.entry.index);
      nowMs += costMs;
    },
    held: opts.held ?? (() => false),
    afterSlice: () => slices++,
    onRoom: () => rooms++,
    now: () => nowMs,
  });
  return { q, applied, slices: () => slices, rooms: () => rooms };
}

const turn = () => new Promise((r) => setImmediate(r));

describe("ApplyQueue", () => {
  it("applies in order, at most one slice per event-loop turn, and finishes the rest in later turns", async () => {
    const { q, applied, slices } = queue(4); // 4 ms each: 3 per 10 ms slice
    for (let i = 1; i <= 8; i++) q.push(entry(i));
    q.drain();
    expect(applied).toEqual([1, 2, 3]);
    expect(q.length).toBe(5);
    await turn();
    expect(applied).toEqual([1, 2, 3, 4, 5, 6]);
    await turn();
    expect(applied).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(q.length).toBe(0);
    expect(slices()).toBe(3);
  });

  it("runs an item that returns steps across slices, before any later item", async () => {
    let nowMs = 0;
    const log: string[] = [];
    const q = new ApplyQueue({
      sliceMs: 10,
      pauseItems: 100,
      pauseBytes: 1_000_000,
      maxItems: 1000,
      apply: (item) => {
        if (item.kind === "entry") {
          log.push(`entry ${item.entry.index}`);
          nowMs += 1;
          return;
        }
        return (function* () {
          for (let i = 0; i < 5; i++) {
            log.push(`restore step ${i}`);
            nowMs += 4;
            yield;
          }
        })();
      },
      held: () => false,
      afterSlice: () => undefined,
      onRoom: () => undefined,
      now: () => nowMs,
    });
    q.push(entry(1));
    q.push({
      kind: "restore",
      snapshot: { metadata: { index: 9, term: 1, membership: { members: [] } }, data: new Uint8Array() },
    });
    q.push(entry(10));
    q.drain();
    expect(log).toEqual(["entry 1", "restore step 0", "restore step 1", "restore step 2"]);
    expect(q.length).toBe(2); // the restore in progress and entry 10
    await turn();
    expect(log.slice(4)).toEqual(["restore step 3", "restore step 4", "entry 10"]);
    expect(q.length).toBe(0);
  });

  it("applies an item even when it alone is longer than a slice", () => {
    const { q, applied } = queue(50);
    q.push(entry(1));
    q.push(entry(2));
    q.drain();
    expect(applied).toEqual([1]);
  });

  it("applies nothing while held, and resumes on the next drain", async () => {
    let held = true;
    const { q, applied } = queue(1, { held: () => held });
    q.push(entry(1));
    q.drain();
    await turn();
    expect(applied).toEqual([]);
    held = false;
    q.drain();
    expect(applied).toEqual([1]);
  });

  it("is full at a pause mark (items or bytes) and calls onRoom once, when drained below it", async () => {
    const { q, rooms } = queue(4, { pauseItems: 5, pauseBytes: 1000 });
    for (let i = 1; i <= 6; i++) q.push(entry(i));
    expect(q.full).toBe(true);
    q.drain(); // 3 applied: 3 left, below the mark
    expect(q.full).toBe(false);
    expect(rooms()).toBe(1);
    await turn(); // the other 3 applied in the next slice: no second call
    expect(q.length).toBe(0);
    expect(rooms()).toBe(1);

    const bytes = queue(1, { pauseItems: 100, pauseBytes: 1000 });
    bytes.q.push(entry(1, 600));
    expect(bytes.q.full).toBe(false);
    bytes.q.push(entry(2, 600));
    expect(bytes.q.full).toBe(true);
    expect(bytes.rooms()).toBe(0);
    bytes.q.drain(); // both applied in one slice
    expect(bytes.q.full).toBe(false);
    expect(bytes.rooms()).toBe(1);
  });

  it("never calls onRoom when it was never full", async () => {
    const { q, rooms } = queue(4, { pauseItems: 5 });
    for (let i = 1; i <= 4; i++) q.push(entry(i));
    q.drain();
    await turn();
    expect(q.length).toBe(0);
    expect(rooms()).toBe(0);
  });

  it("refuses to grow past maxItems (a bug: the Ready loop stops taking committed entries long before)", () => {
    const { q } = queue(1, { pauseItems: 100 });
    for (let i = 1; i <= 1000; i++) q.push(entry(i));
    expect(() => q.push(entry(1001))).toThrow(/exceeded its bound of 1000 items/);
  });
});

import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../../src/storage/memory-storage.js";
import { entry, expectFatal, runConformance } from "./conformance.js";

runConformance({
  name: "memory",
  propertyRuns: 300,
  async create(options) {
    const storage = new MemoryStorage(options);
    return { storage, dispose: () => storage.close() };
  },
});

describe("MemoryStorage manual sync (simulated crashes)", () => {
  it("holds writes until syncPending, then resolves them in order", async () => {
    const s = new MemoryStorage({ sync: "manual" });
    const done: number[] = [];
    const a = s.write({ entries: [entry(1, 1)] }).then(() => done.push(1));
    const b = s.write({ entries: [entry(2, 1)] }).then(() => done.push(2));
    expect(s.pendingWrites).toBe(2);
    expect((await s.load()).entries).toEqual([]);
    s.syncPending(1);
    await a;
    expect(done).toEqual([1]);
    expect((await s.load()).entries.map((e) => e.index)).toEqual([1]);
    s.syncPending();
    await b;
    expect(done).toEqual([1, 2]);
  });

  it("crashLoseUnsynced keeps a prefix of pending writes and never settles the lost ones", async () => {
    const s = new MemoryStorage({ sync: "manual" });
    const first = s.write({ entries: [entry(1, 1)] });
    s.syncPending();
    await first;
    let settled = 0;
    for (let i = 2; i <= 5; i++) {
      s.write({ entries: [entry(i, 1)] }).then(
        () => settled++,
        () => settled++,
      );
    }
    s.crashLoseUnsynced(2);
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(0);
    expect((await s.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
    const next = s.write({ entries: [entry(4, 2)] }); // the "restarted" node carries on
    s.syncPending();
    await next;
    expect((await s.load()).entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  it("an invalid pending write fails at sync and poisons the rest", async () => {
    const s = new MemoryStorage({ sync: "manual" });
    const bad = s.write({ entries: [entry(3, 1)] });
    const next = s.write({ entries: [entry(1, 1)] });
    s.syncPending();
    await expectFatal(bad, "invalid-write", /gap/);
    await expectFatal(next, "invalid-write", /gap/);
  });
});

import { describe, expect, it } from "vitest";
import { Prng } from "../sim/prng.js";
import { InvariantError } from "../../src/jobs/assert.js";
import { JobTable, SHARD_IDS } from "../../src/jobs/job-table.js";
import type { JobRecord } from "../../src/jobs/records.js";

/** The table only stores and hands back records; a tagged object stands in for one. */
const rec = (id: number): JobRecord => ({ id }) as unknown as JobRecord;
const ids = (t: JobTable): number[] => [...t.values()].map((j) => j.id);

describe("JobTable", () => {
  it("finds jobs by id and walks them in id order across shards", () => {
    const t = new JobTable();
    const wanted = [1, 2, SHARD_IDS - 1, SHARD_IDS, SHARD_IDS + 1, 5 * SHARD_IDS + 7];
    for (const id of wanted) t.set(id, rec(id));
    expect(t.size).toBe(wanted.length);
    expect(ids(t)).toEqual(wanted);
    expect([...t].map(([id, job]) => [id, job.id])).toEqual(wanted.map((id) => [id, id]));
    expect(t.get(SHARD_IDS)?.id).toBe(SHARD_IDS);
    expect(t.get(3)).toBeUndefined();
    expect(t.has(5 * SHARD_IDS + 7)).toBe(true);
    expect(t.has(4 * SHARD_IDS)).toBe(false);
  });

  it("refuses an id at or below the highest so far and stays as it was", () => {
    const t = new JobTable();
    t.set(10, rec(10));
    t.delete(10);
    expect(() => t.set(10, rec(10))).toThrow(InvariantError); // ids are never reused
    expect(() => t.set(3, rec(3))).toThrow(/not above the highest id so far \(10\)/);
    expect(() => t.set(Number.NaN, rec(0))).toThrow(InvariantError);
    expect(t.size).toBe(0);
    expect(t.highestId).toBe(10);
    t.set(11, rec(11));
    expect(ids(t)).toEqual([11]);
  });

  it("drops an emptied shard and starts it again for a later id in its range", () => {
    const t = new JobTable();
    t.set(1, rec(1));
    t.set(2, rec(2));
    t.set(SHARD_IDS + 1, rec(SHARD_IDS + 1));
    expect(t.delete(1)).toBe(true);
    expect(t.delete(1)).toBe(false);
    expect(t.delete(2)).toBe(true); // shard 0 is now empty
    t.delete(SHARD_IDS + 1); // and shard 1
    expect(t.size).toBe(0);
    expect(ids(t)).toEqual([]);
    t.set(SHARD_IDS + 2, rec(SHARD_IDS + 2)); // shard 1 again
    t.set(3 * SHARD_IDS, rec(3 * SHARD_IDS));
    expect(ids(t)).toEqual([SHARD_IDS + 2, 3 * SHARD_IDS]);
  });

  it("matches a Map under random submits and deletes (seeded)", () => {
    const prng = new Prng(12345);
    const random = (): number => prng.next();
    const t = new JobTable();
    const model = new Map<number, JobRecord>();
    let next = 1;
    for (let op = 0; op < 60_000; op++) {
      if (random() < 0.55 || model.size === 0) {
        // Mostly dense ids, sometimes a jump of several shards (jobs expired meanwhile).
        next += random() < 0.001 ? Math.floor(random() * 4 * SHARD_IDS) : 1;
        t.set(next, rec(next));
        model.set(next, rec(next));
      } else {
        // One of the oldest, as retention deletes them.
        const keys = model.keys();
        let id = keys.next().value!;
        for (let skip = Math.floor(random() * Math.min(model.size, 64)); skip > 0; skip--)
          id = keys.next().value!;
        expect(t.delete(id)).toBe(true);
        model.delete(id);
      }
    }
    expect(t.size).toBe(model.size);
    expect(ids(t)).toEqual([...model.keys()]);
    for (const id of model.keys()) expect(t.get(id)?.id).toBe(id);
  });
});

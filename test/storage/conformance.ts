/**
 * One behavioural suite for every RaftStorage implementation. Each test file
 * calls runConformance() with a target that knows how to create (and, when the
 * store is durable, reopen and corrupt) its implementation.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Entry, EntryType, Snapshot } from "../../src/raft/types.js";
import { StorageFatalError, type StorageErrorCode } from "../../src/storage/errors.js";
import { setDiskFault, type DiskFaultPlan } from "../../src/storage/fault-injection.js";
import type { RaftStorage, WriteBatch } from "../../src/storage/raft-storage.js";
import { normalize, StorageModel } from "./model.js";

export type CorruptTarget = "hardstate" | "entry" | "snapshot";

export interface StoreHandle {
  readonly storage: RaftStorage;
  /** Closes and opens the same backing store; absent when the store does not survive restarts. */
  readonly reopen?: () => Promise<StoreHandle>;
  /** Flips one byte of a stored value; the store must be closed. */
  readonly corrupt?: (what: CorruptTarget) => Promise<void>;
  dispose(): Promise<void>;
}

export interface ConformanceTarget {
  readonly name: string;
  create(options?: DiskFaultPlan): Promise<StoreHandle>;
  /** fast-check runs for the model test (each run creates a store). */
  readonly propertyRuns: number;
  /** Run tests concurrently: worth it when creating a store costs a worker start-up. */
  readonly concurrent?: boolean;
}

export function entry(index: number, term: number, data: number[] | Uint8Array = [index % 256]): Entry {
  return { index, term, type: 0 as EntryType, data: Uint8Array.from(data) };
}

export function entries(from: number, through: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= through; i++) out.push(entry(i, term));
  return out;
}

export function snapshot(index: number, term: number, bytes = 16): Snapshot {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + index) % 251;
  return {
    metadata: {
      index,
      term,
      membership: { members: [{ id: "n1", address: "127.0.0.1:7001", role: "voter" }] },
    },
    data,
  };
}

export async function expectFatal(p: Promise<unknown>, code: StorageErrorCode, text?: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected StorageFatalError(${code})`).toBeInstanceOf(StorageFatalError);
  expect((err as StorageFatalError).code).toBe(code);
  if (text) expect((err as StorageFatalError).message).toMatch(text);
}

async function withStore(target: ConformanceTarget, fn: (h: StoreHandle) => Promise<void>): Promise<void> {
  const h = await target.create();
  try {
    await fn(h);
  } finally {
    await h.dispose();
  }
}

function indexes(es: readonly Entry[]): Array<[number, number]> {
  return es.map((e) => [e.index, e.term]);
}

export function runConformance(target: ConformanceTarget): void {
  const suite = target.concurrent === true ? describe.concurrent : describe;
  suite(`RaftStorage conformance: ${target.name}`, () => {
    it("loads an empty state from a new store", async () => {
      await withStore(target, async ({ storage }) => {
        expect(await storage.load()).toEqual({
          meta: null,
          hardState: { term: 0, vote: null, commit: 0 },
          snapshot: null,
          entries: [],
        });
      });
    });

    it("round-trips hard state, including a null vote", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ hardState: { term: 3, vote: "n2", commit: 0 } });
        expect((await storage.load()).hardState).toEqual({ term: 3, vote: "n2", commit: 0 });
        await storage.write({ hardState: { term: 4, vote: null, commit: 7 } });
        expect((await storage.load()).hardState).toEqual({ term: 4, vote: null, commit: 7 });
      });
    });

    it("appends entries with their bytes, types and empty payloads", async () => {
      await withStore(target, async ({ storage }) => {
        const es = [
          entry(1, 1, []),
          { ...entry(2, 1, [1, 2, 3]), type: 1 as EntryType },
          entry(3, 2, new Uint8Array(5000).fill(9)),
        ];
        await storage.write({ entries: es });
        await storage.write({ entries: [entry(4, 2)] });
        const loaded = await storage.load();
        expect(normalize(loaded)).toEqual(normalize({ ...loaded, entries: [...es, entry(4, 2)] }));
      });
    });

    it("overwrites a conflicting tail", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ entries: entries(1, 5, 1) });
        await storage.write({ entries: entries(3, 4, 2) });
        expect(indexes((await storage.load()).entries)).toEqual([
          [1, 1],
          [2, 1],
          [3, 2],
          [4, 2],
        ]);
        await storage.write({ entries: [entry(2, 3)] });
        expect(indexes((await storage.load()).entries)).toEqual([
          [1, 1],
          [2, 3],
        ]);
      });
    });

    it("a snapshot replaces the entries up to its index and keeps a matching tail", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ entries: entries(1, 10, 1) });
        await storage.write({ snapshot: snapshot(6, 1, 3000) });
        const s = await storage.load();
        expect(s.snapshot?.metadata.index).toBe(6);
        expect(Array.from(s.snapshot!.data)).toEqual(Array.from(snapshot(6, 1, 3000).data));
        expect(indexes(s.entries).map(([i]) => i)).toEqual([7, 8, 9, 10]);
        await storage.write({ entries: [entry(11, 2)] });
        expect((await storage.load()).entries.map((e) => e.index)).toEqual([7, 8, 9, 10, 11]);
      });
    });

    it("a snapshot that disagrees with the log drops the whole log (Raft §7)", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ entries: entries(1, 10, 1) });
        await storage.write({ snapshot: snapshot(6, 2) });
        expect((await storage.load()).entries).toEqual([]);
        await storage.write({ snapshot: snapshot(20, 3), entries: entries(21, 22, 3) });
        const s = await storage.load();
        expect(s.snapshot?.metadata).toEqual(snapshot(20, 3).metadata);
        expect(indexes(s.entries)).toEqual([
          [21, 3],
          [22, 3],
        ]);
      });
    });

    it("a snapshot may cover entries written in the same batch (entries apply first)", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ entries: entries(1, 5, 1) });
        await storage.write({ entries: entries(6, 9, 2), snapshot: snapshot(7, 2) });
        const s = await storage.load();
        expect(s.snapshot?.metadata.index).toBe(7);
        expect(indexes(s.entries)).toEqual([
          [8, 2],
          [9, 2],
        ]);
      });
    });

    it("compactThrough up to the snapshot index is accepted; past it is refused", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ entries: entries(1, 10, 1) });
        await storage.write({ snapshot: snapshot(5, 1), compactThrough: 5 });
        await storage.write({ compactThrough: 3 });
        expect((await storage.load()).entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10]);
        await expectFatal(storage.write({ compactThrough: 7 }), "invalid-write", /not covered by a snapshot/);
      });
    });

    it("resolves pipelined writes in call order", async () => {
      await withStore(target, async ({ storage }) => {
        const order: number[] = [];
        const writes = Array.from({ length: 50 }, (_, i) =>
          storage
            .write({ entries: [entry(i + 1, 1)], hardState: { term: 1, vote: "n1", commit: i } })
            .then(() => order.push(i)),
        );
        const s = await storage.load(); // issued behind the writes: sees all of them
        await Promise.all(writes);
        expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
        expect(s.entries.map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(s.hardState.commit).toBe(49);
      });
    });

    it("copies the caller's buffers: later mutation does not change stored data", async () => {
      await withStore(target, async ({ storage }) => {
        const data = Uint8Array.from([1, 2, 3]);
        const p = storage.write({ entries: [{ index: 1, term: 1, type: 0, data }] });
        data[0] = 99;
        await p;
        expect(Array.from((await storage.load()).entries[0]!.data)).toEqual([1, 2, 3]);
      });
    });

    it("binds to one cluster member: idempotent, a different meta is refused", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ meta: { clusterId: "c1", nodeId: "n1" } });
        await storage.write({ meta: { clusterId: "c1", nodeId: "n1" } });
        expect((await storage.load()).meta).toEqual({ clusterId: "c1", nodeId: "n1" });
        await expectFatal(
          storage.write({ meta: { clusterId: "c2", nodeId: "n1" } }),
          "cluster-mismatch",
          /"c1".*"c2"/,
        );
      });
    });

    describe("refuses writes that would break the log, changes nothing, and stays failed", () => {
      const cases: Array<[string, WriteBatch, RegExp]> = [
        ["a gap after the log", { entries: [entry(7, 1)] }, /gap/],
        ["entries inside the snapshot", { entries: [entry(3, 1)] }, /inside the snapshot/],
        ["non-contiguous entries", { entries: [entry(6, 1), entry(8, 1)] }, /not contiguous/],
        ["a term lower than the previous entry's", { entries: [entry(6, 0)] }, /lower than term 1/],
        ["a term going back", { hardState: { term: 1, vote: null, commit: 0 } }, /term would go back/],
        ["a changed vote", { hardState: { term: 2, vote: "n3", commit: 0 } }, /vote in term 2/],
        ["a commit going back", { hardState: { term: 2, vote: "n2", commit: 1 } }, /commit would go back/],
        ["an older snapshot", { snapshot: snapshot(4, 1) }, /older than the stored snapshot/],
      ];
      for (const [what, batch, text] of cases) {
        it(what, async () => {
          await withStore(target, async ({ storage }) => {
            await storage.write({ entries: entries(1, 5, 1), hardState: { term: 2, vote: "n2", commit: 3 } });
            await storage.write({ snapshot: snapshot(5, 1) });
            const before = normalize(await storage.load());
            const bad = storage.write(batch);
            const after = storage.write({ hardState: { term: 9, vote: null, commit: 3 } });
            await expectFatal(bad, "invalid-write", text);
            await expectFatal(after, "invalid-write", text); // poisoned: later writes fail with the same error
            expect(normalize(await storage.load())).toEqual(before);
          });
        });
      }
    });

    it("fault injection: write n+1 fails like a disk error, and every write after it", async () => {
      const h = await target.create({ failAfterWrites: 3 });
      try {
        for (let i = 1; i <= 3; i++) await h.storage.write({ entries: [entry(i, 1)] });
        await expectFatal(h.storage.write({ entries: [entry(4, 1)] }), "io", /injected disk fault.*write #4/);
        await expectFatal(h.storage.write({ hardState: { term: 5, vote: null, commit: 0 } }), "io");
        expect((await h.storage.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
        if (h.reopen) {
          const again = await h.reopen();
          expect((await again.storage.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
          await again.dispose();
          return;
        }
      } finally {
        await h.dispose();
      }
    });

    it("fault injection: once the fault file exists, the next write fails, and every write after it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "raftq-disk-switch-"));
      const file = join(dir, "fail");
      const h = await target.create({ faultFile: file });
      try {
        await h.storage.write({ entries: [entry(1, 1)] });
        writeFileSync(file, ""); // empty: a file still being written, no fault yet
        await h.storage.write({ entries: [entry(2, 1)] });
        writeFileSync(file, "fail");
        await expectFatal(
          h.storage.write({ entries: [entry(3, 1)] }),
          "io",
          /injected disk fault.*fail says fail/,
        );
        rmSync(file);
        // The store stays failed: a node must stop, not go on once the disk came back.
        await expectFatal(h.storage.write({ entries: [entry(3, 1)] }), "io");
        expect((await h.storage.load()).entries.map((e) => e.index)).toEqual([1, 2]);
        if (h.reopen) {
          const again = await h.reopen();
          expect((await again.storage.load()).entries.map((e) => e.index)).toEqual([1, 2]);
          await again.dispose();
          return;
        }
      } finally {
        await h.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("fault injection: a fault file saying `delay <ms>` holds each write that long, in order", async () => {
      const dir = mkdtempSync(join(tmpdir(), "raftq-disk-slow-"));
      const file = join(dir, "disk");
      const h = await target.create({ faultFile: file });
      try {
        await h.storage.write({ entries: [entry(1, 1)] });
        await setDiskFault(file, { delayMs: 120 }); // as chaos and the slow-disk bench set it
        const order: number[] = [];
        const startedMs = performance.now();
        const slow = h.storage.write({ entries: [entry(2, 1)] }).then(() => order.push(2));
        await new Promise((resolve) => setTimeout(resolve, 20));
        rmSync(file); // the disk is well again, but the write after the slow one still waits for it
        const next = h.storage.write({ entries: [entry(3, 1)] }).then(() => order.push(3));
        await Promise.all([slow, next]);
        // Timers may fire a millisecond early; the point is that the write was held, not how fast it went.
        expect(performance.now() - startedMs).toBeGreaterThanOrEqual(110);
        expect(order).toEqual([2, 3]);
        expect((await h.storage.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
        writeFileSync(file, "delay soon");
        await expectFatal(h.storage.write({ entries: [entry(4, 1)] }), "io", /not "fail" or "delay/);
      } finally {
        await h.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("fault injection with pipelined writes: exactly the first n are durable", async () => {
      const h = await target.create({ failAfterWrites: 3 });
      try {
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => h.storage.write({ entries: [entry(i + 1, 1)] })),
        );
        expect(results.map((r) => r.status)).toEqual([
          "fulfilled",
          "fulfilled",
          "fulfilled",
          "rejected",
          "rejected",
          "rejected",
        ]);
        expect((await h.storage.load()).entries.map((e) => e.index)).toEqual([1, 2, 3]);
      } finally {
        await h.dispose();
      }
    });

    it("accepts an empty batch and an empty entries array as no-ops", async () => {
      await withStore(target, async ({ storage }) => {
        await storage.write({ entries: [entry(1, 1)] });
        await storage.write({});
        await storage.write({ entries: [] });
        expect((await storage.load()).entries.map((e) => e.index)).toEqual([1]);
      });
    });

    it("rejects use after close; close is idempotent", async () => {
      const h = await target.create();
      await h.storage.write({ entries: [entry(1, 1)] });
      await h.storage.close();
      await h.storage.close();
      await expectFatal(h.storage.write({ entries: [entry(2, 1)] }), "closed");
      await h.dispose();
    });

    it("keeps large snapshots in chunks and a smaller replacement reads back exactly", async () => {
      await withStore(target, async ({ storage }) => {
        const big = snapshot(10, 1, 3 * 1024 * 1024 + 17);
        await storage.write({ snapshot: big, entries: [entry(11, 1)] });
        let s = await storage.load();
        expect(s.snapshot!.data.length).toBe(big.data.length);
        expect(Buffer.from(s.snapshot!.data).equals(Buffer.from(big.data))).toBe(true);
        const small = snapshot(11, 1, 100);
        await storage.write({ snapshot: small });
        s = await storage.load();
        expect(normalize(s)).toEqual(
          normalize({ meta: null, hardState: s.hardState, snapshot: small, entries: [] }),
        );
      });
    });

    it("stores a snapshot that lives in shared memory and leaves its bytes untouched", async () => {
      await withStore(target, async ({ storage }) => {
        const plain = snapshot(10, 1, 2 * 1024 * 1024 + 5);
        const data = new Uint8Array(new SharedArrayBuffer(plain.data.length));
        data.set(plain.data);
        await storage.write({ snapshot: { ...plain, data }, entries: [entry(11, 1)] });
        expect(Buffer.from(data).equals(Buffer.from(plain.data))).toBe(true);
        const s = await storage.load();
        expect(Buffer.from(s.snapshot!.data).equals(Buffer.from(plain.data))).toBe(true);
      });
    });

    it("reload after random valid batches equals a simple model (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
          let h = await target.create();
          try {
            const model = new StorageModel();
            for (const step of steps) {
              const batch = buildBatch(model, step);
              await h.storage.write(batch);
              model.apply(batch);
            }
            expect(normalize(await h.storage.load())).toEqual(normalize(model.persisted()));
            if (h.reopen) {
              h = await h.reopen();
              expect(normalize(await h.storage.load())).toEqual(normalize(model.persisted()));
            }
          } finally {
            await h.dispose();
          }
        }),
        { numRuns: target.propertyRuns },
      );
    });

    describe.runIf(target.name === "rocksdb")("durability", () => {
      it("keeps everything across close and reopen", async () => {
        let h = await target.create();
        const model = new StorageModel();
        const batches: WriteBatch[] = [
          { meta: { clusterId: "c", nodeId: "n1" }, hardState: { term: 1, vote: "n1", commit: 0 } },
          { entries: entries(1, 20, 1) },
          { snapshot: snapshot(8, 1, 2 * 1024 * 1024 + 3), hardState: { term: 2, vote: null, commit: 8 } },
          { entries: entries(15, 25, 2) },
        ];
        for (const b of batches) {
          await h.storage.write(b);
          model.apply(b);
        }
        h = await h.reopen!();
        expect(normalize(await h.storage.load())).toEqual(normalize(model.persisted()));
        await h.storage.write({ entries: [entry(26, 2)] }); // and the reopened store accepts writes
        h = await h.reopen!();
        expect((await h.storage.load()).entries.at(-1)?.index).toBe(26);
        await h.dispose();
      });

      for (const what of ["hardstate", "entry", "snapshot"] as const) {
        it(`detects a flipped byte in a stored ${what} record`, async () => {
          const h = await target.create();
          await h.storage.write({ entries: entries(1, 4, 1), hardState: { term: 1, vote: null, commit: 0 } });
          await h.storage.write({ snapshot: snapshot(2, 1, 5000) });
          await h.storage.close();
          await h.corrupt!(what);
          // Opening may already verify the records; either way the store must refuse.
          let again: StoreHandle | null = null;
          try {
            const loaded = h.reopen!().then((a) => ((again = a), a.storage.load()));
            await expectFatal(loaded, "checksum", /checksum mismatch in (.* key |snapshot file )/);
          } finally {
            await ((again as StoreHandle | null)?.dispose() ?? h.dispose());
          }
        });
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Random valid batches, resolved against the model's current state
// ---------------------------------------------------------------------------

interface Step {
  /** afterEntries: a snapshot within this batch's own entries (a leader's local snapshot). */
  snap: { at: number; matchTerm: boolean; bump: number; bytes: number; afterEntries: boolean } | null;
  compact: number | null;
  append: { at: number; terms: number[]; datas: Uint8Array[] } | null;
  hard: { bump: number; vote: number; commit: number } | null;
}

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const stepArb: fc.Arbitrary<Step> = fc.record({
  snap: fc.option(
    fc.record({
      at: fraction,
      matchTerm: fc.boolean(),
      bump: fc.nat(2),
      bytes: fc.nat(40),
      afterEntries: fc.boolean(),
    }),
    { freq: 4 },
  ),
  compact: fc.option(fraction, { freq: 4 }),
  append: fc.option(
    fc.record({
      at: fraction,
      terms: fc.array(fc.nat(1), { maxLength: 6 }),
      datas: fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 6, maxLength: 6 }),
    }),
    { freq: 1 },
  ),
  hard: fc.option(fc.record({ bump: fc.nat(2), vote: fc.nat(2), commit: fc.nat(3) }), { freq: 2 }),
});

function pick(lo: number, hi: number, f: number): number {
  return lo + Math.min(hi - lo, Math.floor(f * (hi - lo + 1)));
}

function buildBatch(model: StorageModel, step: Step): WriteBatch {
  const draft = model.clone();
  const batch: { -readonly [K in keyof WriteBatch]: WriteBatch[K] } = {};
  const withEntries = step.append !== null && step.append.terms.length > 0;
  const snapAfterEntries = step.snap !== null && step.snap.afterEntries && withEntries;
  if (step.snap && !snapAfterEntries)
    addSnapshot(draft, batch, step.snap, draft.snapshotIndex, draft.lastIndex + 3);
  if (step.append && withEntries) {
    const at = pick(draft.snapshotIndex + 1, draft.lastIndex + 1, step.append.at);
    let term = draft.termAt(at - 1) ?? 0;
    batch.entries = step.append.terms.map((bump, i) => {
      term += bump;
      return entry(at + i, Math.max(term, 1), step.append!.datas[i]!);
    });
    draft.apply({ entries: batch.entries });
    if (step.snap && snapAfterEntries) addSnapshot(draft, batch, step.snap, at, draft.lastIndex);
  }
  if (step.compact !== null) batch.compactThrough = pick(0, draft.snapshotIndex, step.compact);
  if (step.hard) {
    const hs = draft.hardState;
    const term = hs.term + step.hard.bump;
    const vote =
      term === hs.term && hs.vote !== null ? hs.vote : ([null, "n1", "n2"] as const)[step.hard.vote]!;
    batch.hardState = { term, vote, commit: hs.commit + step.hard.commit };
  }
  return batch;
}

function addSnapshot(
  draft: StorageModel,
  batch: { snapshot?: Snapshot },
  seed: NonNullable<Step["snap"]>,
  lo: number,
  hi: number,
): void {
  const index = pick(lo, hi, seed.at);
  const known = draft.termAt(index);
  const term = seed.matchTerm && known !== undefined ? known : (known ?? 1) + seed.bump;
  batch.snapshot = snapshot(index, term, seed.bytes);
  draft.apply({ snapshot: batch.snapshot });
}

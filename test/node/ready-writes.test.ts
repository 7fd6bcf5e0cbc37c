import { describe, expect, it } from "vitest";
import { EntryType, type HardState, type Ready } from "../../src/raft/index.js";
import { ReadyWrites } from "../../src/node/ready-writes.js";

function ready(part: Partial<Ready>): Ready {
  return {
    hardState: null,
    entries: [],
    snapshot: null,
    committedEntries: [],
    messages: [],
    readStates: [],
    compactedThrough: 0,
    localSnapshot: null,
    ...part,
  } as Ready;
}
const hs = (term: number, vote: string | null, commit: number): HardState => ({ term, vote, commit });
const entry = (index: number) => ({ term: 2, index, type: EntryType.Normal, data: new Uint8Array([index]) });

describe("ReadyWrites: one write per Ready, commit-only hard states ride along", () => {
  it("writes a new term or vote at once, alone if need be", () => {
    const w = new ReadyWrites();
    const b = w.batchFor(ready({ hardState: hs(2, "n1", 0) }));
    expect(b).toEqual({ hardState: hs(2, "n1", 0) });
    w.persisted(b!);
    const vote = w.batchFor(ready({ hardState: hs(3, "n2", 0) }));
    expect(vote).toEqual({ hardState: hs(3, "n2", 0) });
  });

  it("a hard state that only moves commit is not synced alone, and rides with the next write", () => {
    const w = new ReadyWrites();
    w.persisted(w.batchFor(ready({ hardState: hs(2, "n1", 0) }))!);
    expect(w.batchFor(ready({ hardState: hs(2, "n1", 5) }))).toBeNull();
    expect(w.batchFor(ready({ hardState: null }))).toBeNull(); // still carried, still nothing to sync
    const next = w.batchFor(ready({ entries: [entry(6)] }));
    expect(next).toEqual({ entries: [entry(6)], hardState: hs(2, "n1", 5) });
    w.persisted(next!);
    expect(w.batchFor(ready({}))).toBeNull(); // carried once, not twice
  });

  it("before anything was written, even a commit-only hard state is written", () => {
    expect(new ReadyWrites().batchFor(ready({ hardState: hs(2, "n1", 3) }))).toEqual({
      hardState: hs(2, "n1", 3),
    });
  });

  it("compaction is written only when no snapshot is (a snapshot write compacts by itself)", () => {
    const w = new ReadyWrites();
    expect(w.batchFor(ready({ compactedThrough: 10 }))).toEqual({ compactThrough: 10 });
    const snap = { metadata: { index: 10, term: 2, membership: { members: [] } }, data: new Uint8Array(1) };
    expect(w.batchFor(ready({ compactedThrough: 10, localSnapshot: snap }))).toEqual({ snapshot: snap });
  });
});

import { describe, expect, it } from "vitest";
import { SnapshotReceiver } from "../../src/raft/snapshot-receiver.js";
import type { SnapshotChunk } from "../../src/raft/types.js";

const DATA = Uint8Array.from({ length: 10 }, (_, i) => i);
function chunk(offset: number, end: number, index = 50, term = 3): SnapshotChunk {
  return {
    type: "snapshot",
    from: "leader",
    to: "me",
    term,
    metadata: { index, term, membership: { members: [] } },
    offset,
    totalBytes: DATA.length,
    data: DATA.subarray(offset, end),
    done: end === DATA.length,
  };
}

describe("SnapshotReceiver: a follower assembles InstallSnapshot chunks in order", () => {
  it("in-order chunks assemble the snapshot byte for byte", () => {
    const r = new SnapshotReceiver(1024);
    expect(r.receive(chunk(0, 4), 10)).toMatchObject({
      offset: 4,
      reject: false,
      done: false,
      complete: null,
    });
    const last = r.receive(chunk(4, 10), 10);
    expect(last).toMatchObject({ offset: 10, done: true });
    expect(Array.from(last.complete!.data)).toEqual(Array.from(DATA));
    expect(last.complete!.metadata.index).toBe(50);
    // One buffer the storage worker can read in place, not a view of the chunks.
    expect(last.complete!.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("a snapshot in one chunk is taken as it is, without a copy", () => {
    const r = new SnapshotReceiver(1024);
    const only = chunk(0, 10);
    expect(r.receive(only, 10).complete!.data).toBe(only.data);
  });

  it("a duplicate is acknowledged at the current offset; a gap is refused at it", () => {
    const r = new SnapshotReceiver(1024);
    r.receive(chunk(0, 4), 10);
    expect(r.receive(chunk(0, 4), 10)).toMatchObject({ offset: 4, reject: false, done: false });
    expect(r.receive(chunk(7, 10), 10)).toMatchObject({
      offset: 4,
      reject: true,
      done: false,
      complete: null,
    });
    expect(r.receive(chunk(4, 10), 10).complete).not.toBeNull();
  });

  it("a chunk of another snapshot that does not start at 0 is refused; one that does starts over", () => {
    const r = new SnapshotReceiver(1024);
    r.receive(chunk(0, 4), 10);
    expect(r.receive(chunk(4, 10, 60), 10)).toMatchObject({ offset: 0, reject: true });
    expect(r.receive(chunk(0, 10, 60), 10)).toMatchObject({ offset: 10, done: true });
  });

  it("a snapshot the follower has already committed past is answered done, and nothing is assembled", () => {
    const r = new SnapshotReceiver(1024);
    expect(r.receive(chunk(0, 4, 50), 50)).toEqual({ offset: 10, reject: false, done: true, complete: null });
  });

  it("a snapshot announced beyond the limit is a broken invariant", () => {
    expect(() => new SnapshotReceiver(5).receive(chunk(0, 4), 10)).toThrow(/exceeds limit/);
  });
});

import { describe, expect, it } from "vitest";
import { EntryType, type Message } from "../../src/raft/index.js";
import { Manual, dec, enc } from "./harness.js";

/**
 * takeEarlyCommitted: while a node's write is in flight, what a quorum
 * committed meanwhile may be applied without waiting for that write.
 */

/**
 * The leader `a` of three holds a Ready whose write ("one") is in flight; the
 * followers in `ackFrom` persisted it and their acknowledgements reached a.
 */
function leaderWithWriteInFlight(ackFrom: readonly string[] = ["b", "c"]) {
  const m = new Manual({ ids: ["a", "b", "c"] });
  const a = m.elect("a");
  a.propose([enc("one")]);
  const rd = a.ready(); // a's write of "one" is in flight: no advance yet
  for (const x of rd.messages) m.queue.push(x);
  m.deliver(m.take((x) => ackFrom.includes(x.to)));
  const acks = m.take((x) => x.to === "a" && x.type === "appendResp");
  expect(acks).toHaveLength(ackFrom.length);
  for (const x of acks) a.step(x);
  return { m, a, rd };
}

const payloads = (entries: readonly { data: Uint8Array }[]): string[] => entries.map((e) => dec(e.data));

describe("entries committed while a write is in flight", () => {
  it("a leader takes what both followers acknowledged before its own fsync ends, and only once", () => {
    const { a, rd } = leaderWithWriteInFlight();
    const index = rd.entries[0]!.index;
    expect(a.status().commit).toBe(index);
    const early = a.takeEarlyCommitted();
    expect(payloads(early)).toEqual(["one"]);
    expect(a.status().applied).toBe(index);
    // Nothing more until something else commits.
    expect(a.takeEarlyCommitted()).toEqual([]);
    a.advance(rd);
    // The next Ready does not hand the entry out a second time.
    while (a.hasReady()) {
      const next = a.ready();
      expect(next.committedEntries.map((e) => e.index)).not.toContain(index);
      a.advance(next);
    }
  });

  it("nothing is taken without a write in flight, nor while the application takes no committed entries", () => {
    const { a, rd } = leaderWithWriteInFlight();
    expect(a.takeEarlyCommitted({ takeCommitted: false })).toEqual([]);
    a.advance(rd);
    expect(a.takeEarlyCommitted()).toEqual([]);
    // The ordinary path still delivers it.
    const next = a.ready();
    expect(payloads(next.committedEntries)).toEqual(["one"]);
    a.advance(next);
  });

  it("one quorum is not enough: with a single acknowledgement the leader waits for its own write", () => {
    const { a, rd } = leaderWithWriteInFlight(["b"]);
    expect(a.takeEarlyCommitted()).toEqual([]); // a's own copy is not durable yet
    a.advance(rd); // now it is: a and b make a quorum
    const next = a.ready();
    expect(payloads(next.committedEntries)).toEqual(["one"]);
    a.advance(next);
  });

  it("a follower applies what its leader committed while the follower's own write is in flight", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    const b = m.core("b");
    a.propose([enc("one")]);
    m.pump("a");
    const toB = m.take((x) => x.to === "b" && x.type === "append");
    for (const x of toB) b.step(x);
    const rdB = b.ready(); // b's write of "one" is in flight
    expect(payloads(rdB.entries)).toEqual(["one"]);
    // c acknowledges; with a's own write, "one" commits, and a's next append tells b.
    m.deliver(m.take((x) => x.to === "c"));
    m.deliver(m.take((x) => x.to === "a"));
    a.propose([enc("two")]);
    m.pump("a");
    for (const x of m.take((x: Message) => x.to === "b")) b.step(x);
    expect(payloads(b.takeEarlyCommitted())).toEqual(["one"]);
    // Its acknowledgement still waits for the write: it promises "one" is on b's disk.
    expect(b.takeEarlyMessages().some((x) => x.type === "appendResp")).toBe(false);
    b.advance(rdB);
  });

  it("a membership change is not taken early: it takes effect in advance()", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    expect(a.proposeConfChange({ type: "addLearner", nodeId: "d", address: "d:7700" }).ok).toBe(true);
    a.propose([enc("after")]);
    const rd = a.ready();
    for (const x of rd.messages) m.queue.push(x);
    m.deliver(m.take((x) => x.to !== "a"));
    for (const x of m.take((x) => x.to === "a" && x.type === "appendResp")) a.step(x);
    expect(a.status().commit).toBe(rd.entries[rd.entries.length - 1]!.index);
    expect(a.takeEarlyCommitted()).toEqual([]);
    a.advance(rd);
    const next = a.ready();
    expect(next.committedEntries.map((e) => e.type)).toEqual([EntryType.ConfChange, EntryType.Normal]);
    a.advance(next);
    expect(a.status().membership.members.map((x) => x.id)).toContain("d");
  });
});

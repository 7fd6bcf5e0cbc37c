import { describe, expect, it } from "vitest";
import { Manual, dec, enc } from "./harness.js";

describe("proposal limits", () => {
  it("a leader without a quorum refuses proposals beyond maxUncommittedEntries, and accepts again once it commits", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxUncommittedEntries: 10 } });
    const a = m.elect("a");
    m.isolate("a");
    for (let i = 0; i < 10; i++) expect(a.propose([enc(`p${i}`)]).ok).toBe(true);
    expect(a.propose([enc("one too many")])).toMatchObject({
      ok: false,
      reason: "tooManyUncommitted",
      leader: "a",
    });
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    expect(a.status().commit).toBe(12);
    expect(a.propose([enc("accepted again")]).ok).toBe(true);
  });

  it("a batch is all or nothing against the limit", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxUncommittedEntries: 10 } });
    const a = m.elect("a");
    m.isolate("a");
    expect(
      a.propose([enc("1"), enc("2"), enc("3"), enc("4"), enc("5"), enc("6"), enc("7"), enc("8")]).ok,
    ).toBe(true);
    const before = a.status().lastIndex;
    expect(a.propose([enc("9"), enc("10"), enc("11")])).toMatchObject({
      ok: false,
      reason: "tooManyUncommitted",
    });
    expect(a.status().lastIndex).toBe(before);
    expect(a.propose([enc("9"), enc("10")]).ok).toBe(true);
  });

  it("the byte bound refuses too, but a single command larger than the bound is accepted when nothing is pending", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxUncommittedBytes: 1000 } });
    const a = m.elect("a");
    m.isolate("a");
    for (let i = 0; i < 3; i++) expect(a.propose([new Uint8Array(300)]).ok).toBe(true);
    expect(a.propose([new Uint8Array(300)])).toMatchObject({ ok: false, reason: "tooManyUncommitted" });
    expect(a.propose([new Uint8Array(100)]).ok).toBe(true); // exactly 1000
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    expect(a.status().commit).toBe(a.status().lastIndex);
    // Nothing pending: even an oversized command goes through (else it could never be proposed).
    expect(a.propose([new Uint8Array(5000)]).ok).toBe(true);
    expect(a.propose([new Uint8Array(1)])).toMatchObject({ ok: false, reason: "tooManyUncommitted" });
  });

  it("followers refuse with notLeader and name the leader; a transferring leader refuses with transferring", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    expect(m.core("b").propose([enc("x")])).toMatchObject({ ok: false, reason: "notLeader", leader: "a" });
    m.isolate("c");
    a.propose([enc("c lags")]);
    m.flush();
    expect(a.transferLeadership("c")).toEqual({ ok: true });
    expect(a.propose([enc("y")])).toMatchObject({ ok: false, reason: "transferring" });
  });

  it("a leader whose own disk stalls commits on its followers' writes, up to maxUnwrittenEntries, then refuses with diskBehind", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxUnwrittenEntries: 5 } });
    const a = m.elect("a");
    expect(a.propose([enc("p0")]).ok).toBe(true);
    const stuck = a.ready(); // a's write of p0 never finishes: its disk stalls
    for (const x of stuck.messages) m.queue.push(x);
    for (let i = 1; i <= 4; i++) {
      expect(a.propose([enc(`p${i}`)]).ok).toBe(true);
      for (const x of a.takeEarlyMessages()) m.queue.push(x); // the appends leave without the write
      m.flush(); // the followers write and acknowledge: a commits without its own disk
    }
    expect(a.status().commit).toBe(a.status().lastIndex);
    expect(a.takeEarlyCommitted().map((e) => dec(e.data))).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    const last = a.status().lastIndex;
    expect(a.propose([enc("one too many")])).toMatchObject({ ok: false, reason: "diskBehind", leader: "a" });
    expect(a.status().lastIndex).toBe(last);
    a.advance(stuck); // the stalled write ends; the next Ready writes the rest
    while (a.hasReady()) a.advance(a.ready());
    expect(a.propose([enc("accepted again")]).ok).toBe(true);
  });

  it("the unwritten-bytes bound refuses too, and counts only what is not yet on the leader's disk", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxUnwrittenBytes: 1000 } });
    const a = m.elect("a");
    while (a.hasReady()) a.advance(a.ready());
    expect(a.propose([new Uint8Array(600)]).ok).toBe(true);
    const stuck = a.ready();
    for (const x of stuck.messages) m.queue.push(x);
    m.flush();
    expect(a.propose([new Uint8Array(400)]).ok).toBe(true); // exactly 1000 unwritten
    expect(a.propose([new Uint8Array(1)])).toMatchObject({ ok: false, reason: "diskBehind" });
    a.advance(stuck); // 600 of them are durable now: 400 are left
    expect(a.propose([new Uint8Array(600)]).ok).toBe(true);
    expect(a.propose([new Uint8Array(1)])).toMatchObject({ ok: false, reason: "diskBehind" });
  });
});

import { describe, expect, it } from "vitest";
import type { AppendRequest, AppendResponse, HeartbeatRequest } from "../../src/raft/index.js";
import { Manual, enc, persistedLog, voterMembers } from "./harness.js";

const commands = (n: number, tag = "c"): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => enc(`${tag}${i}`));

describe("log replication", () => {
  it("fast backtracking: a follower with a long divergent tail is repaired in one rejected round trip", () => {
    const members = voterMembers(["a", "b", "c"]);
    const term3 = Array.from({ length: 500 }, () => 3);
    const term2 = Array.from({ length: 1000 }, () => 2);
    const m = new Manual({
      ids: ["a", "b", "c"],
      persisted: {
        // a and c: indexes 2..501 of term 3. b: indexes 2..1001 of term 2, never committed.
        a: persistedLog(members, term3, { term: 3 }, "good"),
        b: persistedLog(members, term2, { term: 3 }, "bad"),
        c: persistedLog(members, term3, { term: 3 }, "good"),
      },
    });
    m.expireLease(["b", "c"]);
    const a = m.elect("a");
    // One rejection (of the first probe at index 501), then the leader jumps straight
    // back to the last index both agree on instead of walking back 500 entries.
    const rejections = m.sentOf("appendResp", "a").filter((r) => r.from === "b" && r.reject);
    expect(rejections).toHaveLength(1);
    const toB = m.sentOf("append", "b");
    expect(toB.length).toBeLessThanOrEqual(4);
    expect(m.core("b").status().lastIndex).toBe(a.status().lastIndex);
    for (const i of [2, 250, 501, 502]) expect(m.core("b").entryAt(i)).toEqual(a.entryAt(i));
    expect(a.status().commit).toBe(502);
  });

  it("fast backtracking when the follower's log is shorter: it answers with its last index", () => {
    const members = voterMembers(["a", "b", "c"]);
    const m = new Manual({
      ids: ["a", "b", "c"],
      persisted: {
        a: persistedLog(
          members,
          Array.from({ length: 300 }, () => 2),
          { term: 2 },
        ),
        b: persistedLog(members, [2, 2], { term: 2 }),
        c: persistedLog(
          members,
          Array.from({ length: 300 }, () => 2),
          { term: 2 },
        ),
      },
    });
    m.expireLease(["b", "c"]);
    m.elect("a");
    const rej = m.sentOf("appendResp", "a").filter((r) => r.from === "b" && r.reject);
    expect(rej).toHaveLength(1);
    expect(rej[0]).toMatchObject({ index: 301, rejectHint: 3, hintTerm: 2 });
    expect(m.core("b").status().lastIndex).toBe(302);
  });

  it("pipelining: at most maxInflightMsgs unacknowledged appends per follower, one more per acknowledgement", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxInflightMsgs: 3, maxEntriesPerMsg: 1 } });
    const a = m.elect("a");
    for (let i = 0; i < 10; i++) a.propose([enc(`p${i}`)]);
    m.pump("a");
    const toB = m.take((x) => x.type === "append" && x.to === "b") as AppendRequest[];
    expect(toB.map((x) => x.entries.map((e) => e.index))).toEqual([[3], [4], [5]]);
    expect(a.status().peers.find((p) => p.id === "b")).toMatchObject({ state: "replicate", inflight: 3 });
    // b acknowledges the first one: exactly one more goes out.
    m.deliver([toB[0]!]);
    m.deliver(m.take((x) => x.type === "appendResp" && x.from === "b"));
    const next = m.take((x) => x.type === "append" && x.to === "b") as AppendRequest[];
    expect(next.map((x) => x.entries.map((e) => e.index))).toEqual([[6]]);
    m.deliver([...toB.slice(1), ...next]);
    m.flush();
    expect(m.core("b").status().lastIndex).toBe(12);
  });

  it("pipelining also bounds in-flight bytes", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxInflightBytes: 250, maxEntriesPerMsg: 1 } });
    const a = m.elect("a");
    for (let i = 0; i < 10; i++) a.propose([new Uint8Array(100)]);
    m.pump("a");
    // 100 + 100 + 100 >= 250: the third append fills the window.
    expect(m.take((x) => x.type === "append" && x.to === "b")).toHaveLength(3);
    m.take();
  });

  it("batching: one proposal of 100 commands is one append per follower; the size bound splits it", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    const r = a.propose(commands(100));
    expect(r).toMatchObject({ ok: true, firstIndex: 3 });
    m.pump("a");
    const appends = m.take((x) => x.type === "append") as AppendRequest[];
    expect(appends.map((x) => [x.to, x.entries.length]).sort()).toEqual([
      ["b", 100],
      ["c", 100],
    ]);
    const m2 = new Manual({ ids: ["a", "b", "c"], raft: { maxEntriesPerMsg: 32 } });
    m2.elect("a").propose(commands(100));
    m2.pump("a");
    const split = m2.take((x) => x.type === "append" && x.to === "b") as AppendRequest[];
    expect(split.map((x) => x.entries.length)).toEqual([32, 32, 32, 4]);
  });

  it("batching: proposals made while the window is full leave together in one append", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxInflightMsgs: 1 } });
    const a = m.elect("a");
    a.propose([enc("first")]);
    for (let i = 0; i < 50; i++) a.propose([enc(`queued${i}`)]);
    m.pump("a");
    const first = m.take((x) => x.type === "append" && x.to === "b") as AppendRequest[];
    expect(first.map((x) => x.entries.length)).toEqual([1]);
    m.deliver(first);
    m.deliver(m.take((x) => x.type === "appendResp" && x.from === "b"));
    const rest = m.take((x) => x.type === "append" && x.to === "b") as AppendRequest[];
    expect(rest.map((x) => x.entries.length)).toEqual([50]);
    m.take();
  });

  it("the commit index reaches followers on heartbeats, capped at what each follower holds", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    m.cut("a", "c"); // c never gets the new entry
    a.propose([enc("x")]);
    m.pump("a");
    // b gets the entry; the leader commits on b's ack. The follow-up append
    // that would carry the new commit index to b is lost.
    m.deliver(m.take((x) => x.to === "b"));
    m.deliver(m.take((x) => x.type === "appendResp"));
    expect(a.status().commit).toBe(3);
    m.take((x) => x.type === "append");
    expect(m.core("b").status().commit).toBe(2);
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    const beats = m.take((x) => x.type === "heartbeat") as HeartbeatRequest[];
    expect(beats.find((x) => x.to === "b")?.commit).toBe(3);
    expect(beats.find((x) => x.to === "c")?.commit).toBe(2); // c's match is 2
    m.deliver(beats);
    expect(m.core("b").status().commit).toBe(3);
    expect(m.core("c").status().commit).toBe(2);
    m.flush();
    expect(m.core("c").status().commit).toBe(3);
  });

  it("an append lost while the leader is idle is re-sent after the next heartbeat round", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose([enc("lost")]);
    m.pump("a");
    m.take((x) => x.type === "append"); // both appends are lost
    expect(a.status().peers.every((p) => p.state === "replicate" && p.next === 4)).toBe(true);
    // No more proposals come. The heartbeat round must still get the entry out.
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    expect(a.status().commit).toBe(3);
    // Followers learn the new commit index at the latest from the following heartbeat.
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    for (const id of ["b", "c"]) expect(m.appliedData(id)).toEqual(["lost"]);
  });

  it("an appendResp from an older message does not move next backwards", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose(commands(5));
    m.flush();
    const stale: AppendResponse = {
      type: "appendResp",
      from: "b",
      to: "a",
      term: a.status().term,
      reject: true,
      index: 2,
      rejectHint: 1,
      hintTerm: 1,
    };
    m.deliver([stale]);
    expect(a.status().peers.find((p) => p.id === "b")).toMatchObject({
      match: 7,
      next: 8,
      state: "replicate",
    });
  });
});

import { describe, expect, it } from "vitest";
import { Manual, enc } from "./harness.js";

describe("messages that need not wait for the write in flight", () => {
  it("a leader whose write is slow keeps sending heartbeats and appends", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose([enc("slow")]);
    const rd = a.ready(); // its write is "in flight": no advance yet
    expect(rd.entries).toHaveLength(1);
    // Time passes while the disk is busy: heartbeats fall due, and a new proposal arrives.
    for (let i = 0; i < a.config.heartbeatTicks; i++) a.tick();
    a.propose([enc("next")]);
    const early = a.takeEarlyMessages();
    expect(
      early
        .filter((x) => x.type === "heartbeat")
        .map((x) => x.to)
        .sort(),
    ).toEqual(["b", "c"]);
    const appends = early.filter((x) => x.type === "append");
    expect(appends.some((x) => x.entries.some((e) => e.index === rd.entries[0]!.index + 1))).toBe(true);
    // What was taken early is not sent again by the next Ready.
    a.advance(rd);
    const next = a.ready();
    expect(next.messages.filter((x) => x.type === "heartbeat")).toHaveLength(0);
    a.advance(next);
  });

  it("a leader whose write is stuck can still hand leadership on: TimeoutNow leaves early", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose([enc("stuck")]);
    const rd = a.ready(); // a's write never ends
    for (const x of rd.messages) m.queue.push(x);
    m.flush(); // b and c write the entry and acknowledge it
    expect(a.transferLeadership("b")).toEqual({ ok: true });
    const early = a.takeEarlyMessages();
    expect(early.filter((x) => x.type === "timeoutNow")).toMatchObject([{ to: "b", term: a.status().term }]);
    m.deliver(early);
    m.flush();
    expect(m.core("b").status().role).toBe("leader");
  });

  it("a follower answers heartbeats during a slow write only once the term it answers with is durable", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    const b = m.core("b");
    a.propose([enc("x")]);
    m.pump("a");
    m.deliver(m.take((x) => x.to === "b" && x.type === "append"));
    // deliver() pumped b; give it a new Ready to hold: another append.
    a.propose([enc("y")]);
    m.pump("a");
    const appends = m.take((x) => x.to === "b" && x.type === "append");
    for (const x of appends) b.step(x);
    const rd = b.ready(); // b's write of "y" is in flight
    expect(rd.entries.length).toBeGreaterThan(0);
    for (let i = 0; i < a.config.heartbeatTicks; i++) a.tick();
    m.pump("a");
    for (const hb of m.take((x) => x.to === "b" && x.type === "heartbeat")) b.step(hb);
    const early = b.takeEarlyMessages();
    expect(early.map((x) => x.type)).toEqual(["heartbeatResp"]);
    // The append response still waits for the write: it promises the entry is on disk.
    expect(early.some((x) => x.type === "appendResp")).toBe(false);
    expect(rd.messages.some((x) => x.type === "appendResp")).toBe(true);
    b.advance(rd);

    // A heartbeat of a newer term: the answer would carry a term not yet on disk.
    const newer = {
      type: "heartbeat" as const,
      from: "a",
      to: "b",
      term: a.status().term + 1,
      commit: 0,
      readContext: 0,
    };
    b.step(newer);
    expect(b.takeEarlyMessages().filter((x) => x.type === "heartbeatResp")).toHaveLength(0);
    // Once that term is on disk, the answer goes.
    const rdTerm = b.ready();
    expect(rdTerm.hardState?.term).toBe(a.status().term + 1);
    expect(rdTerm.messages.some((x) => x.type === "heartbeatResp")).toBe(true);
    b.advance(rdTerm);
  });
});

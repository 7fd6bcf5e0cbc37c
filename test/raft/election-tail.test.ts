import { describe, expect, it } from "vitest";
import { Manual } from "./harness.js";

/** Tick `id` alone until it starts a PreVote round; returns the ticks it took. */
function tickUntilPreCandidate(m: Manual, id: string): number {
  const c = m.core(id);
  for (let i = 1; i <= 10 * c.config.electionTimeoutMaxTicks; i++) {
    m.tick(id);
    if (c.status().role === "preCandidate") return i;
  }
  throw new Error(`${id} never campaigned`);
}

describe("after the leader dies, one election round is enough", () => {
  it("a PreVote ignored inside a voter's leader lease is asked again each heartbeat, and wins when the lease ends", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { heartbeatTicks: 2 } });
    m.elect("a");
    m.flush();
    m.isolate("a"); // the leader is gone
    const c = m.core("c");
    const b = m.core("b");
    m.tick("c", 4); // c heard from the leader 4 ticks ago: inside its lease
    const before = m.sent.length;
    tickUntilPreCandidate(m, "b");
    m.flush();
    // c ignored b's PreVote (lease): no answer, b waits.
    expect(m.sent.slice(before).filter((x) => x.from === "c")).toEqual([]);
    expect(b.status().role).toBe("preCandidate");
    // The lease ends (c is still a follower or has just started its own round).
    m.tick("c", c.config.electionTimeoutMinTicks - 4);
    m.take((x) => x.from === "c"); // whatever c sent meanwhile is lost
    // One heartbeat later b asks again, and wins: no second election timeout waited.
    m.tick("b", b.config.heartbeatTicks);
    m.flush();
    expect(b.status().role).toBe("leader");
  });

  it("two voters that start PreVote together do not split the vote: the lower id goes ahead", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    m.elect("c");
    m.flush();
    const term = m.core("c").status().term;
    m.isolate("c");
    m.expireLease(["a", "b"]);
    // Both time out before either hears from the other.
    tickUntilPreCandidate(m, "b");
    tickUntilPreCandidate(m, "a");
    m.flush();
    expect(m.core("a").status()).toMatchObject({ role: "leader", term: term + 1 });
    expect(m.core("b").status()).toMatchObject({ role: "follower", leader: "a", term: term + 1 });
    // b was refused by a and never stood: no vote request of its own, so no split.
    expect(m.sent.filter((x) => x.from === "b" && x.type === "vote")).toEqual([]);
  });

  it("a pre-candidate whose round is older than a heartbeat still grants a higher id's PreVote", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { heartbeatTicks: 2 } });
    m.elect("c");
    m.flush();
    m.isolate("c");
    m.expireLease(["a", "b"]);
    tickUntilPreCandidate(m, "a");
    m.take((x) => x.from === "a"); // a's requests are lost
    m.tick("a", 2); // its round is no longer fresh (its re-sent requests are lost too)
    m.take((x) => x.from === "a");
    tickUntilPreCandidate(m, "b");
    m.deliver(m.take((x) => x.from === "b" && x.to === "a"));
    expect(m.take((x) => x.from === "a" && x.type === "preVoteResp")).toMatchObject([
      { to: "b", reject: false },
    ]);
  });
});

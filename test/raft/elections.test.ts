import { describe, expect, it } from "vitest";
import { RaftCore, type VoteRequest, type VoteResponse } from "../../src/raft/index.js";
import { SimCluster } from "../sim/cluster.js";
import { Prng } from "../sim/prng.js";
import { Manual, persistedLog, voterMembers } from "./harness.js";

describe("elections", () => {
  for (const size of [3, 5, 7]) {
    it(`a ${size}-node cluster elects exactly one leader and every node follows it`, () => {
      const c = new SimCluster({ seed: 100 + size, nodes: size });
      const leader = c.waitForLeader(500);
      c.run(30); // heartbeats reach everyone
      const term = leader.core.status().term;
      for (const n of c.nodes.values()) {
        const st = n.core.status();
        expect(st.term).toBe(term);
        expect(st.leader).toBe(leader.id);
        expect(st.role).toBe(n === leader ? "leader" : "follower");
      }
      // The leader's no-op of its term is committed everywhere.
      expect(c.maxCommit()).toBe(2);
    });
  }

  it("a voter grants its vote only to a candidate whose log is at least as up to date as its own", () => {
    const members = voterMembers(["a", "b", "c"]);
    // b's log ends at (index 3, term 2).
    const b = new RaftCore(
      { id: "b", initialMembers: members, random: () => 0, preVote: false },
      persistedLog(members, [2, 2], { term: 2 }),
    );
    const ask = (from: string, term: number, lastLogIndex: number, lastLogTerm: number): VoteResponse => {
      const req: VoteRequest = {
        type: "vote",
        from,
        to: "b",
        term,
        lastLogIndex,
        lastLogTerm,
        transfer: false,
      };
      b.step(req);
      const rd = b.ready();
      b.advance(rd);
      const resp = rd.messages.find((m): m is VoteResponse => m.type === "voteResp");
      if (resp === undefined) throw new Error("no vote response");
      return resp;
    };
    // Lower last term, even with a longer log: rejected.
    expect(ask("a", 3, 10, 1).reject).toBe(true);
    // Same last term, shorter log: rejected.
    expect(ask("a", 4, 2, 2).reject).toBe(true);
    // Same last term, same length: granted, and the vote is durable in the hard state.
    expect(ask("a", 5, 3, 2).reject).toBe(false);
    expect(b.status().vote).toBe("a");
    // Already voted for a in term 5: c is refused in the same term even with a better log.
    expect(ask("c", 5, 9, 4).reject).toBe(true);
    // A higher last term wins in a new term, whatever the length.
    expect(ask("c", 6, 2, 3).reject).toBe(false);
  });

  it("a candidate with a stale log loses; the up-to-date node wins the next election", () => {
    const members = voterMembers(["a", "b", "c"]);
    const m = new Manual({
      ids: ["a", "b", "c"],
      persisted: {
        a: persistedLog(members, [2], { term: 2 }),
        b: persistedLog(members, [2, 2], { term: 2 }),
        c: persistedLog(members, [2, 2], { term: 2 }),
      },
    });
    m.campaign("a");
    expect(m.core("a").status().role).not.toBe("leader");
    expect(m.sentOf("preVoteResp", "a").every((r) => r.reject)).toBe(true);
    const b = m.elect("b");
    expect(b.status().role).toBe("leader");
    // a's log was brought up to date by the new leader.
    expect(m.core("a").status().lastIndex).toBe(b.status().lastIndex);
  });

  it("split votes resolve: two simultaneous candidates, then randomized timeouts pick one", () => {
    const m = new Manual({ ids: ["a", "b", "c", "d"], raft: { preVote: false } });
    // a and b campaign in the same term; c votes for a, d for b: 2-2, nobody wins.
    for (const id of ["a", "b"]) while (m.core(id).status().role !== "candidate") m.tick(id);
    expect(m.core("a").status().role).toBe("candidate");
    expect(m.core("b").status().role).toBe("candidate");
    const term = m.core("a").status().term;
    expect(m.core("b").status().term).toBe(term);
    const reqs = m.take();
    m.deliver(reqs.filter((r) => (r.from === "a" && r.to === "c") || (r.from === "b" && r.to === "d")));
    m.deliver(reqs.filter((r) => r.to === "a" || r.to === "b")); // a and b refuse each other
    m.flush();
    expect(m.core("a").status().role).not.toBe("leader");
    expect(m.core("b").status().role).not.toBe("leader");
    // Then everyone runs on its own randomized timer: someone wins a later term.
    for (let t = 0; t < 200 && ![...m.cores.values()].some((c) => c.status().role === "leader"); t++) {
      m.tickAll();
      m.flush();
    }
    const leaders = [...m.cores.values()].filter((c) => c.status().role === "leader");
    expect(leaders).toHaveLength(1);
    expect(leaders[0]!.status().term).toBeGreaterThan(term);
  });

  it("split votes resolve in a simulated 4-node cluster with an even chance of ties, over many seeds", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new SimCluster({ seed, nodes: 4, raft: { preVote: false } });
      const l = c.waitForLeader(2000);
      expect(l.core.status().role).toBe("leader");
    }
  });

  it("randomized election timeouts fall in [min, max) ticks", () => {
    const min = 10;
    const max = 20;
    const members = voterMembers(["a", "b", "c"]);
    /**
     * Ticks until a lone follower starts each of its next `rounds` campaigns. Without
     * PreVote each campaign is one round of vote requests (a pre-candidate also re-asks
     * every heartbeat, which would blur the count).
     */
    const timeouts = (random: () => number, rounds: number): number[] => {
      const core = new RaftCore({
        id: "a",
        initialMembers: members,
        random,
        electionTimeoutMinTicks: min,
        electionTimeoutMaxTicks: max,
        preVote: false,
      });
      const out: number[] = [];
      let since = 0;
      while (out.length < rounds) {
        core.tick();
        since++;
        const rd = core.ready();
        core.advance(rd);
        if (rd.messages.some((x) => x.type === "vote")) {
          out.push(since);
          since = 0;
        }
      }
      return out;
    };
    expect(timeouts(() => 0, 3)).toEqual([min, min, min]);
    expect(timeouts(() => 0.999999, 3)).toEqual([max - 1, max - 1, max - 1]);
    const rng = new Prng(7);
    const seen = timeouts(() => rng.next(), 400);
    for (const t of seen) {
      expect(t).toBeGreaterThanOrEqual(min);
      expect(t).toBeLessThan(max);
    }
    // Spread over the whole range, not stuck on one value.
    expect(new Set(seen).size).toBe(max - min);
  });

  it("a leader sends heartbeats every heartbeatTicks and nothing in between when idle", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { heartbeatTicks: 3 } });
    m.elect("a");
    const beatsAt: number[] = [];
    for (let t = 1; t <= 30; t++) {
      m.tick("a");
      const out = m.queue.filter((x) => x.from === "a");
      if (out.length > 0) {
        expect(out.map((x) => x.type).sort()).toEqual(["heartbeat", "heartbeat"]);
        expect(out.map((x) => x.to).sort()).toEqual(["b", "c"]);
        beatsAt.push(t);
      }
      m.flush(); // heartbeat responses keep the quorum active
    }
    expect(beatsAt).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    expect(m.core("a").status().role).toBe("leader");
  });
});

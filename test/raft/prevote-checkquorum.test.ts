import { describe, expect, it } from "vitest";
import type { VoteRequest } from "../../src/raft/index.js";
import { SimCluster } from "../sim/cluster.js";
import { Manual } from "./harness.js";

describe("PreVote and CheckQuorum", () => {
  it("a partitioned follower does not grow its term, and cannot depose a healthy leader when it returns", () => {
    const c = new SimCluster({ seed: 11, nodes: 3 });
    const leader = c.waitForLeader();
    const term = leader.core.status().term;
    const f = [...c.nodes.values()].find((n) => n !== leader)!;
    c.isolate(f.id);
    for (let i = 0; i < 20; i++) c.propose(`while-away-${i}`);
    c.run(400); // many election timeouts: it pre-votes again and again, never winning
    expect(f.core.status().term).toBe(term);
    expect(f.core.status().role).toBe("preCandidate");
    c.heal();
    c.run(200);
    expect(c.leader()).toBe(leader);
    expect(leader.core.status().term).toBe(term);
    expect(f.core.status()).toMatchObject({ term, role: "follower", leader: leader.id });
    expect(f.core.status().commit).toBe(leader.core.status().commit);
  });

  it("a leader that hears from no quorum for an election timeout steps down (without bumping its term)", () => {
    const c = new SimCluster({ seed: 12, nodes: 5 });
    const leader = c.waitForLeader();
    const term = leader.core.status().term;
    const min = leader.core.config.electionTimeoutMinTicks;
    c.isolate(leader.id);
    // CheckQuorum looks back one election timeout at a time: gone within two.
    c.run(2 * min);
    expect(leader.core.status()).toMatchObject({ role: "follower", term, leader: null });
    // The majority side elects its own leader.
    const next = c.waitForLeader(500);
    expect(next).not.toBe(leader);
  });

  it("a leader that still hears from a quorum (but not from everyone) stays", () => {
    const c = new SimCluster({ seed: 13, nodes: 5 });
    const leader = c.waitForLeader();
    const term = leader.core.status().term;
    const others = [...c.nodes.keys()].filter((id) => id !== leader.id);
    c.partition([leader.id, others[0]!, others[1]!], [others[2]!, others[3]!]);
    c.run(300);
    expect(c.leader()).toBe(leader);
    expect(leader.core.status().term).toBe(term);
    expect(c.propose("still-leading")).not.toBeNull();
  });

  it("a node that heard from a live leader within the minimum election timeout ignores vote and pre-vote requests", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    m.elect("a");
    const b = m.core("b");
    const term = b.status().term;
    const req = (type: "vote" | "preVote", transfer: boolean): VoteRequest => ({
      type,
      from: "c",
      to: "b",
      term: term + 1,
      lastLogIndex: 1000,
      lastLogTerm: term,
      transfer,
    });
    m.deliver([req("preVote", false), req("vote", false)]);
    // Silently ignored: no answer, no term change, the leader is still known.
    expect(m.take((x) => x.from === "b")).toEqual([]);
    expect(b.status()).toMatchObject({ term, leader: "a", vote: "a" });
    // Still inside the lease one tick before the minimum election timeout.
    m.tick("b", b.config.electionTimeoutMinTicks - 1);
    m.deliver([req("vote", false)]);
    expect(m.take((x) => x.from === "b")).toEqual([]);
    // A leadership transfer's campaign is not a disruption: it is answered even inside the lease.
    m.deliver([req("vote", true)]);
    expect(m.take((x) => x.from === "b")).toMatchObject([
      { type: "voteResp", to: "c", reject: false, term: term + 1 },
    ]);
  });

  it("once a full minimum election timeout passes without the leader, the same request is granted", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { electionTimeoutMinTicks: 10 } });
    m.elect("a");
    const b = m.core("b");
    const term = b.status().term;
    m.isolate("a");
    m.tick("b", 10);
    m.take();
    m.deliver([
      {
        type: "vote",
        from: "c",
        to: "b",
        term: term + 1,
        lastLogIndex: 1000,
        lastLogTerm: term,
        transfer: false,
      },
    ]);
    expect(m.take((x) => x.from === "b" && x.type === "voteResp")).toMatchObject([
      { to: "c", reject: false, term: term + 1 },
    ]);
    expect(b.status()).toMatchObject({ term: term + 1, vote: "c" });
  });

  it("a node cut off from the leader only cannot win a pre-vote while the others hear from the leader", () => {
    const c = new SimCluster({ seed: 14, nodes: 3 });
    const leader = c.waitForLeader();
    const term = leader.core.status().term;
    const [x] = [...c.nodes.keys()].filter((id) => id !== leader.id);
    // Asymmetric: x and the leader cannot talk, x still reaches the third node.
    c.partition([x!], [leader.id]);
    c.run(500);
    expect(c.leader()).toBe(leader);
    expect(leader.core.status().term).toBe(term);
    expect(c.node(x!).core.status().term).toBe(term);
  });

  it("a restarted node (behind, with no leader known) cannot disrupt the cluster", () => {
    const c = new SimCluster({ seed: 15, nodes: 3 });
    const leader = c.waitForLeader();
    const term = leader.core.status().term;
    const f = [...c.nodes.values()].find((n) => n !== leader)!;
    c.crash(f.id);
    for (let i = 0; i < 40; i++) {
      c.propose(`while-down-${i}`);
      c.step();
    }
    c.restart(f.id);
    expect(f.core.status()).toMatchObject({ leader: null, term });
    c.run(300);
    expect(c.leader()).toBe(leader);
    expect(leader.core.status().term).toBe(term);
    expect(f.core.status().commit).toBe(leader.core.status().commit);
  });

  it("with CheckQuorum off, an isolated leader keeps believing it leads (the reason CheckQuorum exists)", () => {
    const c = new SimCluster({ seed: 16, nodes: 3, raft: { checkQuorum: false } });
    const leader = c.waitForLeader();
    c.isolate(leader.id);
    c.run(300);
    expect(leader.core.status().role).toBe("leader");
    // Meanwhile the others elected a newer leader: the checker allowed it because the terms differ.
    const others = [...c.nodes.values()].filter((n) => n !== leader);
    expect(others.some((n) => n.core.status().role === "leader")).toBe(true);
  });
});

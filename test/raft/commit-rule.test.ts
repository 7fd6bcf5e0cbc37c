import { describe, expect, it } from "vitest";
import type { AppendRequest, Message } from "../../src/raft/index.js";
import { SimCluster } from "../sim/cluster.js";
import { Manual, dec, persistedLog, voterMembers } from "./harness.js";

const IDS = ["s1", "s2", "s3", "s4", "s5"];

/**
 * Raft paper, Figure 8, built by hand. After the bootstrap entry (index 1):
 *   s1: [2:t2]  s2: []  s3: []  s4: [2:t3]  s5: [2:t3]   (everyone has seen term 3)
 * s1 was leader in term 2 and appended index 2 locally; s5 was leader in term
 * 3 and got its own index 2 to s4 only. Now s1 is elected in term 4 (s2 and
 * s3 vote for it; s4 and s5 are down), appends its no-op at index 3, and
 * copies index 2 to s2 and s3, which acknowledge it. (s5 has
 * seen term 4 too, so that it can campaign straight into term 5 later.)
 */
function figure8(): Manual {
  const members = voterMembers(IDS);
  const m = new Manual({
    ids: IDS,
    raft: { electionTimeoutMinTicks: 10, electionTimeoutMaxTicks: 20 },
    persisted: {
      s1: persistedLog(members, [2], { term: 3 }),
      s2: persistedLog(members, [], { term: 3 }),
      s3: persistedLog(members, [], { term: 3 }),
      s4: persistedLog(members, [3], { term: 3 }),
      s5: persistedLog(members, [3], { term: 4 }),
    },
  });
  for (const down of ["s4", "s5"]) m.isolate(down);
  // Nothing of term 4 reaches anyone (only the first probes, which are rejected
  // because s2 and s3 lack index 2 and lead s1 to send them index 2 alone).
  m.drop = (x: Message) =>
    x.type === "append" && x.entries.some((e) => e.index >= 3) && m.core(x.to).termAt(2) !== undefined;
  m.elect("s1");
  return m;
}

describe("commitment (Raft paper, Figure 8)", () => {
  it("a leader does not commit an entry of a previous term by counting its replicas", () => {
    const m = figure8();
    const s1 = m.core("s1");
    expect(s1.status()).toMatchObject({ role: "leader", term: 4, lastIndex: 3 });
    // Index 2 (term 2) is now on s1, s2 and s3, a majority of five, and s1 knows it.
    for (const id of ["s1", "s2", "s3"]) expect(m.core(id).termAt(2)).toBe(2);
    const peers = new Map(s1.status().peers.map((p) => [p.id, p.match]));
    expect(peers.get("s2")).toBe(2);
    expect(peers.get("s3")).toBe(2);
    // ...and still it is not committed, nor applied anywhere.
    for (const id of IDS) {
      expect(m.core(id).status().commit).toBe(1);
      expect(m.applied.get(id)).toEqual([]);
    }
  });

  it("because it could still be overwritten: s1 fails, s5 wins term 5 and replaces index 2 everywhere", () => {
    const m = figure8();
    m.drop = () => false;
    m.heal();
    m.isolate("s1"); // s1 crashes
    // s2..s4 stop hearing from s1.
    m.expireLease(["s2", "s3", "s4"]);
    const s5 = m.elect("s5");
    expect(s5.status().term).toBeGreaterThanOrEqual(5);
    m.flush();
    for (const id of ["s2", "s3", "s4", "s5"]) {
      expect(m.core(id).termAt(2)).toBe(3);
      expect(m.core(id).status().commit).toBe(s5.status().lastIndex);
      expect(dec(m.applied.get(id)!.find((e) => e.index === 2)!.data)).toBe("x2@3");
    }
  });

  it("once an entry of the leader's own term reaches a majority, the older entries before it commit too", () => {
    const m = figure8();
    m.drop = () => false;
    const s1 = m.core("s1");
    // Replication resumes (the next heartbeat round or proposal would do it).
    m.tick("s1", s1.config.heartbeatTicks);
    m.flush();
    expect(s1.status().commit).toBe(3);
    expect(m.applied.get("s1")!.map((e) => [e.index, e.term])).toEqual([
      [2, 2],
      [3, 4],
    ]);
    // Now s5 can no longer win: a majority holds a log newer than its own.
    m.heal();
    m.isolate("s1");
    m.expireLease(["s2", "s3", "s4"]);
    m.campaign("s5");
    expect(m.core("s5").status().role).not.toBe("leader");
  });
});

describe("a stale leader rejoining", () => {
  it("steps down on its return and its uncommitted entries are replaced by the new leader's", () => {
    // CheckQuorum off so the old leader still believes it leads when it comes back.
    const c = new SimCluster({ seed: 21, nodes: 5, raft: { checkQuorum: false } });
    const old = c.waitForLeader();
    c.propose("before");
    c.run(20);
    const oldTerm = old.core.status().term;
    c.isolate(old.id);
    const stale: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = old.core.propose([new TextEncoder().encode(`stale-${i}`)]);
      if (r.ok) stale.push(r.firstIndex);
    }
    expect(stale).toHaveLength(3);
    c.run(300);
    const neo = c.leader()!;
    expect(neo).not.toBe(old);
    expect(old.core.status().role).toBe("leader"); // still, in its old term
    for (let i = 0; i < 5; i++) c.propose(`fresh-${i}`);
    expect(c.runUntil(() => neo.core.status().commit >= neo.core.status().lastIndex, 200)).toBe(true);

    c.heal();
    c.run(100);
    const st = old.core.status();
    expect(st.role).toBe("follower");
    expect(st.term).toBeGreaterThan(oldTerm);
    expect(st.leader).toBe(neo.id);
    // Its tail now is the new leader's, entry for entry.
    for (const i of stale) expect(old.core.entryAt(i)).toEqual(neo.core.entryAt(i));
    for (const n of c.nodes.values()) {
      for (let i = n.core.firstLogIndex(); i <= n.core.status().lastIndex; i++) {
        expect(dec(n.core.entryAt(i)!.data)).not.toMatch(/^stale-/);
      }
      expect(n.core.status().commit).toBe(neo.core.status().commit);
    }
  });

  it("a stale leader's appends are refused with the newer term, which deposes it", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { checkQuorum: false } });
    m.elect("a");
    m.isolate("a");
    m.expireLease(["c"]);
    const b = m.elect("b");
    expect(b.status().role).toBe("leader");
    m.core("a").propose([new TextEncoder().encode("stale")]);
    m.pump("a");
    const appends = m.take((x) => x.from === "a") as AppendRequest[];
    m.heal();
    m.deliver(appends);
    const refusals = m.queue.filter((x) => x.type === "appendResp" && x.to === "a");
    expect(refusals.length).toBe(2);
    expect(refusals.every((x) => x.type === "appendResp" && x.reject && x.term === b.status().term)).toBe(
      true,
    );
    m.flush();
    expect(m.core("a").status()).toMatchObject({ role: "follower", term: b.status().term });
  });
});

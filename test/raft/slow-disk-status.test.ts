import { describe, expect, it } from "vitest";
import { SimCluster } from "../sim/cluster.js";
import { Manual, enc } from "./harness.js";

describe("a slow disk on the leader", () => {
  it("progress continues (the followers' quorum commits while the leader's fsync lags) and safety holds", () => {
    const c = new SimCluster({ seed: 61, nodes: 3, thoroughEvery: 5 });
    const l = c.waitForLeader();
    l.diskDelayTicks = 8;
    const indexes: number[] = [];
    for (let i = 0; i < 120; i++) {
      const idx = c.propose(`slow-${i}`);
      if (idx !== null) indexes.push(idx);
      c.step();
      // The leader keeps leading: its appends go out before its own write completes.
      expect(c.leader()).toBe(l);
    }
    expect(indexes).toHaveLength(120);
    const last = indexes[indexes.length - 1]!;
    // Followers hold everything and the commit index moves without waiting on the leader's disk.
    expect(c.runUntil(() => l.core.status().commit >= last, 100)).toBe(true);
    c.run(40);
    for (const n of c.nodes.values()) {
      expect(n.core.status().applied).toBe(l.core.status().commit);
      expect(n.app.hash()).toBe(l.app.hash());
    }
    expect(c.checker.checks).toBeGreaterThan(120);
  });

  it("a leader whose disk is slow and then crashes loses nothing that was committed", () => {
    const c = new SimCluster({ seed: 62, nodes: 3 });
    const l = c.waitForLeader();
    l.diskDelayTicks = 20;
    for (let i = 0; i < 30; i++) {
      c.propose(`p${i}`);
      c.step();
    }
    const committed = c.maxCommit();
    expect(committed).toBeGreaterThan(2);
    c.crash(l.id); // its unsynced tail is gone
    const neo = c.waitForLeader(500);
    expect(neo).not.toBe(l);
    c.restart(l.id);
    c.run(200);
    for (const n of c.nodes.values()) expect(n.core.status().commit).toBeGreaterThanOrEqual(committed);
    expect(l.app.hash()).toBe(neo.app.hash());
  });
});

describe("status()", () => {
  it("reports role, term, leader, commit, applied and, on the leader, per-peer match/next/lastContactTick", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const before = m.core("b").status();
    expect(before).toMatchObject({ id: "b", role: "follower", term: 0, leader: null, commit: 1, applied: 1 });
    expect(before.peers).toEqual([]);
    const a = m.elect("a");
    a.propose([enc("1"), enc("2"), enc("3")]);
    m.flush();
    m.cut("a", "c");
    a.propose([enc("4")]);
    m.flush();
    const t0 = a.status().tick;
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    const st = a.status();
    expect(st).toMatchObject({
      id: "a",
      role: "leader",
      term: 1,
      vote: "a",
      leader: "a",
      commit: 6,
      applied: 6,
      lastIndex: 6,
      snapshotIndex: 1,
      leadTransferee: null,
    });
    expect(st.tick).toBe(t0 + a.config.heartbeatTicks);
    const peers = new Map(st.peers.map((p) => [p.id, p]));
    expect([...peers.keys()].sort()).toEqual(["b", "c"]);
    expect(peers.get("b")).toMatchObject({
      role: "voter",
      address: "b:7700",
      match: 6,
      next: 7,
      state: "replicate",
      lastContactTick: st.tick,
      inflight: 0,
    });
    // c is cut off from a's messages: it last answered before the cut.
    const c = peers.get("c")!;
    expect(c.match).toBe(5);
    expect(c.lastContactTick).toBeLessThan(st.tick);
    expect(c.lastContactTick).toBeGreaterThanOrEqual(0);
    // Followers know the leader, their own commit and applied; they report no peers.
    expect(m.core("b").status()).toMatchObject({
      role: "follower",
      leader: "a",
      term: 1,
      commit: 6,
      applied: 6,
    });
    expect(m.core("b").status().peers).toEqual([]);
  });
});

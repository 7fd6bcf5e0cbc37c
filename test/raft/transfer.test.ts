import { describe, expect, it } from "vitest";
import { SimCluster } from "../sim/cluster.js";
import { Manual, enc } from "./harness.js";

describe("leadership transfer", () => {
  it("to a caught-up voter: TimeoutNow at once, it campaigns without PreVote and wins the next term", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose([enc("x")]);
    m.flush();
    const term = a.status().term;
    expect(a.transferLeadership("b")).toEqual({ ok: true });
    m.pump("a");
    expect(m.queue.filter((x) => x.from === "a")).toMatchObject([{ type: "timeoutNow", to: "b", term }]);
    m.flush();
    expect(m.core("b").status()).toMatchObject({ role: "leader", term: term + 1 });
    expect(a.status()).toMatchObject({ role: "follower", leader: "b", term: term + 1 });
    const campaign = m.sent.filter((x) => x.from === "b" && (x.type === "vote" || x.type === "preVote"));
    expect(campaign.every((x) => x.type === "vote" && x.transfer)).toBe(true);
    expect(campaign).toHaveLength(2);
  });

  it("to a lagging voter: the leader first brings it up to date, then sends TimeoutNow", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    m.cut("a", "c");
    for (let i = 0; i < 20; i++) a.propose([enc(`e${i}`)]);
    m.flush();
    const last = a.status().lastIndex;
    expect(m.core("c").status().lastIndex).toBeLessThan(last);
    m.heal();
    expect(a.transferLeadership("c")).toEqual({ ok: true });
    m.pump("a");
    expect(m.queue.some((x) => x.type === "timeoutNow")).toBe(false);
    m.flush();
    const c = m.core("c");
    expect(c.status().role).toBe("leader");
    for (let i = 3; i <= last; i++) expect(c.entryAt(i)).toEqual(a.entryAt(i));
    // TimeoutNow went out only after c acknowledged the leader's last index.
    const order = m.sent.filter((x) => x.from === "a" || x.to === "a").map((x) => x.type);
    const tn = order.indexOf("timeoutNow");
    expect(tn).toBeGreaterThan(0);
    expect(m.sentOf("timeoutNow")).toHaveLength(1);
  });

  it("is abandoned after an election timeout when the target is down; the leader then accepts proposals again", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    const term = a.status().term;
    m.isolate("c");
    a.propose([enc("c misses this")]);
    m.flush();
    expect(a.transferLeadership("c")).toEqual({ ok: true });
    expect(a.status().leadTransferee).toBe("c");
    expect(a.propose([enc("refused")])).toMatchObject({ ok: false, reason: "transferring" });
    for (let t = 0; t < a.config.electionTimeoutMinTicks; t++) {
      m.tick("a");
      m.flush();
    }
    expect(a.status()).toMatchObject({ role: "leader", term, leadTransferee: null });
    expect(a.propose([enc("accepted")]).ok).toBe(true);
  });

  it("cannot target a non-voter; transferring to itself is a no-op; a follower cannot transfer", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    expect(a.transferLeadership("zz")).toMatchObject({ ok: false });
    expect(a.transferLeadership("a")).toEqual({ ok: true });
    expect(a.status().leadTransferee).toBeNull();
    expect(m.core("b").transferLeadership("c")).toMatchObject({ ok: false });
  });

  it("under load: proposals every tick, the transfer completes and no acknowledged entry is lost", () => {
    const c = new SimCluster({ seed: 51, nodes: 5 });
    const old = c.waitForLeader();
    const target = [...c.nodes.values()].find((n) => n !== old)!;
    const accepted: { index: number; term: number; data: string }[] = [];
    const proposeSome = (k: number): void => {
      const l = c.leader();
      if (l === undefined) return;
      for (let i = 0; i < 3; i++) {
        const data = `load-${k}-${i}`;
        const r = l.core.propose([enc(data)]);
        if (r.ok) accepted.push({ index: r.firstIndex, term: r.term, data });
      }
    };
    for (let k = 0; k < 50; k++) {
      proposeSome(k);
      c.step();
    }
    old.core.transferLeadership(target.id);
    let k = 50;
    const done = c.runUntil(() => {
      proposeSome(k++);
      return c.leader() === target;
    }, 200);
    expect(done).toBe(true);
    for (let i = 0; i < 50; i++) {
      proposeSome(k++);
      c.step();
    }
    c.run(50);
    // Everything proposed was acknowledged as an entry of some term; every entry of the
    // new leader's term and everything committed before the transfer is there.
    const l = c.leader()!;
    expect(l).toBe(target);
    const commit = l.core.status().commit;
    const committedAccepted = accepted.filter((p) => p.index <= commit && l.core.termAt(p.index) === p.term);
    expect(committedAccepted.length).toBeGreaterThan(300);
    for (const p of accepted.filter((x) => x.term === l.core.status().term))
      expect(new TextDecoder().decode(l.core.entryAt(p.index)!.data)).toBe(p.data);
  });
});

import { describe, expect, it } from "vitest";
import { RaftCore } from "../../src/raft/index.js";
import { Manual, enc, persistedLog, voterMembers } from "./harness.js";

describe("ReadIndex", () => {
  it("on the leader: answered with the commit index after a heartbeat round confirms leadership", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose([enc("x"), enc("y")]);
    m.flush();
    const commit = a.status().commit;
    a.readIndex(1);
    m.pump("a");
    expect(m.readStates.get("a")).toEqual([]); // not before a quorum answers
    const beats = m.queue.filter((x) => x.type === "heartbeat");
    expect(beats).toHaveLength(2);
    expect(beats.every((x) => x.type === "heartbeat" && x.readContext > 0)).toBe(true);
    m.flush();
    expect(m.readStates.get("a")).toEqual([{ requestId: 1, index: commit }]);
  });

  it("one answer from a quorum is enough; the slowest follower is not waited for", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    m.isolate("c");
    a.readIndex(9);
    m.flush();
    expect(m.readStates.get("a")).toEqual([{ requestId: 9, index: a.status().commit }]);
  });

  it("through a follower: forwarded to the leader, answered with the leader's commit index", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    a.propose([enc("x")]);
    m.flush();
    m.core("b").readIndex(7);
    m.flush();
    expect(m.sentOf("readIndex", "a")).toMatchObject([{ from: "b", requestId: 7 }]);
    expect(m.readStates.get("b")).toEqual([{ requestId: 7, index: a.status().commit }]);
  });

  it("a new leader answers only once an entry of its own term is committed", () => {
    // Index 2 (term 2) may or may not be committed: the new leader of term 3 cannot know yet.
    const members = voterMembers(["a", "b", "c"]);
    const m = new Manual({
      ids: ["a", "b", "c"],
      persisted: Object.fromEntries(
        ["a", "b", "c"].map((id) => [id, persistedLog(members, [2], { term: 2 })]),
      ),
    });
    m.drop = (x) => x.type === "appendResp"; // a's no-op stays uncommitted
    m.campaign("a");
    const a = m.core("a");
    expect(a.status().role).toBe("leader");
    expect(a.status().commit).toBeLessThan(a.status().lastIndex);
    a.readIndex(3);
    m.pump("a");
    expect(m.queue.some((x) => x.type === "heartbeat" && x.readContext > 0)).toBe(false);
    m.flush();
    expect(m.readStates.get("a")).toEqual([]);
    m.drop = () => false;
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    expect(a.status()).toMatchObject({ term: 3, commit: 3 });
    expect(m.readStates.get("a")).toEqual([{ requestId: 3, index: 3 }]);
  });

  it("refused (-1) when no leader is known", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    m.core("b").readIndex(4);
    m.pump("b");
    expect(m.readStates.get("b")).toEqual([{ requestId: 4, index: -1 }]);
  });

  it("a single-voter cluster answers at once", () => {
    const core = new RaftCore({ id: "solo", initialMembers: voterMembers(["solo"]), random: () => 0 });
    for (let i = 0; i < 40 && core.status().role !== "leader"; i++) {
      core.tick();
      core.advance(core.ready());
    }
    while (core.hasReady()) core.advance(core.ready());
    core.readIndex(1);
    const rd = core.ready();
    expect(rd.readStates).toEqual([{ requestId: 1, index: 2 }]);
    core.advance(rd);
  });

  it("an isolated stale leader cannot serve a read: it fails it (-1) when it steps down", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    m.isolate("a");
    a.readIndex(11);
    m.flush();
    // The rest elect a new leader and commit a write the stale leader never sees.
    m.expireLease(["b", "c"]);
    const b = m.elect("b");
    b.propose([enc("newer write")]);
    m.flush();
    expect(m.readStates.get("a")).toEqual([]);
    for (let t = 0; t < 2 * a.config.electionTimeoutMinTicks && a.status().role === "leader"; t++) {
      m.tick("a");
      m.flush();
    }
    expect(a.status().role).not.toBe("leader");
    expect(m.readStates.get("a")).toEqual([{ requestId: 11, index: -1 }]);
  });

  it("a follower's forwarded read fails (-1) when the leader it asked has lost leadership", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    m.elect("a");
    m.isolate("c");
    // b's request reaches a, but a's heartbeats no longer reach b: a cannot confirm its leadership.
    m.drop = (x) => x.from === "a" && x.to === "b" && x.type === "heartbeat";
    m.core("b").readIndex(5);
    m.flush();
    expect(m.readStates.get("b")).toEqual([]);
    const a = m.core("a");
    for (let t = 0; t < 2 * a.config.electionTimeoutMinTicks && a.status().role === "leader"; t++) {
      m.tick("a");
      m.flush();
    }
    expect(a.status().role).not.toBe("leader");
    expect(m.readStates.get("b")).toEqual([{ requestId: 5, index: -1 }]);
  });
});

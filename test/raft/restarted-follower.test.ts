import { describe, expect, it } from "vitest";
import { Manual, enc } from "./harness.js";

const settle = (m: Manual, leader: string, rounds: number): void => {
  for (let i = 0; i < rounds; i++) {
    m.tick(leader, m.core(leader).config.heartbeatTicks);
    m.flush();
  }
};

describe("a follower that restarts", () => {
  it("with a wiped disk: does not crash on the leader's commit index, and is caught up while the leader is idle", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    for (let i = 0; i < 20; i++) a.propose([enc(`before${i}`)]);
    m.flush();
    const last = a.status().lastIndex;
    expect(m.core("c").status().lastIndex).toBe(last);

    // c comes back with nothing on disk. The leader still believes match = last.
    const c = m.restart("c");
    expect(c.status().lastIndex).toBeLessThan(last);
    // No proposal: heartbeats alone must reveal the loss and repair c.
    expect(() => settle(m, "a", 3)).not.toThrow();
    expect(c.status().lastIndex).toBe(last);
    expect(c.status().commit).toBe(a.status().commit);
    expect(m.appliedData("c")).toEqual(Array.from({ length: 20 }, (_, i) => `before${i}`));
    // And the cluster goes on: c acknowledges new entries again.
    a.propose([enc("after")]);
    m.flush();
    expect(m.appliedData("c").at(-1)).toBe("after");
  });

  it("whose in-flight appends were lost with a full window: is probed again after a heartbeat interval", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { maxInflightMsgs: 2 } });
    const a = m.elect("a");
    // Two appends to c, both lost: c's window (2 messages) is full, and c never answers them.
    a.propose([enc("p0")]);
    m.pump("a");
    a.propose([enc("p1")]);
    m.pump("a");
    expect(m.take((x) => x.type === "append" && x.to === "c")).toHaveLength(2);
    m.flush();
    for (let i = 2; i < 10; i++) a.propose([enc(`p${i}`)]);
    m.flush();
    expect(a.status().commit).toBeGreaterThan(m.core("c").status().lastIndex); // b and a commit without c
    // Heartbeats: c answers them, so it is live, but the window never drains by itself.
    settle(m, "a", 3);
    expect(m.core("c").status().lastIndex).toBe(a.status().lastIndex);
    expect(m.appliedData("c")).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`));
  });
});

import { describe, expect, it } from "vitest";
import { Manual, dec, enc } from "./harness.js";

describe("a node whose application takes no committed entries (ReadyOptions.takeCommitted false)", () => {
  it("still persists, acknowledges and answers heartbeats; the leader commits with such followers", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    m.flush();
    const appliedBefore = { b: m.applied.get("b")!.length, c: m.applied.get("c")!.length };
    const appliedIndex = { b: m.core("b").status().applied, c: m.core("c").status().applied };
    m.applyPaused.add("b");
    m.applyPaused.add("c");

    const res = a.propose([enc("x1"), enc("x2"), enc("x3")]);
    expect(res.ok).toBe(true);
    m.flush();
    const last = a.status().lastIndex;
    expect(a.status().commit).toBe(last); // committed through the paused followers
    for (const id of ["b", "c"] as const) {
      const st = m.core(id).status();
      expect(st.lastIndex).toBe(last); // persisted
      expect(st.commit).toBe(last); // and knows it is committed
      expect(st.applied).toBe(appliedIndex[id]); // but nothing more handed out to apply
      expect(m.applied.get(id)!.length).toBe(appliedBefore[id]);
      expect(m.core(id).hasReady({ takeCommitted: false })).toBe(false);
      expect(m.core(id).hasReady()).toBe(true);
    }

    // Heartbeats are answered as usual.
    const sentBefore = m.sent.length;
    m.tick("a", 10);
    m.flush();
    const answers = m.sent.slice(sentBefore).filter((x) => x.type === "heartbeatResp");
    expect(new Set(answers.map((x) => x.from))).toEqual(new Set(["b", "c"]));
    expect(a.isLeader()).toBe(true);

    // Unpaused, b takes the committed entries, in order.
    m.applyPaused.delete("b");
    m.pump("b");
    const taken = m.applied
      .get("b")!
      .slice(appliedBefore.b)
      .map((e) => dec(e.data));
    expect(taken).toEqual(["x1", "x2", "x3"]);
    expect(m.core("b").status().applied).toBe(last);
    expect(m.core("c").status().applied).toBe(appliedIndex.c);
  });
});

// LeaderWatch: which leader changes the replica reacts to (log, queued proposals) and which
// it counts as a new leadership (raftq_raft_leader_changes_total).
import { describe, expect, it } from "vitest";
import { LeaderWatch } from "../../src/node/leader-watch.js";

describe("LeaderWatch", () => {
  it("sees the first leader as a change and a new leadership, and nothing while it stays", () => {
    const w = new LeaderWatch();
    expect(w.observe(null, 0)).toEqual({ changed: false, newLeadership: false });
    expect(w.observe("n1", 1)).toEqual({ changed: true, newLeadership: true });
    expect(w.observe("n1", 1)).toEqual({ changed: false, newLeadership: false });
  });

  it("losing the leader and finding it again in the same term is a change but no new leadership", () => {
    const w = new LeaderWatch();
    w.observe("n1", 1);
    expect(w.observe(null, 1)).toEqual({ changed: true, newLeadership: false });
    expect(w.observe("n1", 1)).toEqual({ changed: true, newLeadership: false });
  });

  it("a new leader, or the same one in a later term, is a new leadership", () => {
    const w = new LeaderWatch();
    w.observe("n1", 1);
    w.observe(null, 2);
    expect(w.observe("n2", 2)).toEqual({ changed: true, newLeadership: true });
    w.observe(null, 3);
    expect(w.observe("n2", 4)).toEqual({ changed: true, newLeadership: true });
  });
});

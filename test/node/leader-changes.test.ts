// raftq_raft_leader_changes_total counts the leaderships (a leader in a term) a node learns
// of. A follower that loses touch with its leader and finds the same one again (its PreVote
// round failed, the term did not move) saw no change: counted, such blips made a healthy
// cluster look like it was electing (the benchmark's "leader changes" and the alert in
// docs/operations.md).
import { describe, expect, it } from "vitest";
import { clustersStoppedAfterEach, type InProcessCluster, type InProcessNode } from "./in-process-cluster.js";

const changes = async (n: InProcessNode): Promise<number> =>
  (await n.metrics!.leaderChanges.get()).values[0]?.value ?? 0;

/**
 * Waits until every node's count is `expected`: a node learns of a leader in its Raft core
 * first and counts it when it next handles a Ready, so `leaderId()` can be ahead of the metric.
 * Fails at once if a count goes past `expected`. With `holdMs`, the counts must then stay
 * there that long (for "counted not at all": a blip would be counted within a few Readys).
 */
async function expectChanges(c: InProcessCluster, expected: number, holdMs = 0): Promise<void> {
  const deadline = Date.now() + 2000;
  let steadySince: number | null = null;
  for (;;) {
    const counts = await Promise.all(c.nodes.map(changes));
    if (counts.some((n) => n > expected)) expect(counts).toEqual(counts.map(() => expected));
    const all = counts.every((n) => n === expected);
    steadySince = all ? (steadySince ?? Date.now()) : null;
    if (steadySince !== null && Date.now() - steadySince >= holdMs) return;
    if (Date.now() > deadline) expect(counts).toEqual(counts.map(() => expected));
    await new Promise((r) => setTimeout(r, 5));
  }
}

function cutAll(c: InProcessCluster, id: string, direction: "to" | "from"): void {
  for (const n of c.nodes) {
    if (n.id !== id) c.net.cut.add(direction === "to" ? `${n.id}>${id}` : `${id}>${n.id}`);
  }
}

describe("the leader-changes metric", () => {
  const clusters = clustersStoppedAfterEach();

  it("counts each new leadership once on every node, and a follower's failed PreVote round not at all", async () => {
    const c = await clusters.start({ metrics: true });
    const leader = c.leader()!;
    await c.waitFor(
      () => c.nodes.every((n) => n.replica.leaderId() === leader.id),
      2000,
      "all to know the leader",
    );
    await expectChanges(c, 1);
    const term = leader.replica.core.status().term;

    // A follower stops hearing the leader: it loses its leader and asks for PreVotes, which the
    // others refuse (they hear the leader). Then it hears the leader again, same term.
    const lonely = c.followers()[0]!;
    cutAll(c, lonely.id, "to");
    await c.waitFor(() => lonely.replica.leaderId() === null, 2000, "the follower to lose its leader");
    c.net.cut.clear();
    await c.waitFor(
      () => lonely.replica.leaderId() === leader.id,
      2000,
      "the follower to find the leader again",
    );
    expect(lonely.replica.core.status().term).toBe(term);
    expect(leader.replica.isLeader()).toBe(true);
    await expectChanges(c, 1, 200);

    // The leader is cut off: the others elect a new one in a later term; once healed, the old
    // leader learns of it too. One change on every node.
    cutAll(c, leader.id, "from");
    cutAll(c, leader.id, "to");
    await c.waitFor(
      () => c.nodes.some((n) => n.id !== leader.id && n.replica.isLeader()),
      3000,
      "a new leader among the others",
    );
    const next = c.nodes.find((n) => n.id !== leader.id && n.replica.isLeader())!;
    c.net.cut.clear();
    await c.waitFor(
      () => c.nodes.every((n) => n.replica.leaderId() === next.id),
      3000,
      "all to know the new leader",
    );
    expect(next.replica.core.status().term).toBeGreaterThan(term);
    await expectChanges(c, 2);
  });
});

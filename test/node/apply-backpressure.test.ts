// A node whose apply queue is full stops taking committed entries, and only them: it
// goes on persisting, acknowledging and answering heartbeats. When both followers of
// a 3-node cluster cannot apply (say both replay a long log after a restart), the
// leader must keep its quorum and go on committing.
import { describe, expect, it } from "vitest";
import { clustersStoppedAfterEach } from "./in-process-cluster.js";

const command = (i: number) => new TextEncoder().encode(`c${i}`);

describe("apply backpressure", () => {
  const clusters = clustersStoppedAfterEach();

  it("followers that cannot apply still acknowledge: the leader keeps its quorum and commits", async () => {
    const c = await clusters.start({ applyPauseItems: 20, snapshotThreshold: 5 });
    const leader = c.leader()!;
    const term = leader.replica.core.status().term;
    const followers = c.followers();
    for (const f of followers) f.machine.holdCopy = true;
    // Enough entries for a snapshot on every node; the followers' stay in their
    // copying phase (each starts in its own turn, within 3 s), which holds their apply.
    for (let i = 0; i < 10; i++) await leader.replica.propose(command(i));
    await c.waitFor(
      () => followers.every((f) => f.machine.snapshotsStarted > 0),
      10_000,
      "followers' snapshots",
    );
    const heldAt = followers.map((f) => f.machine.appliedIndex);

    // Far more than the followers' apply queues hold (20 entries), one at a time.
    const results: unknown[] = [];
    for (let i = 10; i < 200; i++) results.push(await leader.replica.propose(command(i)));
    expect(results[results.length - 1]).toBe(200); // the leader applied every one

    const st = leader.replica.core.status();
    expect(leader.replica.isLeader()).toBe(true);
    expect(st.term).toBe(term);
    for (const f of followers) {
      // Nothing more applied there, yet every entry is in the follower's log.
      expect(f.machine.appliedIndex).toBe(heldAt[followers.indexOf(f)]);
      expect(f.replica.core.status().lastIndex).toBe(st.lastIndex);
      expect(st.peers.find((p) => p.id === f.id)!.match).toBe(st.lastIndex);
    }

    // Released, the followers apply everything the leader did.
    for (const f of followers) f.machine.holdCopy = false;
    await c.waitFor(
      () => followers.every((f) => f.machine.commands === leader.machine.commands),
      10_000,
      "followers to catch up",
    );
    expect(leader.replica.isLeader()).toBe(true);
    expect(leader.replica.core.status().term).toBe(term);
  });
});

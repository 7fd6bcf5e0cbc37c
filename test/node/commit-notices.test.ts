// The node runs its core with commitNoticeOnTick: at one request in flight the next
// request's append tells the followers about the previous commit, instead of an empty
// append of its own (and its answer) per request. Counted on three in-process replicas.
import { describe, expect, it } from "vitest";
import { clustersStoppedAfterEach, type InProcessCluster } from "./in-process-cluster.js";

/** Proposals one at a time for 500 ms; the empty appends delivered meanwhile. */
async function oneInFlight(c: InProcessCluster) {
  const leader = c.leader()!;
  await leader.replica.propose(new Uint8Array(8)); // settle after the election
  c.net.deliveredByType.clear();
  let requests = 0;
  const deadline = Date.now() + 500;
  while (Date.now() < deadline) {
    await leader.replica.propose(new Uint8Array(8));
    requests++;
  }
  const count = (type: string) => c.net.deliveredByType.get(type) ?? 0;
  return { requests, empty: count("append(empty)") };
}

describe("commit notices at one request in flight", () => {
  const clusters = clustersStoppedAfterEach();

  it("etcd's way: an empty append to each follower per request", async () => {
    const c = await clusters.start({ raft: { commitNoticeOnTick: false } });
    const r = await oneInFlight(c);
    expect(r.requests).toBeGreaterThan(20);
    expect(r.empty).toBeGreaterThanOrEqual(2 * (r.requests - 1));
  });

  it("with commitNoticeOnTick: the next append carries it; empty appends only on ticks", async () => {
    const c = await clusters.start({ raft: { commitNoticeOnTick: true } });
    const r = await oneInFlight(c);
    expect(r.requests).toBeGreaterThan(20);
    // At most one notice per follower per tick (5 ms): ~200 in 500 ms, whatever the rate.
    expect(r.empty).toBeLessThanOrEqual(2 * (500 / 5 + 2));
    expect(r.empty).toBeLessThan(r.requests);
    // Every follower still applies everything, a tick later at most.
    const last = c.leader()!.machine.appliedIndex;
    await c.waitFor(() => c.nodes.every((n) => n.machine.appliedIndex >= last), 2000, "followers to apply");
  });
});

// The leader's replication round trip to each peer (raftq_peer_append_round_trip_seconds):
// one append per peer timed at a time, from leaving the leader until the peer acknowledges
// its last entry. Specs of PeerRoundTrips, then three in-process replicas whose followers'
// disks are held for a known time.
import { describe, expect, it } from "vitest";
import type { Entry, Message, NodeId } from "../../src/raft/index.js";
import { EntryType } from "../../src/raft/index.js";
import { PeerRoundTrips } from "../../src/node/peer-round-trips.js";
import { MemoryStorage, type RaftStorage, type WriteBatch } from "../../src/storage/index.js";
import { clustersStoppedAfterEach } from "./in-process-cluster.js";

const entry = (index: number): Entry => ({ index, term: 2, type: EntryType.Normal, data: new Uint8Array(1) });
const append = (to: NodeId, first: number, last: number, term = 2): Message => ({
  type: "append",
  from: "n1",
  to,
  term,
  prevIndex: first - 1,
  prevTerm: 2,
  entries: Array.from({ length: last - first + 1 }, (_, i) => entry(first + i)),
  commit: 0,
});
const ack = (from: NodeId, index: number, o: { reject?: boolean; term?: number } = {}): Message => ({
  type: "appendResp",
  from,
  to: "n1",
  term: o.term ?? 2,
  reject: o.reject ?? false,
  index,
  rejectHint: 0,
  hintTerm: 0,
});

function recorder(maxAgeMs?: number): { rt: PeerRoundTrips; seen: [NodeId, number][] } {
  const seen: [NodeId, number][] = [];
  return { rt: new PeerRoundTrips((peer, s) => seen.push([peer, s]), maxAgeMs), seen };
}

describe("PeerRoundTrips", () => {
  it("times an append from sending until the peer acknowledges its last entry", () => {
    const { rt, seen } = recorder();
    rt.sent([append("n2", 5, 7), append("n3", 5, 7)], 1000);
    rt.received(ack("n2", 6), 1002); // an earlier index: not this append yet
    rt.received(ack("n2", 7), 1004);
    rt.received(ack("n3", 9), 1010); // past it: covers it
    expect(seen).toEqual([
      ["n2", 0.004],
      ["n3", 0.01],
    ]);
    expect(rt.size).toBe(0);
  });

  it("times one append per peer at a time: later appends do not restart the clock", () => {
    const { rt, seen } = recorder();
    rt.sent([append("n2", 1, 1)], 0);
    rt.sent([append("n2", 2, 2)], 3);
    rt.received(ack("n2", 2), 5);
    expect(seen).toEqual([["n2", 0.005]]);
    rt.received(ack("n2", 3), 6); // no probe left: nothing
    expect(seen.length).toBe(1);
  });

  it("starts nothing on heartbeats or appends without entries, and ignores other messages", () => {
    const { rt, seen } = recorder();
    const heartbeat: Message = {
      type: "heartbeat",
      from: "n1",
      to: "n2",
      term: 2,
      commit: 0,
      readContext: 0,
    };
    const empty = append("n2", 1, 1);
    rt.sent([heartbeat, { ...(empty as Extract<Message, { type: "append" }>), entries: [] }], 0);
    expect(rt.size).toBe(0);
    rt.received(ack("n2", 5), 1);
    rt.received(
      { type: "heartbeatResp", from: "n2", to: "n1", term: 2, readContext: 0, logEndIfBehind: -1 },
      2,
    );
    expect(seen).toEqual([]);
  });

  it("drops the probe without a sample when the peer refuses or answers in another term", () => {
    const { rt, seen } = recorder();
    rt.sent([append("n2", 4, 4), append("n3", 4, 4)], 0);
    rt.received(ack("n2", 3, { reject: true }), 1);
    rt.received(ack("n3", 4, { term: 3 }), 1);
    expect(seen).toEqual([]);
    expect(rt.size).toBe(0);
  });

  it("replaces a probe in a new term, or one older than maxAgeMs (its append was lost)", () => {
    const { rt, seen } = recorder(100);
    rt.sent([append("n2", 1, 1)], 0);
    rt.sent([append("n2", 2, 2, 3)], 10); // new term
    rt.received(ack("n2", 2, { term: 3 }), 15);
    rt.sent([append("n2", 3, 3, 3)], 20);
    rt.sent([append("n2", 4, 4, 3)], 119); // not yet too old
    rt.sent([append("n2", 5, 5, 3)], 120); // 100 ms old: replaced
    rt.received(ack("n2", 4, { term: 3 }), 121); // the old probe's ack no longer ends it
    rt.received(ack("n2", 5, { term: 3 }), 125);
    expect(seen).toEqual([
      ["n2", 0.005],
      ["n2", 0.005],
    ]);
  });

  it("holds at most one probe per peer, and forgets peers no longer in the membership", () => {
    const { rt } = recorder();
    for (let i = 1; i <= 50; i++) rt.sent([append("n2", i, i), append("n3", i, i), append("n4", i, i)], i);
    expect(rt.size).toBe(3);
    rt.retain(new Set(["n2"]));
    expect(rt.size).toBe(1);
  });
});

/** A MemoryStorage whose writes take `delayMs` (a slow disk). */
class SlowStorage extends MemoryStorage {
  delayMs = 0;
  override async write(batch: WriteBatch): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    await super.write(batch);
  }
}

describe("raftq_peer_append_round_trip_seconds on a leader", () => {
  const clusters = clustersStoppedAfterEach();

  it("includes each follower's synced write", async () => {
    const storages = new Map<NodeId, SlowStorage>();
    const c = await clusters.start({
      metrics: true,
      storageFor: (id): RaftStorage => {
        const s = new SlowStorage();
        storages.set(id, s);
        return s;
      },
    });
    const leader = c.leader()!;
    const followers = c.nodes.filter((n) => n !== leader).map((n) => n.id);
    await leader.replica.propose(new Uint8Array(8));
    for (const id of followers) storages.get(id)!.delayMs = 40;
    // A proposal is answered once one follower has it, and a peer has one probe at a time: wait
    // for both followers after each, so every one of the five appends is timed on both.
    const caughtUp = (): boolean => {
      const st = leader.core.status();
      return st.peers.every((p) => p.match >= st.lastIndex);
    };
    for (let i = 0; i < 5; i++) {
      await leader.replica.propose(new Uint8Array(8));
      await c.waitFor(caughtUp, 2000, "both followers to acknowledge the entry");
    }

    const metric = await leader.metrics!.peerAppendRoundTripSeconds.get();
    for (const peer of followers) {
      const count = metric.values.find((v) => v.metricName?.endsWith("_count") && v.labels.peer === peer);
      const sum = metric.values.find((v) => v.metricName?.endsWith("_sum") && v.labels.peer === peer);
      expect(count?.value, `round trips timed to ${peer}`).toBeGreaterThanOrEqual(5);
      // At least the five appends behind the 40 ms disk; each such sample is >= 40 ms.
      expect(sum!.value, `seconds summed for ${peer}`).toBeGreaterThanOrEqual(5 * 0.04);
    }
    // Followers send no appends: they time nothing.
    for (const n of c.nodes.filter((x) => x !== leader)) {
      const m = await n.metrics!.peerAppendRoundTripSeconds.get();
      expect(m.values.filter((v) => v.metricName?.endsWith("_count")).length).toBe(0);
    }
  });
});

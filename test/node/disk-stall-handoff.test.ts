// A leader whose own disk holds a write for too long hands leadership to a follower
// (DiskStallHandoff, src/node/disk-stall-handoff.ts), and the cluster goes on under the new
// leader; a merely slow write never moves leadership. Three in-process replicas.
import { describe, expect, it } from "vitest";
import { DiskStallHandoff } from "../../src/node/disk-stall-handoff.js";
import type { RaftStatus } from "../../src/raft/index.js";
import { heldStorages } from "./held-storage.js";
import { clustersStoppedAfterEach } from "./in-process-cluster.js";

/** The parts of a leader's status DiskStallHandoff reads, at tick 100 (every peer heard from at 98 unless told). */
function leaderStatus(
  peers: { id: string; match: number; role?: "voter" | "learner"; lastContactTick?: number }[],
): RaftStatus {
  return {
    role: "leader",
    leadTransferee: null,
    tick: 100,
    peers: peers.map((p) => ({ role: "voter", lastContactTick: 98, ...p })),
  } as unknown as RaftStatus;
}

const options = { afterMs: 1000, retryMs: 300, recentContactTicks: 15 };

describe("DiskStallHandoff", () => {
  it("names the most caught-up voter once a write has been in flight for afterMs, then again every retryMs", () => {
    const h = new DiskStallHandoff(options);
    const status = leaderStatus([
      { id: "b", match: 90 },
      { id: "c", match: 97 },
      { id: "l", match: 99, role: "learner" },
    ]);
    expect(h.due(5000, () => status)).toBeNull(); // no write in flight
    h.writeStarted(0);
    expect(h.due(999, () => status)).toBeNull();
    expect(h.due(1000, () => status)).toBe("c");
    expect(h.due(1299, () => status)).toBeNull(); // tried at 1000: next try at 1300
    expect(h.due(1300, () => status)).toBe("c");
    h.writeEnded();
    expect(h.due(9000, () => status)).toBeNull();
    h.writeStarted(10_000); // a new stall waits afterMs again, not retryMs
    expect(h.due(10_500, () => status)).toBeNull();
    expect(h.due(11_000, () => status)).toBe("c");
  });

  it("prefers a follower heard from within recentContactTicks to a more caught-up silent one", () => {
    const h = new DiskStallHandoff(options);
    h.writeStarted(0);
    const cutOff = leaderStatus([
      { id: "b", match: 97, lastContactTick: 60 }, // 40 ticks ago: cut off
      { id: "c", match: 90 },
    ]);
    expect(h.due(1000, () => cutOff)).toBe("c");
    // Never heard from since this node leads (-1) counts as silent too.
    const never = leaderStatus([
      { id: "b", match: 97, lastContactTick: -1 },
      { id: "c", match: 90, lastContactTick: 85 },
    ]);
    expect(h.due(1300, () => never)).toBe("c");
    // Nobody reachable: still the most caught-up (better a try than none).
    const silent = leaderStatus([
      { id: "b", match: 97, lastContactTick: 1 },
      { id: "c", match: 90, lastContactTick: 2 },
    ]);
    expect(h.due(1600, () => silent)).toBe("b");
  });

  it("does nothing for a node that is not leading, a transfer under way, or a cluster of one", () => {
    const h = new DiskStallHandoff({ afterMs: 10, retryMs: 10, recentContactTicks: 15 });
    h.writeStarted(0);
    const base = leaderStatus([{ id: "b", match: 1 }]);
    expect(h.due(100, () => ({ ...base, role: "follower" }))).toBeNull();
    expect(h.due(100, () => ({ ...base, leadTransferee: "b" }))).toBeNull();
    expect(h.due(100, () => leaderStatus([]))).toBeNull();
    expect(() => new DiskStallHandoff({ ...options, afterMs: 0 })).toThrow(/afterMs must be positive/);
    expect(() => new DiskStallHandoff({ ...options, retryMs: -1 })).toThrow(/retryMs must be positive/);
    expect(() => new DiskStallHandoff({ ...options, recentContactTicks: 0 })).toThrow(/recentContactTicks/);
  });
});

describe("a leader whose disk stalls", () => {
  const clusters = clustersStoppedAfterEach();

  /** Three replicas handing off after `handoffMs`; the leader's disk now holds every write. */
  async function leaderWithHeldDisk(handoffMs: number) {
    const disks = heldStorages();
    const c = await clusters.start({ diskStallHandoffMs: handoffMs, storageFor: disks.storageFor });
    const leader = c.leader()!;
    await leader.replica.propose(new Uint8Array(8)); // settled after the election
    const disk = disks.byId.get(leader.id)!;
    disk.held = true;
    return { c, leader, disk };
  }

  it("hands leadership to a follower; the cluster commits under the new leader, and the old one rejoins", async () => {
    const { c, leader: old, disk } = await leaderWithHeldDisk(300);
    try {
      // Its write of this entry never ends; the followers' writes commit it regardless.
      await old.replica.propose(new Uint8Array(8));
      await c.waitFor(() => c.leader() !== undefined && c.leader() !== old, 5000, "another leader");
      const next = c.leader()!;
      await next.replica.propose(new Uint8Array(8));
      expect(old.replica.isLeader()).toBe(false);
      expect(disk.inFlight).toBeGreaterThan(0); // it handed off while still stuck, not after
    } finally {
      disk.releaseAll();
    }
    const next = c.leader()!;
    await next.replica.propose(new Uint8Array(8));
    const last = next.machine.appliedIndex;
    await c.waitFor(() => c.nodes.every((n) => n.machine.appliedIndex >= last), 3000, "every node to apply");
    expect(new Set(c.nodes.map((n) => n.machine.commands)).size).toBe(1);
  });

  it("passes over the most caught-up follower when it has been cut off, and hands leadership to a reachable one", async () => {
    const { c, leader, disk } = await leaderWithHeldDisk(300);
    const [ahead, behind] = c.followers();
    const matchOf = (id: string): number => leader.core.status().peers.find((p) => p.id === id)?.match ?? -1;
    const cutBoth = (a: string, b: string): void => {
      c.net.cut.add(`${a}>${b}`);
      c.net.cut.add(`${b}>${a}`);
    };
    try {
      // `ahead` gets an entry that `behind` does not: it is now the most caught up.
      c.net.cut.add(`${leader.id}>${behind!.id}`);
      void leader.replica.propose(new Uint8Array(8)).catch(() => undefined); // never commits here
      await c.waitFor(() => matchOf(ahead!.id) > matchOf(behind!.id), 2000, "the entry on one follower");
      // Then `ahead` is cut off from the leader (it still reaches `behind`), and `behind` is back.
      cutBoth(leader.id, ahead!.id);
      c.net.cut.delete(`${leader.id}>${behind!.id}`);
      // Ranking by match alone named `ahead` on every try, and no transfer could finish.
      await c.waitFor(() => c.leader() !== undefined && c.leader() !== leader, 5000, "another leader");
      expect(c.leader()).toBe(behind);
      expect(disk.inFlight).toBeGreaterThan(0); // handed off while still stuck
    } finally {
      c.net.cut.clear();
      disk.releaseAll();
    }
    await behind!.replica.propose(new Uint8Array(8));
  });

  it("a slow write (well under the hand-off time) leaves the leader in place", async () => {
    const { c, leader, disk } = await leaderWithHeldDisk(2000);
    const answered = leader.replica.propose(new Uint8Array(8));
    await new Promise((r) => setTimeout(r, 400)); // many heartbeats and ticks, one write held
    disk.releaseAll();
    await answered;
    expect(c.leader()).toBe(leader);
  });
});

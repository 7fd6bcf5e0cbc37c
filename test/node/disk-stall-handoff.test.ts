// A leader whose own disk holds a write for too long hands leadership to a follower
// (DiskStallHandoff, src/node/disk-stall-handoff.ts), and the cluster goes on under the new
// leader; a merely slow write never moves leadership. Three in-process replicas.
import { describe, expect, it } from "vitest";
import { DiskStallHandoff } from "../../src/node/disk-stall-handoff.js";
import type { RaftStatus } from "../../src/raft/index.js";
import { heldStorages } from "./held-storage.js";
import { clustersStoppedAfterEach } from "./in-process-cluster.js";

/** The parts of a leader's status DiskStallHandoff reads. */
function leaderStatus(peers: { id: string; match: number; role?: "voter" | "learner" }[]): RaftStatus {
  return {
    role: "leader",
    leadTransferee: null,
    peers: peers.map((p) => ({ role: "voter", ...p })),
  } as unknown as RaftStatus;
}

describe("DiskStallHandoff", () => {
  it("names the most caught-up voter once a write has been in flight for afterMs, then again every afterMs", () => {
    const h = new DiskStallHandoff(1000);
    const status = leaderStatus([
      { id: "b", match: 90 },
      { id: "c", match: 97 },
      { id: "l", match: 99, role: "learner" },
    ]);
    expect(h.due(5000, () => status)).toBeNull(); // no write in flight
    h.writeStarted(0);
    expect(h.due(999, () => status)).toBeNull();
    expect(h.due(1000, () => status)).toBe("c");
    expect(h.due(1500, () => status)).toBeNull(); // tried at 1000: next try at 2000
    expect(h.due(2000, () => status)).toBe("c");
    h.writeEnded();
    expect(h.due(9000, () => status)).toBeNull();
  });

  it("does nothing for a node that is not leading, a transfer under way, or a cluster of one", () => {
    const h = new DiskStallHandoff(10);
    h.writeStarted(0);
    const base = leaderStatus([{ id: "b", match: 1 }]);
    expect(h.due(100, () => ({ ...base, role: "follower" }))).toBeNull();
    expect(h.due(100, () => ({ ...base, leadTransferee: "b" }))).toBeNull();
    expect(h.due(100, () => leaderStatus([]))).toBeNull();
    expect(() => new DiskStallHandoff(0)).toThrow(/positive/);
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

  it("a slow write (well under the hand-off time) leaves the leader in place", async () => {
    const { c, leader, disk } = await leaderWithHeldDisk(2000);
    const answered = leader.replica.propose(new Uint8Array(8));
    await new Promise((r) => setTimeout(r, 400)); // many heartbeats and ticks, one write held
    disk.releaseAll();
    await answered;
    expect(c.leader()).toBe(leader);
  });
});

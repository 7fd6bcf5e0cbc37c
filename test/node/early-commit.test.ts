// A leader answers a proposal once two followers have it on disk, while its own write of
// that entry is still in flight (RaftCore.takeEarlyCommitted; docs/raft.md). Three
// in-process replicas; the leader's disk is held.
import { describe, expect, it } from "vitest";
import { heldStorages } from "./held-storage.js";
import { clustersStoppedAfterEach } from "./in-process-cluster.js";

describe("commit while the leader's own write is in flight", () => {
  const clusters = clustersStoppedAfterEach();

  it("the proposal is applied and answered on the followers' acknowledgements alone", async () => {
    const disks = heldStorages();
    const c = await clusters.start({
      storageFor: disks.storageFor,
    });
    const leader = c.leader()!;
    await leader.replica.propose(new Uint8Array(8)); // settled after the election
    const disk = disks.byId.get(leader.id)!;
    disk.held = true;
    const before = leader.machine.commands;
    let answeredWithWriteInFlight: number | null = null;
    const answered = leader.replica.propose(new Uint8Array(8)).then(() => {
      answeredWithWriteInFlight = disk.inFlight;
    });
    try {
      await c.waitFor(() => answeredWithWriteInFlight !== null, 3000, "the proposal's answer");
      expect(answeredWithWriteInFlight).toBeGreaterThan(0);
      expect(leader.machine.commands).toBe(before + 1);
    } finally {
      disk.releaseAll();
    }
    await answered;
    // Once the disk is back, everything goes on as before.
    await leader.replica.propose(new Uint8Array(8));
    const last = leader.machine.appliedIndex;
    await c.waitFor(() => c.nodes.every((n) => n.machine.appliedIndex >= last), 2000, "every node to apply");
  });
});

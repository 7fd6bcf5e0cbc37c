// A leader answers a proposal once two followers have it on disk, while its own write of
// that entry is still in flight (RaftCore.takeEarlyCommitted; docs/raft.md). Three
// in-process replicas; the leader's disk is held.
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/raft/index.js";
import { MemoryStorage, type RaftStorage, type WriteBatch } from "../../src/storage/index.js";
import { clustersStoppedAfterEach } from "./in-process-cluster.js";

/** A MemoryStorage whose writes wait while `held` (a slow disk), in order. */
class HeldStorage extends MemoryStorage {
  held = false;
  /** Writes issued and not yet finished. */
  inFlight = 0;
  private release: (() => void)[] = [];

  override async write(batch: WriteBatch): Promise<void> {
    this.inFlight++;
    try {
      if (this.held) await new Promise<void>((r) => this.release.push(r));
      await super.write(batch);
    } finally {
      this.inFlight--;
    }
  }

  releaseAll(): void {
    this.held = false;
    for (const r of this.release.splice(0)) r();
  }
}

describe("commit while the leader's own write is in flight", () => {
  const clusters = clustersStoppedAfterEach();

  it("the proposal is applied and answered on the followers' acknowledgements alone", async () => {
    const storages = new Map<NodeId, HeldStorage>();
    const c = await clusters.start({
      storageFor: (id): RaftStorage => {
        const s = new HeldStorage();
        storages.set(id, s);
        return s;
      },
    });
    const leader = c.leader()!;
    await leader.replica.propose(new Uint8Array(8)); // settled after the election
    const disk = storages.get(leader.id)!;
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

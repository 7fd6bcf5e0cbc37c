import { describe, expect, it } from "vitest";
import type { Entry, Message, SnapshotChunk } from "../../src/raft/index.js";
import type { SimApp } from "../sim/app.js";
import { SimCluster } from "../sim/cluster.js";
import { Manual, dec, enc, persistedLog, voterMembers } from "./harness.js";

/** An application that keeps every command, so its snapshot grows with the log. */
class ListApp implements SimApp {
  items: string[] = [];
  apply(e: Entry): void {
    if (e.data.byteLength > 0) this.items.push(dec(e.data));
  }
  snapshot(): Uint8Array {
    return enc(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = data.byteLength === 0 ? [] : (JSON.parse(dec(data)) as string[]);
  }
  hash(): string {
    return `${this.items.length}:${this.items.join(",")}`;
  }
}

const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

/** a leads; c was cut off right after the election; a commits 30 entries and snapshots at 32. */
function behindCompaction(chunk = 100, snapBytes = 1000): Manual {
  const m = new Manual({
    ids: ["a", "b", "c"],
    raft: { snapshotTailEntries: 0, snapshotChunkBytes: chunk, maxInflightSnapshotChunks: 4 },
  });
  const a = m.elect("a");
  m.isolate("c");
  for (let i = 0; i < 30; i++) a.propose([enc(`e${i}`)]);
  m.flush();
  expect(a.status()).toMatchObject({ commit: 32, applied: 32 });
  a.createSnapshot(32, pattern(snapBytes));
  m.pump("a");
  expect(a.firstLogIndex()).toBe(33);
  return m;
}

describe("snapshots and compaction", () => {
  it("past the threshold every node snapshots and compacts, keeping snapshotTailEntries behind it", () => {
    const c = new SimCluster({
      seed: 31,
      nodes: 3,
      snapshotThreshold: 50,
      raft: { snapshotTailEntries: 10 },
    });
    c.waitForLeader();
    for (let i = 0; i < 130; i++) {
      c.propose(`v${i}`);
      c.step();
    }
    c.run(50);
    for (const n of c.nodes.values()) {
      const st = n.core.status();
      expect(st.snapshotIndex).toBeGreaterThanOrEqual(100);
      expect(n.core.firstLogIndex()).toBe(st.snapshotIndex - 10 + 1);
      expect(n.disk.snapshot?.metadata.index).toBe(st.snapshotIndex);
      expect(n.disk.entries[0]!.index).toBe(st.snapshotIndex - 10 + 1);
    }
  });

  it("a follower behind the compacted prefix receives InstallSnapshot in chunks of snapshotChunkBytes", () => {
    const m = behindCompaction(100, 1000);
    const a = m.core("a");
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    const chunks = m.sentOf("snapshot", "c");
    expect(chunks.map((x) => x.offset)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(chunks.every((x) => x.data.byteLength === 100 && x.totalBytes === 1000)).toBe(true);
    expect(chunks.map((x) => x.done)).toEqual([...Array<boolean>(9).fill(false), true]);
    // Never more than maxInflightSnapshotChunks unacknowledged: the first burst is 4.
    const firstBurst = m.sentOf("snapshot", "c").filter((x) => x.offset < 400);
    expect(firstBurst).toHaveLength(4);
    const installed = m.installed.get("c")!;
    expect(installed).toHaveLength(1);
    expect(installed[0]!.data).toEqual(pattern(1000));
    expect(installed[0]!.metadata).toMatchObject({ index: 32, term: a.status().term });
    expect(m.core("c").status()).toMatchObject({ commit: 32, applied: 32, snapshotIndex: 32 });
    expect(a.status().peers.find((p) => p.id === "c")).toMatchObject({ state: "replicate", match: 32 });
    // Replication continues normally after it.
    a.propose([enc("after")]);
    m.flush();
    expect(m.appliedData("c")).toEqual(["after"]);
  });

  it("a lost chunk is detected from the gap and re-sent from the last offset the follower has", () => {
    const m = behindCompaction(100, 1000);
    const a = m.core("a");
    let dropped = false;
    m.drop = (x: Message) => {
      if (x.type === "snapshot" && x.offset === 300 && !dropped) return (dropped = true);
      return false;
    };
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    expect(dropped).toBe(true);
    const offsets = m.sentOf("snapshot", "c").map((x) => x.offset);
    // Go-back-N: the chunks after the gap are refused and the window is re-sent from 300.
    expect(offsets.filter((o) => o === 300).length).toBeGreaterThanOrEqual(2);
    expect(offsets.length).toBeLessThanOrEqual(10 + 4 * 4);
    const rejects = m.sentOf("snapshotResp", "a").filter((r) => r.reject);
    expect(rejects.length).toBeGreaterThanOrEqual(1);
    expect(rejects.every((r) => r.offset === 300)).toBe(true);
    expect(m.installed.get("c")![0]!.data).toEqual(pattern(1000));
  });

  it("when every chunk in flight is lost, the leader retransmits after an election timeout of silence", () => {
    const m = behindCompaction(100, 1000);
    const a = m.core("a");
    let lost = 0;
    m.drop = (x: Message) => x.type === "snapshot" && lost++ < 4;
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    expect(m.installed.get("c")).toEqual([]);
    expect(a.status().peers.find((p) => p.id === "c")?.state).toBe("snapshot");
    for (let i = 0; i < 2 * a.config.electionTimeoutMinTicks; i++) {
      m.tick("a");
      m.flush();
    }
    expect(m.installed.get("c")![0]!.data).toEqual(pattern(1000));
    expect(m.core("c").status().commit).toBe(32);
  });

  it("installing a snapshot discards a conflicting log", () => {
    const members = voterMembers(["a", "b", "c"]);
    const good = Array.from({ length: 9 }, () => 3);
    const m = new Manual({
      ids: ["a", "b", "c"],
      raft: { snapshotTailEntries: 0 },
      persisted: {
        a: persistedLog(members, good, { term: 3 }, "good"),
        b: persistedLog(members, good, { term: 3 }, "good"),
        // c: a long tail of term 2 that was never committed.
        c: persistedLog(
          members,
          Array.from({ length: 29 }, () => 2),
          { term: 3 },
          "bad",
        ),
      },
    });
    m.isolate("c");
    m.expireLease(["b"]);
    const a = m.elect("a");
    for (let i = 0; i < 20; i++) a.propose([enc(`new${i}`)]);
    m.flush();
    const snapAt = a.status().applied;
    a.createSnapshot(snapAt, enc("state"));
    m.pump("a");
    m.heal();
    m.tick("a", a.config.heartbeatTicks);
    m.flush();
    const c = m.core("c");
    expect(m.installed.get("c")!.map((s) => s.metadata.index)).toEqual([snapAt]);
    expect(c.firstLogIndex()).toBe(snapAt + 1);
    expect(c.status()).toMatchObject({
      lastIndex: a.status().lastIndex,
      commit: snapAt,
      term: a.status().term,
    });
    expect(c.entryAt(30)).toBeUndefined(); // its old entries 2..30 are gone
  });

  it("a follower restarted far behind ends with the same application state (ListApp, 64-byte chunks)", () => {
    const c = new SimCluster({
      seed: 32,
      nodes: 3,
      snapshotThreshold: 40,
      raft: { snapshotTailEntries: 5, snapshotChunkBytes: 64 },
      app: () => new ListApp(),
    });
    const leader = c.waitForLeader();
    const f = [...c.nodes.values()].find((n) => n !== leader)!;
    c.crash(f.id);
    const chunks: SnapshotChunk[] = [];
    const send = c.net.send.bind(c.net);
    c.net.send = (msg, now) => {
      if (msg.type === "snapshot" && msg.to === f.id) chunks.push(msg);
      send(msg, now);
    };
    for (let i = 0; i < 150; i++) {
      c.propose(`job-${i}`);
      c.step();
    }
    c.restart(f.id);
    const lst = leader.core.status();
    expect(c.runUntil(() => f.core.status().applied === leader.core.status().applied, 500)).toBe(true);
    expect(f.app.hash()).toBe(leader.app.hash());
    expect((f.app as ListApp).items).toHaveLength(150);
    // The snapshot went over in 64-byte chunks (the last one shorter).
    expect(chunks.length).toBeGreaterThan(1);
    const first = chunks[0]!;
    expect(chunks.filter((x) => x.metadata.index === first.metadata.index && x.done)).not.toHaveLength(0);
    expect(Math.max(...chunks.map((x) => x.data.byteLength))).toBe(64);
    expect(
      chunks.filter((x) => x.metadata.index === first.metadata.index && x.offset === 0).length,
    ).toBeGreaterThan(0);
    expect(first.totalBytes).toBeGreaterThan(64 * 10);
    expect(lst.snapshotIndex).toBeGreaterThan(0);
  });
});

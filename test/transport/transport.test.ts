import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/types.js";
import {
  append,
  freePort,
  heartbeat,
  mesh,
  startNode,
  waitConnected,
  waitFor,
  type TestNode,
} from "./harness.js";

const live: TestNode[] = [];
async function node(...args: Parameters<typeof startNode>): Promise<TestNode> {
  const n = await startNode(...args);
  live.push(n);
  return n;
}
afterEach(async () => {
  await Promise.all(live.splice(0).map((n) => n.stop()));
});

function commits(msgs: readonly Message[], from: string): number[] {
  return msgs
    .filter((m) => m.from === from && m.type === "heartbeat")
    .map((m) => (m as { commit: number }).commit);
}

describe("GrpcTransport on loopback", () => {
  it("two nodes exchange messages in order, one send() per message", async () => {
    const [a, b] = [await node("a"), await node("b")];
    mesh([a, b]);
    await waitConnected(a, "b");
    await waitConnected(b, "a");
    for (let i = 0; i < 2000; i++) a.transport.send([heartbeat("a", "b", i)]);
    for (let i = 0; i < 500; i++) b.transport.send([heartbeat("b", "a", i)]);
    await waitFor("all messages", () => b.received.length === 2000 && a.received.length === 500);
    expect(commits(b.received, "a")).toEqual([...Array(2000).keys()]);
    expect(commits(a.received, "b")).toEqual([...Array(500).keys()]);
    const sa = a.transport.stats().peers.get("b")!;
    expect(sa).toMatchObject({ connected: true, dropped: 0, sentMessages: 2000, sentBatches: 2000 });
    expect(b.transport.stats().inbound).toMatchObject({
      streams: 1,
      receivedMessages: 2000,
      misaddressed: 0,
    });
  });

  it("three nodes, all to all: one batch per peer per send(), per-sender order kept", async () => {
    const nodes = [await node("n1"), await node("n2"), await node("n3")];
    mesh(nodes);
    for (const x of nodes) for (const y of nodes) if (x !== y) await waitConnected(x, y.id);
    const rounds = 300;
    for (let i = 0; i < rounds; i++) {
      for (const x of nodes) {
        // Interleaved destinations in one call: the transport groups them.
        x.transport.send(
          nodes
            .filter((y) => y !== x)
            .flatMap((y) => [heartbeat(x.id, y.id, 2 * i), heartbeat(x.id, y.id, 2 * i + 1)]),
        );
      }
    }
    await waitFor("all delivered", () => nodes.every((n) => n.received.length === 2 * 2 * rounds));
    for (const y of nodes) {
      for (const x of nodes) {
        if (x !== y) expect(commits(y.received, x.id)).toEqual([...Array(2 * rounds).keys()]);
      }
    }
    for (const x of nodes) {
      for (const [, s] of x.transport.stats().peers)
        expect(s).toMatchObject({ sentBatches: rounds, dropped: 0 });
    }
  });

  it("a peer that is down at first: sends are dropped and counted, then flow once it is up", async () => {
    const port = await freePort();
    const a = await node("a");
    a.transport.setPeers(new Map([["b", `127.0.0.1:${port}`]]));
    await waitFor("a failed attempt", () => a.transport.stats().peers.get("b")!.failures >= 2);
    a.transport.send([heartbeat("a", "b", 0)]);
    expect(a.transport.stats().peers.get("b")).toMatchObject({
      connected: false,
      dropped: 1,
      queuedBytes: 0,
    });

    const b = await node("b", { port });
    await waitConnected(a, "b");
    for (let i = 1; i <= 100; i++) a.transport.send([heartbeat("a", "b", i)]);
    await waitFor("delivery after b came up", () => b.received.length === 100);
    expect(commits(b.received, "a")).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("a peer that goes away: reconnects with backoff, queue stays bounded, drops are counted", async () => {
    const maxQueuedBytesPerPeer = 1024 * 1024;
    const a = await node("a", { maxQueuedBytesPerPeer, maxMessageBytes: 256 * 1024 });
    const b = await node("b");
    mesh([a, b]);
    await waitConnected(a, "b");
    await b.stop();
    live.splice(live.indexOf(b), 1);
    // ~40 MB offered to a dead peer while the stream notices it is gone, and after.
    for (let i = 0; i < 3000; i++) {
      a.transport.send([append("a", "b", i * 100 + 1, 100, 128)]);
      expect(a.transport.stats().peers.get("b")!.queuedBytes).toBeLessThanOrEqual(maxQueuedBytesPerPeer);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor("a notices b is gone", () => !a.transport.stats().peers.get("b")!.connected);
    const s = a.transport.stats().peers.get("b")!;
    expect(s.queuedBytes).toBe(0);
    expect(s.dropped).toBeGreaterThan(2000);
    const failuresBefore = s.failures;
    await new Promise((r) => setTimeout(r, 300));
    expect(a.transport.stats().peers.get("b")!.failures).toBeGreaterThan(failuresBefore); // still retrying
  });

  it("a restarted peer that dials us is dialled back at once, not after our backoff", async () => {
    // Backoff so slow that only the wake-up can explain a prompt reconnect.
    const slow = { reconnectMinMs: 20_000, reconnectMaxMs: 20_000 };
    const a = await node("a", slow);
    const port = await freePort();
    const bAddress = `127.0.0.1:${port}`;
    a.transport.setPeers(new Map([["b", bAddress]]));
    await waitFor(
      "a's first attempt to reach b failed",
      () => a.transport.stats().peers.get("b")!.failures >= 1,
    );
    const b = await node("b", { port, ...slow });
    b.transport.setPeers(new Map([["a", a.address]]));
    await waitConnected(b, "a");
    await waitConnected(a, "b"); // within waitFor's 5 s, far below the 20 s backoff
    a.transport.send([heartbeat("a", "b", 7)]);
    await waitFor("b hears a", () => commits(b.received, "a").includes(7));
  });

  it("rejects a peer from another cluster, logs it once, and the rejected sender delivers nothing", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const a = await node("a", { clusterId: "blue" });
    const b = await node("b", { clusterId: "green", logger });
    mesh([a, b]);
    await waitFor("b rejected a twice", () => b.transport.stats().inbound.rejectedStreams >= 2);
    a.transport.send([heartbeat("a", "b", 1)]);
    expect(a.transport.stats().peers.get("b")).toMatchObject({ connected: false, dropped: 1 });
    expect(b.received).toEqual([]);
    const rejections = lines.filter((l) => l.includes("another cluster")).map((l) => JSON.parse(l));
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ peer: "a", peerClusterId: "blue", clusterId: "green" });
  });

  it("carries a 4 MiB snapshot chunk", async () => {
    const [a, b] = [await node("a"), await node("b")];
    mesh([a, b]);
    await waitConnected(a, "b");
    const data = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i >>> 12) & 0xff;
    const chunk: Message = {
      type: "snapshot",
      from: "a",
      to: "b",
      term: 3,
      metadata: {
        index: 100,
        term: 3,
        membership: {
          members: [
            { id: "a", address: a.address, role: "voter" },
            { id: "b", address: b.address, role: "learner" },
          ],
        },
      },
      offset: 0,
      totalBytes: data.length,
      data,
      done: true,
    };
    a.transport.send([chunk]);
    await waitFor("chunk delivered", () => b.received.length === 1);
    // toEqual walks 4 Mi elements one by one (tens of seconds): compare the bytes natively.
    const { data: got, ...rest } = b.received[0] as typeof chunk;
    const { data: _sent, ...expected } = chunk;
    expect(rest).toEqual(expected);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(data)).toBe(true);
  });

  it("splits a send() larger than maxMessageBytes and drops (counts) a single oversized message", async () => {
    const maxMessageBytes = 64 * 1024;
    const a = await node("a", { maxMessageBytes, maxQueuedBytesPerPeer: 1024 * 1024 });
    const b = await node("b", { maxMessageBytes });
    mesh([a, b]);
    await waitConnected(a, "b");
    // 20 appends of ~13 KB: more than 64 KiB together, each fine alone.
    a.transport.send(Array.from({ length: 20 }, (_, i) => append("a", "b", i * 100 + 1, 100, 128)));
    a.transport.send([append("a", "b", 1, 1, 100 * 1024)]);
    await waitFor("split batches delivered", () => b.received.length === 20);
    expect(b.received.map((m) => (m as { prevIndex: number }).prevIndex)).toEqual(
      Array.from({ length: 20 }, (_, i) => i * 100),
    );
    const stats = a.transport.stats();
    expect(stats.droppedOversize).toBe(1);
    expect(stats.peers.get("b")!.sentBatches).toBeGreaterThan(1);
  });

  it("counts messages to unknown peers; setPeers removes connections and closes their streams", async () => {
    const [a, b] = [await node("a"), await node("b")];
    mesh([a, b]);
    await waitConnected(a, "b");
    await waitFor("b sees a's stream", () => b.transport.stats().inbound.streams === 1);
    a.transport.send([heartbeat("a", "zz", 1)]);
    expect(a.transport.stats().droppedNoPeer).toBe(1);
    a.transport.setPeers(new Map([["a", a.address]]));
    expect([...a.transport.stats().peers.keys()]).toEqual([]);
    await waitFor("b's inbound stream from a closed", () => b.transport.stats().inbound.streams === 0);
  });

  it("keeps retrying an address whose DNS name does not resolve, then connects when pointed at a live one", async () => {
    const [a, b] = [await node("a"), await node("b")];
    // "c" has an address gRPC cannot even parse: not a crash, a peer retried at the slowest pace.
    a.transport.setPeers(
      new Map([
        ["b", "raftq-1.not-yet.invalid:7000"],
        ["c", ""],
      ]),
    );
    await waitFor("repeated failures", () => a.transport.stats().peers.get("b")!.failures >= 3);
    expect(a.transport.stats().peers.get("b")!.connected).toBe(false);
    expect(a.transport.stats().peers.get("c")).toMatchObject({ connected: false, dropped: 0 });
    expect(a.transport.stats().peers.get("c")!.failures).toBeGreaterThanOrEqual(1);
    a.transport.setPeers(new Map([["b", b.address]]));
    await waitConnected(a, "b");
    a.transport.send([heartbeat("a", "b", 7)]);
    await waitFor("delivered", () => b.received.length === 1);
  });

  it("rejects bad arguments loudly", async () => {
    const a = await node("a");
    expect(() => a.transport.send([heartbeat("x", "b", 1)])).toThrow(/message from x, but this node is a/);
    expect(() => a.transport.send([heartbeat("a", "a", 1)])).toThrow(/addressed to this node itself/);
  });
});

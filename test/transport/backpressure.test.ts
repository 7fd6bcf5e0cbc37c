// A peer that accepts the stream but never reads: HTTP/2 flow control stalls
// the writes, and the sender must bound what it holds and count what it drops.
import * as grpc from "@grpc/grpc-js";
import { afterEach, expect, it } from "vitest";
import { peerServerOptions, peerService } from "../../src/transport/peer-service.js";
import { append, startNode, startServer, waitConnected, waitFor, type TestNode } from "./harness.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

it("a stalled peer: queuedBytes never exceeds the bound, excess is dropped and counted, event loop stays free", async () => {
  const server = new grpc.Server(peerServerOptions());
  const stalled: grpc.ServerReadableStream<unknown, unknown>[] = [];
  server.addService(peerService().definition, {
    Stream: (call: grpc.ServerReadableStream<unknown, unknown>) => {
      stalled.push(call);
      call.pause(); // never read: the flow-control window fills up
      call.sendMetadata(new grpc.Metadata());
    },
  });
  const port = await startServer(server);
  cleanup.push(() => server.forceShutdown());

  const maxQueuedBytesPerPeer = 2 * 1024 * 1024;
  const a: TestNode = await startNode("a", { maxQueuedBytesPerPeer, maxMessageBytes: 1024 * 1024 });
  cleanup.push(() => a.stop());
  a.transport.setPeers(new Map([["b", `127.0.0.1:${port}`]]));
  await waitConnected(a, "b");

  const batches = 2000; // ~27 MB offered
  let maxSeen = 0;
  let maxGapMs = 0;
  let last = Date.now();
  for (let i = 0; i < batches; i++) {
    a.transport.send([append("a", "b", i * 100 + 1, 100, 128)]);
    maxSeen = Math.max(maxSeen, a.transport.stats().peers.get("b")!.queuedBytes);
    if (i % 50 === 0) {
      await new Promise((r) => setImmediate(r));
      const now = Date.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }
  }
  await waitFor("writes stall", () => a.transport.stats().peers.get("b")!.queuedBytes > 0);
  const s = a.transport.stats().peers.get("b")!;
  expect(maxSeen).toBeLessThanOrEqual(maxQueuedBytesPerPeer);
  expect(s.connected).toBe(true);
  expect(s.dropped).toBeGreaterThan(batches / 2);
  // Whatever was neither written nor dropped is still queued, within the bound.
  const encodedBytes = 100 * (128 + 8);
  expect(batches - s.sentMessages - s.dropped).toBeLessThanOrEqual(maxQueuedBytesPerPeer / encodedBytes);
  // Written but stalled in flow control: also within the bound (write callbacks not yet fired).
  expect(s.sentBytes).toBeLessThanOrEqual(maxQueuedBytesPerPeer);
  expect(maxGapMs).toBeLessThan(1000);
  expect(stalled.length).toBe(1);
});

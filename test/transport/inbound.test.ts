// The receiving side seen from a hand-made client: what a misbehaving or foreign peer gets back.
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { encodeBatch } from "../../src/transport/codec.js";
import { peerService, type PeerBatchWire } from "../../src/transport/peer-service.js";
import { heartbeat, startNode, waitFor, type TestNode } from "./harness.js";

const live: TestNode[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(live.splice(0).map((n) => n.stop()));
});

interface RawStream {
  write(batch: PeerBatchWire): void;
  end(): void;
  status: Promise<{ code: grpc.status; details: string }>;
  accepted: Promise<void>;
}

function rawStream(address: string, metadata: Record<string, string>): RawStream {
  const method = peerService().stream;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  clients.push(client);
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  let settle: (s: { code: grpc.status; details: string }) => void = () => {};
  const status = new Promise<{ code: grpc.status; details: string }>((r) => (settle = r));
  const call = client.makeClientStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    md,
    {},
    (err) => settle(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: "" }),
  );
  const accepted = new Promise<void>((r) => call.once("metadata", () => r()));
  return { write: (b) => call.write(b), end: () => call.end(), status, accepted };
}

const ok = { "raftq-cluster-id": "test", "raftq-from": "x" };

async function b(): Promise<TestNode> {
  const n = await startNode("b");
  live.push(n);
  return n;
}

describe("inbound peer streams", () => {
  it("accepts a well-formed stream and answers OK with the batch count when the sender half-closes", async () => {
    const node = await b();
    const s = rawStream(node.address, ok);
    await s.accepted;
    s.write({ cluster_id: "test", from: "x", payload: encodeBatch("test", "x", [heartbeat("x", "b", 1)]) });
    s.end();
    expect((await s.status).code).toBe(grpc.status.OK);
    expect(node.received).toEqual([heartbeat("x", "b", 1)]);
  });

  it("refuses a stream whose metadata names another cluster with FAILED_PRECONDITION, before any batch", async () => {
    const node = await b();
    const s = rawStream(node.address, { ...ok, "raftq-cluster-id": "other" });
    const st = await s.status;
    expect(st.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(st.details).toMatch(/cluster id mismatch: receiver is in "test", sender "x" in "other"/);
    expect(node.transport.stats().inbound.rejectedStreams).toBe(1);
  });

  it("ends an accepted stream with FAILED_PRECONDITION on a batch from another cluster", async () => {
    const node = await b();
    const s = rawStream(node.address, ok);
    await s.accepted;
    s.write({ cluster_id: "other", from: "x", payload: encodeBatch("other", "x", [heartbeat("x", "b", 1)]) });
    expect((await s.status).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(node.received).toEqual([]);
  });

  it("refuses a stream without identity metadata, or claiming the receiver's own id", async () => {
    const node = await b();
    expect((await rawStream(node.address, {}).status).code).toBe(grpc.status.INVALID_ARGUMENT);
    const self = await rawStream(node.address, { ...ok, "raftq-from": "b" }).status;
    expect(self.code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("ends the stream with INVALID_ARGUMENT on an undecodable payload or a contradicting envelope", async () => {
    const node = await b();
    const garbage = rawStream(node.address, ok);
    await garbage.accepted;
    garbage.write({ cluster_id: "test", from: "x", payload: Uint8Array.from([0xa7, 1, 1, 4, 0x74]) });
    const st = await garbage.status;
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/peer codec: truncated clusterId/);

    const liar = rawStream(node.address, ok);
    await liar.accepted;
    liar.write({
      cluster_id: "test",
      from: "x",
      payload: encodeBatch("test", "y", [heartbeat("y", "b", 1)]),
    });
    expect((await liar.status).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(node.received).toEqual([]);
  });

  it("drops and counts messages addressed to another node, delivering the rest", async () => {
    const node = await b();
    const s = rawStream(node.address, ok);
    await s.accepted;
    const payload = encodeBatch("test", "x", [heartbeat("x", "c", 1), heartbeat("x", "b", 2)]);
    s.write({ cluster_id: "test", from: "x", payload });
    await waitFor("delivery", () => node.received.length === 1);
    expect(node.received).toEqual([heartbeat("x", "b", 2)]);
    expect(node.transport.stats().inbound.misaddressed).toBe(1);
    s.end();
    await s.status;
  });

  it("a newer stream from the same sender replaces the older one (ABORTED)", async () => {
    const node = await b();
    const first = rawStream(node.address, ok);
    await first.accepted;
    const second = rawStream(node.address, ok);
    await second.accepted;
    expect((await first.status).code).toBe(grpc.status.ABORTED);
    expect(node.transport.stats().inbound.streams).toBe(1);
    second.end();
    expect((await second.status).code).toBe(grpc.status.OK);
  });

  it("close() ends inbound streams with UNAVAILABLE and refuses new ones", async () => {
    const node = await b();
    const s = rawStream(node.address, ok);
    await s.accepted;
    await node.transport.close();
    expect((await s.status).code).toBe(grpc.status.UNAVAILABLE);
    expect((await rawStream(node.address, ok).status).code).toBe(grpc.status.UNAVAILABLE);
  });
});

// Loopback nodes for transport tests: one gRPC server per node on port 0, as the node runtime would own it.
import * as grpc from "@grpc/grpc-js";
import type { Message, NodeId } from "../../src/raft/types.js";
import { GrpcTransport, type GrpcTransportOptions } from "../../src/transport/grpc-transport.js";
import { peerServerOptions } from "../../src/transport/peer-service.js";

export interface TestNode {
  readonly id: NodeId;
  readonly address: string;
  readonly port: number;
  readonly server: grpc.Server;
  readonly transport: GrpcTransport;
  readonly received: Message[];
  stop(): Promise<void>;
}

export const FAST_RECONNECT = { reconnectMinMs: 20, reconnectMaxMs: 200, connectTimeoutMs: 2000 } as const;

export async function startServer(server: grpc.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
}

export async function startNode(
  id: NodeId,
  opts: Partial<GrpcTransportOptions> & { port?: number } = {},
): Promise<TestNode> {
  const server = new grpc.Server(peerServerOptions(opts.maxMessageBytes));
  const transport = new GrpcTransport({ clusterId: "test", selfId: id, ...FAST_RECONNECT, ...opts });
  const received: Message[] = [];
  transport.onMessage((m) => received.push(m));
  transport.addToServer(server);
  const port = await startServer(server, opts.port ?? 0);
  return {
    id,
    address: `127.0.0.1:${port}`,
    port,
    server,
    transport,
    received,
    async stop() {
      await transport.close();
      server.forceShutdown();
    },
  };
}

/** Points every node at every other node. */
export function mesh(nodes: readonly TestNode[]): void {
  const addresses = new Map(nodes.map((n) => [n.id, n.address]));
  for (const n of nodes) n.transport.setPeers(addresses);
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function waitConnected(from: TestNode, to: NodeId): Promise<void> {
  await waitFor(
    `${from.id} -> ${to} connected`,
    () => from.transport.stats().peers.get(to)?.connected === true,
  );
}

export function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return { type: "heartbeat", from, to, term: 1, commit, readContext: 0 };
}

export function append(
  from: NodeId,
  to: NodeId,
  index: number,
  entries: number,
  entryBytes: number,
): Message {
  return {
    type: "append",
    from,
    to,
    term: 2,
    prevIndex: index - 1,
    prevTerm: 2,
    commit: 0,
    entries: Array.from({ length: entries }, (_, i) => ({
      term: 2,
      index: index + i,
      type: 0 as const,
      data: new Uint8Array(entryBytes).fill((index + i) & 0xff),
    })),
  };
}

/** A port that was free a moment ago (bound on port 0, then released). */
export async function freePort(): Promise<number> {
  const server = new grpc.Server();
  const port = await startServer(server);
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  return port;
}

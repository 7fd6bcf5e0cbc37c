/**
 * Peer RPC between raftq nodes: the contract the node runtime relies on.
 * The gRPC implementation is {@link GrpcTransport} (grpc-transport.ts).
 */

import type { Message, NodeId } from "../raft/types.js";

export interface Transport {
  /**
   * Queues messages for sending and returns at once: never waits on the
   * network. Messages are grouped by destination, one batch per peer per
   * call. Messages to a peer that is not connected, or whose queue is full,
   * are dropped and counted (Raft retransmits what matters).
   */
  send(messages: readonly Message[]): void;
  /** The peers to talk to, id -> host:port (DNS names welcome). Adds and removes connections. */
  setPeers(addresses: ReadonlyMap<NodeId, string>): void;
  /** The one receiver of inbound messages, called in arrival order per sender. */
  onMessage(handler: (msg: Message) => void): void;
  stats(): TransportStats;
  close(): Promise<void>;
}

export interface PeerStats {
  readonly address: string;
  /** A stream to the peer is open and accepted: messages sent now are written, not dropped. */
  readonly connected: boolean;
  /** Encoded bytes waiting in the queue or handed to gRPC but not yet taken by the socket. */
  readonly queuedBytes: number;
  /** Messages dropped: peer unreachable, queue full, or queued when the stream broke. */
  readonly dropped: number;
  readonly sentBatches: number;
  readonly sentMessages: number;
  readonly sentBytes: number;
  /** Streams the peer accepted since setPeers added it. */
  readonly connects: number;
  /** Streams that failed to open or broke. */
  readonly failures: number;
}

export interface InboundStats {
  /** Open inbound streams (one per sender at most). */
  readonly streams: number;
  readonly receivedBatches: number;
  readonly receivedMessages: number;
  /** Streams refused or ended for a wrong cluster id, bad metadata, bad payload or overload. */
  readonly rejectedStreams: number;
  /** Messages whose `to` was not this node (dropped). */
  readonly misaddressed: number;
  /** Messages that arrived before onMessage() was called (dropped). */
  readonly undelivered: number;
}

export interface TransportStats {
  readonly peers: ReadonlyMap<NodeId, PeerStats>;
  readonly inbound: InboundStats;
  /** Messages to ids that setPeers() does not know, or sent after close(). */
  readonly droppedNoPeer: number;
  /** Messages larger than maxMessageBytes on their own (a bug upstream: snapshot chunks are ≤ 1 MiB). */
  readonly droppedOversize: number;
}

export { GrpcTransport, type GrpcTransportOptions } from "./grpc-transport.js";

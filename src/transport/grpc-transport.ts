/**
 * {@link Transport} over gRPC: one long-lived client stream to each peer for
 * what this node sends, and the RaftPeer service on the node's own server for
 * what it receives. docs/transport.md explains the policies.
 */

import type * as grpc from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import type { Message, NodeId } from "../raft/types.js";
import { encodeBatch } from "./codec.js";
import { InboundPeers } from "./inbound.js";
import { LogOnce } from "./log-once.js";
import { PeerLink } from "./peer-link.js";
import { DEFAULT_MAX_MESSAGE_BYTES, peerService } from "./peer-service.js";
import type { PeerStats, Transport, TransportStats } from "./transport.js";

export interface GrpcTransportOptions {
  /** Peers of another cluster are refused (and refuse us). */
  readonly clusterId: string;
  readonly selfId: NodeId;
  /** Bound on encoded bytes queued or in flight to one peer; beyond it, sends are dropped. Default 64 MiB. */
  readonly maxQueuedBytesPerPeer?: number;
  /**
   * Bound on one encoded batch. Larger batches are split; a single larger
   * message is dropped. Must match what peers accept: see peerServerOptions().
   * Default 16 MiB.
   */
  readonly maxMessageBytes?: number;
  /** First reconnect delay. Default 100 ms. */
  readonly reconnectMinMs?: number;
  /** Longest reconnect delay. Default 1000 ms. */
  readonly reconnectMaxMs?: number;
  /** An outbound stream not accepted within this long is retried. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Most inbound streams (distinct senders) at once. Default 256. */
  readonly maxInboundStreams?: number;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Jitter source for reconnect delays, [0, 1). Default Math.random. */
  readonly random?: () => number;
}

const MiB = 1024 * 1024;

export class GrpcTransport implements Transport {
  private readonly clusterId: string;
  private readonly selfId: NodeId;
  private readonly maxQueuedBytesPerPeer: number;
  private readonly maxMessageBytes: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly connectTimeoutMs: number;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound: InboundPeers;
  private readonly logOnce = new LogOnce();
  private registered = false;
  private closed = false;
  private droppedNoPeer = 0;
  private droppedOversize = 0;

  constructor(opts: GrpcTransportOptions) {
    this.clusterId = opts.clusterId;
    this.selfId = opts.selfId;
    this.maxQueuedBytesPerPeer = opts.maxQueuedBytesPerPeer ?? 64 * MiB;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.reconnectMinMs = opts.reconnectMinMs ?? 100;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 1000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.logger = (opts.logger ?? pino({ enabled: false })).child({ component: "transport" });
    this.random = opts.random ?? Math.random;
    assert(this.clusterId !== "", "clusterId must not be empty");
    assert(this.selfId !== "", "selfId must not be empty");
    assert(
      this.maxMessageBytes > 0 && this.maxQueuedBytesPerPeer >= this.maxMessageBytes,
      `maxQueuedBytesPerPeer (${this.maxQueuedBytesPerPeer}) must hold one maxMessageBytes (${this.maxMessageBytes}) batch`,
    );
    assert(
      0 < this.reconnectMinMs && this.reconnectMinMs <= this.reconnectMaxMs,
      "need 0 < reconnectMinMs <= reconnectMaxMs",
    );
    assert(this.connectTimeoutMs > 0, "connectTimeoutMs must be positive");
    this.inbound = new InboundPeers({
      clusterId: this.clusterId,
      selfId: this.selfId,
      maxStreams: opts.maxInboundStreams ?? 256,
      logger: this.logger,
      // A peer that dials us has (re)started: our link to it stops waiting out its backoff.
      onPeerUp: (from) => this.links.get(from)?.retryNow(),
    });
    peerService(); // load the .proto now: a missing file fails at startup, not on first send
  }

  /** Registers the RaftPeer service on the node's server. Create that server with peerServerOptions(). */
  addToServer(server: grpc.Server): void {
    assert(!this.registered, "addToServer called twice");
    this.registered = true;
    server.addService(peerService().definition, { Stream: this.inbound.handle });
  }

  onMessage(handler: (msg: Message) => void): void {
    this.inbound.onMessage(handler);
  }

  setPeers(addresses: ReadonlyMap<NodeId, string>): void {
    if (this.closed) return;
    for (const [id, link] of this.links) {
      if (addresses.get(id) !== link.address) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const [id, address] of addresses) {
      if (id === this.selfId || this.links.has(id)) continue;
      this.links.set(
        id,
        new PeerLink({
          clusterId: this.clusterId,
          selfId: this.selfId,
          peerId: id,
          address,
          maxQueuedBytes: this.maxQueuedBytesPerPeer,
          reconnectMinMs: this.reconnectMinMs,
          reconnectMaxMs: this.reconnectMaxMs,
          connectTimeoutMs: this.connectTimeoutMs,
          logger: this.logger,
          random: this.random,
        }),
      );
    }
  }

  send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    if (this.closed) {
      this.droppedNoPeer += messages.length;
      return;
    }
    const byPeer = new Map<NodeId, Message[]>();
    for (const msg of messages) {
      // A message from someone else, or to ourselves, is a bug in the caller.
      assert(msg.from === this.selfId, `send: message from ${msg.from}, but this node is ${this.selfId}`);
      assert(msg.to !== this.selfId, `send: ${msg.type} message addressed to this node itself`);
      const group = byPeer.get(msg.to);
      if (group) group.push(msg);
      else byPeer.set(msg.to, [msg]);
    }
    for (const [to, group] of byPeer) {
      const link = this.links.get(to);
      if (link === undefined) {
        this.droppedNoPeer += group.length;
        if (this.logOnce.first(`nopeer:${to}`))
          this.logger.warn({ peer: to }, "send to a peer with no address");
      } else if (!link.accepting) {
        link.countDropped(group.length); // not connected: do not spend CPU encoding
      } else {
        this.encodeInto(link, group);
      }
    }
  }

  stats(): TransportStats {
    const peers = new Map<NodeId, PeerStats>();
    for (const [id, link] of this.links) peers.set(id, link.stats());
    return {
      peers,
      inbound: this.inbound.stats(),
      droppedNoPeer: this.droppedNoPeer,
      droppedOversize: this.droppedOversize,
    };
  }

  /**
   * Cancels outbound streams, ends inbound ones (so the caller's
   * server.tryShutdown() can finish) and releases every timer and channel.
   * The server itself is the caller's to shut down.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.inbound.close();
    // Let cancellations reach the sockets before the caller shuts the server down.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** One batch per call, unless it exceeds maxMessageBytes: then halves, recursively. */
  private encodeInto(link: PeerLink, msgs: readonly Message[]): void {
    const payload = encodeBatch(this.clusterId, this.selfId, msgs);
    if (payload.length <= this.maxMessageBytes) {
      link.enqueue(payload, msgs.length);
      return;
    }
    if (msgs.length === 1) {
      this.droppedOversize++;
      const msg = msgs[0]!;
      if (this.logOnce.first(`oversize:${msg.type}`)) {
        this.logger.error(
          { peer: msg.to, type: msg.type, bytes: payload.length, maxMessageBytes: this.maxMessageBytes },
          "dropping a peer message larger than maxMessageBytes",
        );
      }
      return;
    }
    const half = msgs.length >>> 1;
    this.encodeInto(link, msgs.slice(0, half));
    this.encodeInto(link, msgs.slice(half));
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`GrpcTransport: ${message}`);
}

/**
 * The inbound half: the RaftPeer/Stream handler registered on the node's
 * gRPC server. It checks who is talking (cluster id, sender) before taking
 * any batch, decodes batches and hands each message addressed to this node
 * to the receiver, in the order the sender wrote them.
 *
 * At most one stream per sender is kept: a newer stream from the same node
 * (it reconnected) replaces the older one, so inbound state stays bounded
 * by cluster size and a sender's messages never arrive on two streams at once.
 */

import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Message, NodeId } from "../raft/types.js";
import { CodecError, decodeBatch } from "./codec.js";
import { LogOnce } from "./log-once.js";
import {
  CLUSTER_ID_METADATA,
  FROM_METADATA,
  type PeerBatchWire,
  type PeerStreamSummaryWire,
} from "./peer-service.js";
import type { InboundStats } from "./transport.js";

export interface InboundOptions {
  readonly clusterId: string;
  readonly selfId: NodeId;
  /** Refuse streams beyond this many distinct senders (RESOURCE_EXHAUSTED). */
  readonly maxStreams: number;
  readonly logger: Logger;
  /** Called when a peer's stream is accepted: that peer is up, whatever our own link to it believes. */
  readonly onPeerUp?: (from: NodeId) => void;
}

type ServerCall = grpc.ServerReadableStream<PeerBatchWire, PeerStreamSummaryWire>;
type Callback = grpc.sendUnaryData<PeerStreamSummaryWire>;

interface InboundStream {
  readonly from: NodeId;
  /** Ends the stream with `status` (OK when undefined); idempotent. */
  finish(status?: grpc.StatusObject["code"], details?: string): void;
}

export class InboundPeers {
  private readonly streams = new Map<NodeId, InboundStream>();
  private readonly logOnce = new LogOnce();
  private closed = false;
  private receiver: ((msg: Message) => void) | undefined;

  private receivedBatches = 0;
  private receivedMessages = 0;
  private rejectedStreams = 0;
  private misaddressed = 0;
  private undelivered = 0;

  constructor(private readonly opts: InboundOptions) {}

  onMessage(handler: (msg: Message) => void): void {
    this.receiver = handler;
  }

  stats(): InboundStats {
    return {
      streams: this.streams.size,
      receivedBatches: this.receivedBatches,
      receivedMessages: this.receivedMessages,
      rejectedStreams: this.rejectedStreams,
      misaddressed: this.misaddressed,
      undelivered: this.undelivered,
    };
  }

  /** Ends every inbound stream (senders reconnect later) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const s of [...this.streams.values()]) s.finish(grpc.status.UNAVAILABLE, "peer transport closed");
  }

  /** The RaftPeer/Stream implementation. */
  readonly handle = (call: ServerCall, callback: Callback): void => {
    const { clusterId, selfId, logger } = this.opts;
    let done = false;
    let batches = 0;
    const reject = (code: grpc.status, details: string): void => {
      this.rejectedStreams++;
      stream.finish(code, details);
    };
    const claimedCluster = call.metadata.get(CLUSTER_ID_METADATA)[0];
    const from = call.metadata.get(FROM_METADATA)[0];
    const stream: InboundStream = {
      from: typeof from === "string" ? from : "",
      finish: (code, details) => {
        if (done) return;
        done = true;
        if (this.streams.get(stream.from) === stream) this.streams.delete(stream.from);
        if (code === undefined || code === grpc.status.OK) {
          callback(null, { batches_received: batches >>> 0 });
        } else {
          callback({ code, details });
        }
      },
    };

    if (this.closed) return reject(grpc.status.UNAVAILABLE, "peer transport closed");
    if (typeof claimedCluster !== "string" || typeof from !== "string" || from === "") {
      return reject(
        grpc.status.INVALID_ARGUMENT,
        `missing ${CLUSTER_ID_METADATA} or ${FROM_METADATA} metadata`,
      );
    }
    if (claimedCluster !== clusterId) return this.rejectCluster(reject, claimedCluster, from);
    if (from === selfId) {
      if (this.logOnce.first(`self:${call.getPeer()}`)) {
        logger.error(
          { remote: call.getPeer() },
          `a peer claims this node's own id ${selfId}: duplicate node ids?`,
        );
      }
      return reject(grpc.status.FAILED_PRECONDITION, `sender id ${from} is the receiver's own id`);
    }
    this.streams.get(from)?.finish(grpc.status.ABORTED, "replaced by a newer stream from the same sender");
    if (this.streams.size >= this.opts.maxStreams) {
      return reject(grpc.status.RESOURCE_EXHAUSTED, `more than ${this.opts.maxStreams} peer streams`);
    }
    this.streams.set(from, stream);
    this.opts.onPeerUp?.(from);

    call.on("data", (batch: PeerBatchWire) => {
      if (done) return;
      if (batch.cluster_id !== clusterId) return this.rejectCluster(reject, batch.cluster_id, from);
      if (batch.from !== from) {
        return reject(grpc.status.INVALID_ARGUMENT, `batch from ${batch.from} on ${from}'s stream`);
      }
      let decoded;
      try {
        decoded = decodeBatch(batch.payload);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        logger.error({ peer: from, err }, "undecodable peer batch; closing the stream");
        return reject(grpc.status.INVALID_ARGUMENT, err.message);
      }
      if (decoded.clusterId !== clusterId || decoded.from !== from) {
        return reject(grpc.status.INVALID_ARGUMENT, "payload cluster id or sender contradicts the envelope");
      }
      batches++;
      this.receivedBatches++;
      this.receivedMessages += decoded.messages.length;
      for (const msg of decoded.messages) this.deliver(msg);
    });
    call.on("end", () => stream.finish());
    // A cancelled or broken stream: nothing to answer, only forget it.
    call.on("error", () => stream.finish(grpc.status.CANCELLED, "stream error"));
    call.on("cancelled", () => stream.finish(grpc.status.CANCELLED, "cancelled by sender"));
    // Response headers tell the sender it was accepted and may start writing.
    call.sendMetadata(new grpc.Metadata());
  };

  private deliver(msg: Message): void {
    const { selfId, logger } = this.opts;
    if (msg.to !== selfId) {
      this.misaddressed++;
      if (this.logOnce.first(`to:${msg.from}->${msg.to}`)) {
        logger.warn({ peer: msg.from, to: msg.to }, "dropping peer messages addressed to another node");
      }
      return;
    }
    if (this.receiver === undefined) {
      this.undelivered++;
      return;
    }
    this.receiver(msg);
  }

  private rejectCluster(
    reject: (code: grpc.status, details: string) => void,
    claimed: string,
    from: string,
  ): void {
    const { clusterId, logger } = this.opts;
    if (this.logOnce.first(`cluster:${claimed}:${from}`)) {
      logger.warn(
        { peer: from, peerClusterId: claimed, clusterId },
        "rejecting peer stream from another cluster (same addresses reused across clusters?)",
      );
    }
    reject(
      grpc.status.FAILED_PRECONDITION,
      `cluster id mismatch: receiver is in "${clusterId}", sender "${from}" in "${claimed}"`,
    );
  }
}

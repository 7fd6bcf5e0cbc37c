/**
 * The RaftPeer gRPC service as loaded from proto/raftq/v1/peer.proto, plus
 * the channel and server options peer streams need.
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";
import { findPackageRoot } from "../wire/package-root.js";

export const PEER_PROTO = "proto/raftq/v1/peer.proto";

/** Request metadata keys a sender puts on its stream (checked before any batch is accepted). */
export const CLUSTER_ID_METADATA = "raftq-cluster-id";
export const FROM_METADATA = "raftq-from";

/** PeerBatch as protobufjs hands it over (keepCase: proto field names). */
export interface PeerBatchWire {
  cluster_id: string;
  from: string;
  payload: Uint8Array;
}

export interface PeerStreamSummaryWire {
  batches_received: number;
}

export interface PeerService {
  readonly definition: grpc.ServiceDefinition;
  /** The client-streaming method `Stream`. */
  readonly stream: grpc.MethodDefinition<PeerBatchWire, PeerStreamSummaryWire>;
}

let loaded: PeerService | undefined;

/** Loads the .proto once per process (synchronous file I/O: call at startup, not per message). */
export function peerService(): PeerService {
  if (loaded) return loaded;
  const root = findPackageRoot(import.meta.url, PEER_PROTO);
  const packageDefinition = protoLoader.loadSync(join(root, PEER_PROTO), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    includeDirs: [join(root, "proto")],
  });
  const definition = packageDefinition["raftq.v1.RaftPeer"] as grpc.ServiceDefinition | undefined;
  if (!definition || !("Stream" in definition)) {
    throw new Error(`${PEER_PROTO} does not define raftq.v1.RaftPeer/Stream`);
  }
  const stream = definition["Stream"] as grpc.MethodDefinition<PeerBatchWire, PeerStreamSummaryWire>;
  if (!stream.requestStream || stream.responseStream) {
    throw new Error("raftq.v1.RaftPeer/Stream must be client-streaming");
  }
  loaded = { definition, stream };
  return loaded;
}

/** Default bound on one encoded batch: a 1 MiB snapshot chunk fits many times over. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Room for the PeerBatch envelope (cluster id, sender, protobuf tags) around the payload. */
const ENVELOPE_SLACK_BYTES = 64 * 1024;

// A dead peer (power cut, partition) sends no RST: keepalive pings notice it
// within about KEEPALIVE_TIME + KEEPALIVE_TIMEOUT.
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

/**
 * Options the node must merge into the ONE grpc.Server it creates (the
 * server is the node's, not the transport's): a receive limit large enough
 * for snapshot chunks, and server-side keepalive so streams from dead peers
 * are reaped.
 */
export function peerServerOptions(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): grpc.ServerOptions {
  return {
    "grpc.max_receive_message_length": maxMessageBytes + ENVELOPE_SLACK_BYTES,
    "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
  };
}

/** Channel options for one outbound peer stream. */
export function peerChannelOptions(reconnectMinMs: number, reconnectMaxMs: number): grpc.ChannelOptions {
  return {
    "grpc.keepalive_time_ms": KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS,
    "grpc.keepalive_permit_without_calls": 1,
    // Raft retransmits; gRPC retries would only duplicate and delay.
    "grpc.enable_retries": 0,
    // With a retry buffer, grpc-js acknowledges writes before the socket takes
    // them; without one, write callbacks (and so queuedBytes) tell the truth.
    "grpc.per_rpc_retry_buffer_size": 0,
    // Each stream gets its own connection and backoff state, not one shared
    // process-wide with every other channel to the same address.
    "grpc.use_local_subchannel_pool": 1,
    "grpc.initial_reconnect_backoff_ms": reconnectMinMs,
    "grpc.max_reconnect_backoff_ms": reconnectMaxMs,
    "grpc.dns_min_time_between_resolutions_ms": reconnectMinMs,
  };
}

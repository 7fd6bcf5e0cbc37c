// Public surface of the peer transport.
export type { InboundStats, PeerStats, Transport, TransportStats } from "./transport.js";
export { GrpcTransport, type GrpcTransportOptions } from "./grpc-transport.js";
export { peerServerOptions, DEFAULT_MAX_MESSAGE_BYTES } from "./peer-service.js";
export {
  CodecError,
  decodeBatch,
  decodeMessage,
  encodeBatch,
  encodeMessage,
  type DecodedBatch,
} from "./codec.js";

import * as grpc from "@grpc/grpc-js";
import { NodeError, type StatusCodeName } from "../node/errors.js";

/** Metadata keys the API sets on errors, for clients to act on. */
export const LEADER_ID_METADATA = "raftq-leader-id";
export const REASON_METADATA = "raftq-reason";

const CODES: Record<StatusCodeName, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  INTERNAL: grpc.status.INTERNAL,
};

/** Turn any error into a gRPC status: NodeErrors keep their code, reason and leader hint. */
export function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof NodeError) {
    const metadata = new grpc.Metadata();
    if (e.leaderId !== null) metadata.set(LEADER_ID_METADATA, e.leaderId);
    if (e.reason !== null) metadata.set(REASON_METADATA, e.reason);
    return { code: CODES[e.code], details: e.message, metadata };
  }
  if (isServiceError(e)) {
    // A forwarded call's answer: pass it through unchanged.
    return { code: e.code, details: e.details, metadata: e.metadata };
  }
  return { code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) };
}

export function isServiceError(e: unknown): e is grpc.ServiceError {
  return typeof e === "object" && e !== null && "code" in e && "details" in e && "metadata" in e;
}

export function invalid(message: string): NodeError {
  return new NodeError("INVALID_ARGUMENT", message);
}

/** Wrap a promise-returning handler as a grpc-js unary handler. */
export function unary<Req, Res>(
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (e: unknown) => callback(toServiceError(e), null),
    );
  };
}

import * as grpc from "@grpc/grpc-js";
import { NodeError, notLeader } from "../node/errors.js";
import { callUnary } from "../wire/unary.js";
import { loadRaftqProto, type RaftqPackage } from "../wire/proto.js";

/** Set on a call a follower forwards, so the leader never forwards it again. */
export const FORWARDED_METADATA = "raftq-forwarded";

type ServiceName = keyof RaftqPackage;

/** Most leader connections kept (one per address; leaders change rarely). */
const MAX_CLIENTS = 64;

/**
 * Followers forward writes to the leader over the leader's own public API,
 * so the leader stamps time and validates exactly as for a direct call.
 */
export class Forwarder {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly defaultTimeoutMs: number) {}

  static isForwarded(call: { metadata: grpc.Metadata }): boolean {
    return call.metadata.get(FORWARDED_METADATA).length > 0;
  }

  private client(service: ServiceName, address: string): grpc.Client {
    const key = `${service}@${address}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      if (this.clients.size >= MAX_CLIENTS) {
        const [oldKey, old] = this.clients.entries().next().value as [string, grpc.Client];
        old.close();
        this.clients.delete(oldKey);
      }
      const Ctor = loadRaftqProto().pkg[service];
      c = new Ctor(address, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
      });
      this.clients.set(key, c);
    }
    return c;
  }

  /** Call `method` of `service` on the leader at `address`, within the caller's deadline. */
  forward<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    call: { metadata: grpc.Metadata; getDeadline(): grpc.Deadline },
    leaderId: string | null,
    address: string | undefined,
  ): Promise<Res> {
    if (Forwarder.isForwarded(call) || address === undefined || leaderId === null) {
      return Promise.reject(notLeader(leaderId));
    }
    const client = this.client(service, address) as unknown as Record<
      string,
      (
        req: unknown,
        md: grpc.Metadata,
        opts: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, r: Res) => void,
      ) => void
    >;
    const fn = client[method];
    if (fn === undefined) return Promise.reject(new NodeError("INTERNAL", `no method ${service}.${method}`));
    const md = new grpc.Metadata();
    md.set(FORWARDED_METADATA, "1");
    const callerDeadline = call.getDeadline();
    const deadline =
      callerDeadline instanceof Date
        ? callerDeadline
        : typeof callerDeadline === "number" && Number.isFinite(callerDeadline)
          ? new Date(callerDeadline)
          : new Date(Date.now() + this.defaultTimeoutMs);
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, request, md, { deadline }, (e, r) => {
        if (e === null) resolve(r);
        else if (e.code === grpc.status.UNAVAILABLE && e.metadata.get("raftq-reason").length === 0) {
          // The leader's process is unreachable (not an answer from it).
          reject(
            new NodeError("UNAVAILABLE", `the leader ${leaderId} at ${address} is unreachable: ${e.details}`),
          );
        } else reject(e);
      });
    });
  }

  /** A plain call to another node's API (e.g. its local status), with a short deadline. */
  call<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    address: string,
    timeoutMs: number,
  ): Promise<Res> {
    return callUnary<Res>(this.client(service, address), method, request, timeoutMs);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

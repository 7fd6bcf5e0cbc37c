/**
 * The operator's gRPC side: GetClusterStatus for facts and AdminService for
 * membership. Every call has a deadline; clients are cached per address and
 * closed with close().
 */
import * as grpc from "@grpc/grpc-js";
import { callUnary } from "../../src/wire/unary.js";
import { loadRaftqProto, type RaftqPackage } from "../../src/wire/proto.js";
import { factsFromWire, type ClusterFacts, type WireClusterStatus } from "./facts.js";

export const STATUS_DEADLINE_MS = 2_000;
/** Membership changes answer after commit; the node's own proposal timeout is 5 s. */
export const CHANGE_DEADLINE_MS = 10_000;

export class RaftClient {
  private readonly clients = new Map<string, grpc.Client>();
  private static readonly MAX_CLIENTS = 64;

  private client(address: string, service: keyof RaftqPackage): grpc.Client {
    const key = `${service}@${address}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      if (this.clients.size >= RaftClient.MAX_CLIENTS) this.close();
      const Ctor = loadRaftqProto().pkg[service];
      c = new Ctor(address, grpc.credentials.createInsecure());
      this.clients.set(key, c);
    }
    return c;
  }

  call<T>(
    address: string,
    service: keyof RaftqPackage,
    method: string,
    req: unknown,
    timeoutMs: number,
  ): Promise<T> {
    return callUnary<T>(this.client(address, service), method, req, timeoutMs);
  }

  /**
   * The cluster as its leader sees it, from the first target that answers. Liveness and match
   * indexes are the leader's replication progress: a member that is not (or no longer) the leader,
   * e.g. right after a leadership transfer, answers with every peer "not alive". Such an answer is
   * re-asked of the leader it names, and used as it is only when the leader cannot be reached (the
   * planner then waits, since nobody looks alive and caught up).
   */
  async status(targets: readonly string[]): Promise<{ facts: ClusterFacts; target: string } | null> {
    for (const target of targets) {
      const first = await this.statusOf(target);
      if (first === null) continue;
      const { wire, facts } = first;
      if (facts.leaderId === "" || wire.answeredBy === undefined || wire.answeredBy === facts.leaderId) {
        return { facts, target };
      }
      const leader = facts.members.find((m) => m.id === facts.leaderId);
      const fromLeader = leader?.address ? await this.statusOf(leader.address) : null;
      if (fromLeader !== null && fromLeader.wire.answeredBy === fromLeader.facts.leaderId) {
        return { facts: fromLeader.facts, target };
      }
      return { facts, target };
    }
    return null;
  }

  private async statusOf(target: string): Promise<{ wire: WireClusterStatus; facts: ClusterFacts } | null> {
    try {
      const wire = await this.call<WireClusterStatus>(
        target,
        "ClusterService",
        "GetClusterStatus",
        {},
        STATUS_DEADLINE_MS,
      );
      return { wire, facts: factsFromWire(wire) };
    } catch {
      return null;
    }
  }

  addLearner(target: string, id: string, address: string): Promise<unknown> {
    return this.call(target, "AdminService", "AddLearner", { id, address }, CHANGE_DEADLINE_MS);
  }

  promote(target: string, id: string): Promise<unknown> {
    return this.call(target, "AdminService", "PromoteMember", { id }, CHANGE_DEADLINE_MS);
  }

  remove(target: string, id: string): Promise<unknown> {
    return this.call(target, "AdminService", "RemoveMember", { id }, CHANGE_DEADLINE_MS);
  }

  transferLeadership(target: string, toId: string): Promise<unknown> {
    return this.call(
      target,
      "AdminService",
      "TransferLeadership",
      { toId, onlyIfLeader: false },
      CHANGE_DEADLINE_MS,
    );
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** gRPC status code of an error, if it is one. */
export function grpcCode(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "number"
    ? e.code
    : undefined;
}

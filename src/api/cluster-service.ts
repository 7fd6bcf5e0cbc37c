import type * as grpc from "@grpc/grpc-js";
import type { Role } from "../raft/index.js";
import type { ApiContext } from "./context.js";
import { Forwarder } from "./forwarder.js";
import { unary } from "./status.js";
import type { WireMember } from "../wire/raftq-v1.js";

/** How long the leader waits for a member's own view before reporting what it knows. */
const PEER_STATUS_TIMEOUT_MS = 300;

export interface WireClusterStatus {
  clusterId: string;
  leaderId: string;
  term: number;
  commitIndex: number;
  members: WireMember[];
  queues: Record<string, unknown>[];
  liveWorkers: number;
  registeredWorkers: number;
  answeredBy: string;
}

export function roleToWire(role: Role): string {
  switch (role) {
    case "leader":
      return "MEMBER_ROLE_LEADER";
    case "follower":
      return "MEMBER_ROLE_FOLLOWER";
    case "candidate":
    case "preCandidate":
      return "MEMBER_ROLE_CANDIDATE";
    case "learner":
      return "MEMBER_ROLE_LEARNER";
  }
}

/** This node's own view: itself in full, the others as far as its configuration tells. */
export function localStatus(ctx: ApiContext): WireClusterStatus {
  const st = ctx.replica.core.status();
  const peers = new Map(st.peers.map((p) => [p.id, p]));
  const members: WireMember[] = st.membership.members.map((m) => {
    if (m.id === ctx.nodeId) {
      return {
        id: m.id,
        address: m.address,
        role: roleToWire(st.role),
        voter: m.role === "voter",
        term: st.term,
        commitIndex: st.commit,
        appliedIndex: ctx.machine.appliedIndex,
        matchIndex: st.lastIndex,
        isAlive: true,
        lastContactMs: 0,
      };
    }
    const p = peers.get(m.id);
    const sinceMs =
      p !== undefined && p.lastContactTick >= 0 ? (st.tick - p.lastContactTick) * ctx.tickMs : -1;
    return {
      id: m.id,
      address: m.address,
      role: m.role === "learner" ? "MEMBER_ROLE_LEARNER" : "MEMBER_ROLE_UNSPECIFIED",
      voter: m.role === "voter",
      term: 0,
      commitIndex: 0,
      appliedIndex: 0,
      matchIndex: p?.match ?? 0,
      // Only the leader hears replies; is_alive: a reply within the liveness window.
      isAlive: sinceMs >= 0 && sinceMs <= ctx.livenessWindowMs,
      lastContactMs: Math.max(0, sinceMs),
    };
  });
  const queues = ctx.machine.state.countsByStateAndQueue().map((q) => ({ queue: q.queue, ...q.counts }));
  return {
    clusterId: ctx.clusterId,
    leaderId: st.leader ?? "",
    term: st.term,
    commitIndex: st.commit,
    members,
    queues,
    liveWorkers: ctx.duties.liveWorkers(),
    registeredWorkers: ctx.machine.state.workers().length,
    answeredBy: ctx.nodeId,
  };
}

/**
 * This node's view, completed with each reachable member's own term, role,
 * commit and applied index. On the leader, is_alive is Raft's view (a reply
 * within the liveness window); elsewhere Raft hears no replies, so a member is
 * alive when it answered this status call.
 */
async function fullStatus(ctx: ApiContext): Promise<WireClusterStatus> {
  const status = localStatus(ctx);
  const isLeader = ctx.replica.isLeader();
  await Promise.all(
    status.members.map(async (m) => {
      if (m.id === ctx.nodeId) return;
      try {
        const theirs = await ctx.forwarder.call<WireClusterStatus>(
          "ClusterService",
          "GetClusterStatus",
          { local: true },
          m.address,
          PEER_STATUS_TIMEOUT_MS,
        );
        const self = theirs.members.find((x) => x.id === m.id);
        if (!isLeader) m.isAlive = true;
        if (self !== undefined) {
          m.role = self.role;
          m.term = self.term;
          m.commitIndex = self.commitIndex;
          m.appliedIndex = self.appliedIndex;
        }
      } catch {
        // Unreachable: its role is unknown (UNSPECIFIED); report what this node knows
        // of it (match index, is_alive, voter).
        return;
      }
      if (m.role === "MEMBER_ROLE_UNSPECIFIED")
        m.role = m.voter ? "MEMBER_ROLE_FOLLOWER" : "MEMBER_ROLE_LEARNER";
    }),
  );
  return status;
}

/** ClusterService: the cluster as the leader sees it (or this node's own view when there is none). */
export function clusterServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  return {
    GetClusterStatus: unary(async (req: { local: boolean }, call) => {
      if (req.local) return localStatus(ctx);
      if (ctx.replica.isLeader()) return fullStatus(ctx);
      const { id, address } = ctx.leaderAddress();
      if (id !== null && address !== undefined && !Forwarder.isForwarded(call)) {
        try {
          return await ctx.forwarder.forward<WireClusterStatus>(
            "ClusterService",
            "GetClusterStatus",
            req,
            call,
            id,
            address,
          );
        } catch {
          // The leader did not answer: this node's own view is still worth showing.
        }
      }
      return fullStatus(ctx);
    }),
  };
}

/**
 * What the operator knows about a running raftq cluster, taken from
 * ClusterService.GetClusterStatus. Kept apart from the gRPC shapes so the
 * planner stays pure and its tests can write facts by hand.
 */
export type MemberRole = "leader" | "follower" | "candidate" | "learner" | "unknown";

export interface MemberFact {
  id: string;
  address: string;
  role: MemberRole;
  /** False for learners. */
  voter: boolean;
  /** The leader's replication progress for this member. */
  matchIndex: number;
  /** False when the leader has not heard from it within the liveness window. */
  isAlive: boolean;
}

export interface ClusterFacts {
  /** Empty when the answering node knows no leader. */
  leaderId: string;
  term: number;
  commitIndex: number;
  members: MemberFact[];
}

/** The wire shape (proto-loader: camelCase, enums as strings, 64-bit ints as numbers). */
export interface WireClusterStatus {
  leaderId?: string;
  /** The node that answered: the leader, unless forwarding failed or leadership just moved. */
  answeredBy?: string;
  term?: number;
  commitIndex?: number;
  members?: {
    id?: string;
    address?: string;
    role?: string;
    voter?: boolean;
    matchIndex?: number;
    isAlive?: boolean;
  }[];
}

const ROLES: Record<string, MemberRole> = {
  MEMBER_ROLE_LEADER: "leader",
  MEMBER_ROLE_FOLLOWER: "follower",
  MEMBER_ROLE_CANDIDATE: "candidate",
  MEMBER_ROLE_LEARNER: "learner",
};

export function factsFromWire(s: WireClusterStatus): ClusterFacts {
  return {
    leaderId: s.leaderId ?? "",
    term: Number(s.term ?? 0),
    commitIndex: Number(s.commitIndex ?? 0),
    members: (s.members ?? []).map((m) => ({
      id: m.id ?? "",
      address: m.address ?? "",
      role: ROLES[m.role ?? ""] ?? "unknown",
      voter: m.voter ?? false,
      matchIndex: Number(m.matchIndex ?? 0),
      isAlive: m.isAlive ?? false,
    })),
  };
}

/** Majority of `voters` members. */
export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

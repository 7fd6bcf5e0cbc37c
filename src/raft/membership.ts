import { assert } from "./assert.js";
import type { ConfChange, Member, Membership, NodeId } from "./types.js";

/** Helpers over a cluster configuration. Memberships are immutable values. */

export function voters(m: Membership): NodeId[] {
  return m.members.filter((x) => x.role === "voter").map((x) => x.id);
}

export function findMember(m: Membership, id: NodeId): Member | undefined {
  return m.members.find((x) => x.id === id);
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return findMember(m, id)?.role === "voter";
}

export function quorumSize(m: Membership): number {
  return Math.floor(voters(m).length / 2) + 1;
}

/**
 * Why a configuration change cannot be made against `m`, or null when it can.
 * Changes go one server at a time (Raft thesis §4.1): with single-server
 * changes any two majorities of the old and new configurations overlap.
 */
export function checkConfChange(m: Membership, cc: ConfChange): string | null {
  const member = findMember(m, cc.nodeId);
  switch (cc.type) {
    case "addLearner":
      if (member !== undefined) return `${cc.nodeId} is already a member (${member.role})`;
      if (!cc.address) return "addLearner needs the new member's address";
      return null;
    case "promote":
      if (member === undefined) return `${cc.nodeId} is not a member`;
      if (member.role !== "learner") return `${cc.nodeId} is already a voter`;
      return null;
    case "remove":
      if (member === undefined) return `${cc.nodeId} is not a member`;
      if (member.role === "voter" && voters(m).length === 1) return "cannot remove the last voter";
      return null;
  }
}

export function applyConfChange(m: Membership, cc: ConfChange): Membership {
  const problem = checkConfChange(m, cc);
  // Validated by the leader before proposing; a committed invalid change means
  // two nodes disagree about the configuration: stop.
  assert(problem === null, () => `committed conf change is invalid: ${problem}`);
  switch (cc.type) {
    case "addLearner":
      return { members: [...m.members, { id: cc.nodeId, address: cc.address!, role: "learner" }] };
    case "promote":
      return { members: m.members.map((x) => (x.id === cc.nodeId ? { ...x, role: "voter" as const } : x)) };
    case "remove":
      return { members: m.members.filter((x) => x.id !== cc.nodeId) };
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Conf changes are rare, so JSON keeps them readable in logs and dumps. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(decoder.decode(data)) as ConfChange;
  assert(
    v !== null && typeof v === "object" && typeof v.nodeId === "string" && typeof v.type === "string",
    "malformed conf change entry",
  );
  return v;
}

/**
 * What the operator reports in a JobQueue's status, given the planner's
 * decision and the cluster's facts: the Available and Degraded conditions,
 * the phase, and each member's line. Pure, like the planner (plan.ts).
 */
import type { V1StatefulSet } from "@kubernetes/client-node";
import { REASONS, type ConditionInput, type Reason } from "./conditions.js";
import { quorum, type ClusterFacts, type MemberFact } from "./facts.js";
import type { JobQueue, JobQueueMemberStatus, JobQueuePhase } from "./jobqueue-types.js";
import { specWarnings } from "./render.js";

/** The part of the planner's decision that the status reflects. */
export interface DecisionOutline {
  readonly progressing: { readonly reason: Reason; readonly message: string } | null;
  readonly blocked: { readonly reason: Reason; readonly message: string } | null;
}

/** Reasons that mean the member set is changing: phase Scaling. */
const SCALING: ReadonlySet<Reason> = new Set<Reason>([
  REASONS.ScalingUp,
  REASONS.AddingLearner,
  REASONS.WaitingForPod,
  REASONS.WaitingForCatchUp,
  REASONS.PromotingLearner,
  REASONS.ScalingDown,
  REASONS.RemovingMember,
  REASONS.DeletingVolume,
]);

export function memberStatus(m: MemberFact): JobQueueMemberStatus {
  return { id: m.id, address: m.address, role: m.role, alive: m.isAlive, matchIndex: m.matchIndex };
}

/** Available: a leader and a quorum of live voters. */
export function available(sts: V1StatefulSet | null, f: ClusterFacts | null): ConditionInput {
  if (sts === null)
    return { type: "Available", status: false, reason: REASONS.NotCreated, message: "not created yet" };
  if (f === null) {
    return {
      type: "Available",
      status: false,
      reason: REASONS.ClusterUnreachable,
      message: "no member answers",
    };
  }
  if (f.leaderId === "")
    return { type: "Available", status: false, reason: REASONS.NoLeader, message: "no leader" };
  const vs = f.members.filter((m) => m.voter);
  const alive = vs.filter((m) => m.isAlive).length;
  return alive >= quorum(vs.length)
    ? {
        type: "Available",
        status: true,
        reason: REASONS.QuorumAvailable,
        message: `${f.leaderId} leads term ${f.term}; ${alive} of ${vs.length} voters alive`,
      }
    : {
        type: "Available",
        status: false,
        reason: REASONS.QuorumLost,
        message: `${alive} of ${vs.length} voters alive, ${quorum(vs.length)} needed`,
      };
}

/** Degraded: the planner is blocked, a member is down, or the spec earns a warning. */
export function degraded(
  jq: JobQueue,
  replicas: number,
  f: ClusterFacts | null,
  d: DecisionOutline,
): ConditionInput {
  if (d.blocked) return { type: "Degraded", status: true, ...d.blocked };
  const down = (f?.members ?? []).filter((m) => !m.isAlive).map((m) => m.id);
  if (down.length > 0) {
    return {
      type: "Degraded",
      status: true,
      reason: REASONS.MembersDown,
      message: `not answering: ${down.join(", ")}`,
    };
  }
  const warnings = specWarnings(jq);
  if (warnings.length > 0) {
    const even = replicas % 2 === 0;
    return {
      type: "Degraded",
      status: true,
      reason: even ? REASONS.EvenReplicas : REASONS.SpecWarning,
      message: warnings.join("; "),
    };
  }
  return { type: "Degraded", status: false, reason: REASONS.AsExpected, message: "all members healthy" };
}

/** The one-word phase shown by kubectl get. */
export function phaseOf(
  jq: JobQueue,
  sts: V1StatefulSet | null,
  f: ClusterFacts | null,
  d: DecisionOutline,
  avail: ConditionInput,
): JobQueuePhase {
  if (d.blocked?.reason === REASONS.ReplicasRefused) return "Failed";
  if (sts === null) return "Pending";
  if (!avail.status) {
    const before = jq.status?.phase;
    return before === undefined || before === "Pending" || before === "Bootstrapping"
      ? "Bootstrapping"
      : "Degraded";
  }
  if (d.blocked) return "Degraded";
  if (d.progressing && SCALING.has(d.progressing.reason)) return "Scaling";
  if ((f?.members ?? []).some((m) => !m.isAlive)) return "Degraded";
  return "Running";
}

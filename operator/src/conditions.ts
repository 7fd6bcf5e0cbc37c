/** Conditions (Available, Progressing, Degraded) and their reasons. */
import type { JobQueueCondition } from "./jobqueue-types.js";

export const REASONS = {
  // Available
  QuorumAvailable: "QuorumAvailable",
  NotCreated: "NotCreated",
  ClusterUnreachable: "ClusterUnreachable",
  NoLeader: "NoLeader",
  QuorumLost: "QuorumLost",
  // Progressing
  Reconciled: "Reconciled",
  Creating: "Creating",
  Bootstrapping: "Bootstrapping",
  ApplyingObjects: "ApplyingObjects",
  ScalingUp: "ScalingUp",
  AddingLearner: "AddingLearner",
  WaitingForPod: "WaitingForPod",
  WaitingForCatchUp: "WaitingForCatchUp",
  PromotingLearner: "PromotingLearner",
  ScalingDown: "ScalingDown",
  TransferringLeadership: "TransferringLeadership",
  RemovingMember: "RemovingMember",
  DeletingVolume: "DeletingVolume",
  RollingRestart: "RollingRestart",
  WaitingForRestartedMember: "WaitingForRestartedMember",
  // Degraded
  AsExpected: "AsExpected",
  ReplicasRefused: "ReplicasRefused",
  QuorumAtRisk: "QuorumAtRisk",
  RestartNeedsQuorum: "RestartNeedsQuorum",
  NoTransferTarget: "NoTransferTarget",
  MembersDown: "MembersDown",
  EvenReplicas: "EvenReplicas",
  SpecWarning: "SpecWarning",
} as const;

export type Reason = (typeof REASONS)[keyof typeof REASONS];

export interface ConditionInput {
  type: "Available" | "Progressing" | "Degraded";
  status: boolean;
  reason: Reason;
  message: string;
}

/** Builds conditions, keeping lastTransitionTime while a condition's status does not change. */
export function mergeConditions(
  previous: JobQueueCondition[] | undefined,
  next: ConditionInput[],
  now: string,
  generation: number | undefined,
): JobQueueCondition[] {
  return next.map((c) => {
    const status = c.status ? "True" : "False";
    const before = previous?.find((p) => p.type === c.type);
    return {
      type: c.type,
      status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

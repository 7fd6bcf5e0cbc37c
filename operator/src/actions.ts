/**
 * What the planner asks the controller to do. Every action is absolute (set
 * replicas to N, remove member X), so doing one twice after a crash or a stale
 * cache read is harmless: the next plan simply sees the work already done.
 */
import type { JobQueueStatus } from "./jobqueue-types.js";

export type StepAction =
  /** Server-side apply the rendered objects, keeping the StatefulSet at `replicas`. */
  | { kind: "apply-objects"; replicas: number; bootstrapReplicas: number }
  /** Grow or shrink the StatefulSet by one (`to`); `bootstrapReplicas` may shrink with it. */
  | { kind: "scale-statefulset"; from: number; to: number; bootstrapReplicas: number }
  /** AdminService.AddLearner for the pod `id` (the controller knows its address). */
  | { kind: "add-learner"; id: string }
  | { kind: "promote"; id: string }
  | { kind: "transfer-leadership"; from: string; to: string }
  | { kind: "remove-member"; id: string }
  | { kind: "delete-pod"; name: string }
  | { kind: "delete-pvc"; name: string };

export type Action =
  | StepAction
  | { kind: "update-status"; status: JobQueueStatus }
  | { kind: "emit-event"; type: "Normal" | "Warning"; reason: string; message: string }
  | { kind: "requeue-after"; ms: number };

export function isStep(a: Action): a is StepAction {
  return !["update-status", "emit-event", "requeue-after"].includes(a.kind);
}

/**
 * The planner, table-driven: a JobQueue, what Kubernetes shows and what the
 * Raft cluster says, and the one step that must follow. Rows named "resume:"
 * are the states an operator killed between two steps leaves behind.
 */
import { describe, expect, it } from "vitest";
import type { StepAction } from "../../operator/src/actions.js";
import type { ClusterFacts } from "../../operator/src/facts.js";
import type { JobQueue } from "../../operator/src/jobqueue-types.js";
import { plan, type Observed } from "../../operator/src/plan.js";
import {
  condition,
  facts,
  healthy,
  jq,
  NOW,
  observed,
  pod,
  pods,
  pvc,
  pvcs,
  statusOf,
  stepOf,
  sts,
  templateHash,
} from "./plan-fixtures.js";

interface Row {
  name: string;
  jq: JobQueue;
  observed: Observed;
  facts: ClusterFacts | null;
  step: StepAction | null;
  /** Expected reasons: Progressing and Degraded conditions. */
  progressing?: string;
  degraded?: string;
  phase?: string;
}

const q3 = jq(3);
const h3 = templateHash(q3);
const q5 = jq(5, { status: { bootstrapReplicas: 3 } });
const h5 = templateHash(q5);
const q1from3 = jq(1, { status: { bootstrapReplicas: 3 } });
const h1 = templateHash(q1from3);
const restarted = jq(3, { annotations: { "raftq.io/restartedAt": "2030-01-01T00:00:00Z" } });
const hr = templateHash(restarted);
const qRetain = jq(3, {
  spec: { storage: { retentionPolicy: { whenScaled: "Retain" } } },
  status: { bootstrapReplicas: 3 },
});
const q2 = jq(2, { status: { bootstrapReplicas: 2 }, annotations: { "raftq.io/restartedAt": "x" } });
const q1r = jq(1, { status: { bootstrapReplicas: 1 }, annotations: { "raftq.io/restartedAt": "x" } });

const rows: Row[] = [
  // Refusals and creation
  {
    name: "replicas 0 is refused, nothing touched",
    jq: jq(0, { status: { bootstrapReplicas: 3 } }),
    observed: observed(sts(q3, 3), pods(3, h3)),
    facts: healthy(3),
    step: null,
    degraded: "ReplicasRefused",
    phase: "Failed",
  },
  {
    name: "replicas 8 is refused",
    jq: jq(8),
    observed: observed(null, []),
    facts: null,
    step: null,
    degraded: "ReplicasRefused",
  },
  {
    name: "create: the StatefulSet at the bootstrap size",
    jq: q3,
    observed: observed(null, []),
    facts: null,
    step: { kind: "apply-objects", replicas: 3, bootstrapReplicas: 3 },
    progressing: "Creating",
    phase: "Pending",
  },
  {
    name: "re-create after deletion keeps the recorded bootstrap size",
    jq: q5,
    observed: observed(null, []),
    facts: null,
    step: { kind: "apply-objects", replicas: 3, bootstrapReplicas: 3 },
    progressing: "Creating",
  },
  {
    name: "drift: a changed spec is re-applied at the current size",
    jq: jq(3, { spec: { image: { tag: "0.2.0" } } }),
    observed: observed(sts(q3, 3), pods(3, h3)),
    facts: healthy(3),
    step: { kind: "apply-objects", replicas: 3, bootstrapReplicas: 3 },
    progressing: "ApplyingObjects",
  },
  {
    name: "a deleted Service is re-created",
    jq: q3,
    observed: observed(sts(q3, 3), pods(3, h3), [], ["Service/jobs"]),
    facts: healthy(3),
    step: { kind: "apply-objects", replicas: 3, bootstrapReplicas: 3 },
  },
  {
    name: "bootstrapping: no member answers yet",
    jq: q3,
    observed: observed(sts(q3, 3), pods(3, h3, { 2: { running: false, ready: false } })),
    facts: null,
    step: null,
    progressing: "Bootstrapping",
    phase: "Bootstrapping",
  },
  {
    name: "no leader: wait, change nothing",
    jq: q3,
    observed: observed(sts(q3, 3), pods(3, h3)),
    facts: facts(null, 10, [
      [0, true, 10, true],
      [1, true, 10, true],
      [2, true, 10, true],
    ]),
    step: null,
    progressing: "Bootstrapping",
  },
  {
    name: "steady: nothing to do",
    jq: q3,
    observed: observed(sts(q3, 3), pods(3, h3), pvcs(3)),
    facts: healthy(3),
    step: null,
    progressing: "Reconciled",
    degraded: "AsExpected",
    phase: "Running",
  },
  {
    name: "even replicas run but are flagged",
    jq: jq(4, { status: { bootstrapReplicas: 4 } }),
    observed: observed(sts(jq(4), 4, 4), pods(4, templateHash(jq(4), 4))),
    facts: healthy(4),
    step: null,
    degraded: "EvenReplicas",
    phase: "Running",
  },
  {
    name: "a member down: Degraded MembersDown",
    jq: q3,
    observed: observed(sts(q3, 3), pods(3, h3)),
    facts: facts(0, 100, [
      [0, true, 100, true],
      [1, true, 100, true],
      [2, true, 40, false],
    ]),
    step: null,
    degraded: "MembersDown",
    phase: "Degraded",
  },
  // Scale up 3 -> 5
  {
    name: "scale up: grow the StatefulSet by one",
    jq: q5,
    observed: observed(sts(q5, 3), pods(3, h5)),
    facts: healthy(3),
    step: { kind: "scale-statefulset", from: 3, to: 4, bootstrapReplicas: 3 },
    progressing: "ScalingUp",
    phase: "Scaling",
  },
  {
    name: "resume: StatefulSet grown, the new pod not started yet",
    jq: q5,
    observed: observed(sts(q5, 4), [...pods(3, h5), pod(3, h5, { running: false, ready: false })]),
    facts: healthy(3),
    step: null,
    progressing: "WaitingForPod",
  },
  {
    name: "resume: StatefulSet grown, the new pod runs in join mode: add it as a learner",
    jq: q5,
    observed: observed(sts(q5, 4), [...pods(3, h5), pod(3, h5, { ready: false })]),
    facts: healthy(3),
    step: { kind: "add-learner", id: "jobs-3" },
    progressing: "AddingLearner",
  },
  {
    name: "resume: member added, learner still catching up",
    jq: q5,
    observed: observed(sts(q5, 4), pods(4, h5)),
    facts: facts(0, 500, [
      [0, true, 500, true],
      [1, true, 500, true],
      [2, true, 500, true],
      [3, false, 100, true],
    ]),
    step: null,
    progressing: "WaitingForCatchUp",
  },
  {
    name: "resume: member added and caught up: promote",
    jq: q5,
    observed: observed(sts(q5, 4), pods(4, h5)),
    facts: facts(0, 500, [
      [0, true, 500, true],
      [1, true, 500, true],
      [2, true, 500, true],
      [3, false, 495, true],
    ]),
    step: { kind: "promote", id: "jobs-3" },
    progressing: "PromotingLearner",
  },
  {
    name: "a learner that does not answer is not promoted",
    jq: q5,
    observed: observed(sts(q5, 4), pods(4, h5)),
    facts: facts(0, 500, [
      [0, true, 500, true],
      [1, true, 500, true],
      [2, true, 500, true],
      [3, false, 500, false],
    ]),
    step: null,
    progressing: "WaitingForCatchUp",
  },
  {
    name: "resume: promoted, then the next member: grow again",
    jq: q5,
    observed: observed(sts(q5, 4), pods(4, h5)),
    facts: healthy(4),
    step: { kind: "scale-statefulset", from: 4, to: 5, bootstrapReplicas: 3 },
  },
  {
    name: "scale up a cluster whose volume of a scaled-away member is still there: delete it first",
    jq: q5,
    observed: observed(sts(q5, 3), pods(3, h5), pvcs(4)),
    facts: healthy(3),
    step: { kind: "delete-pvc", name: "data-jobs-3" },
    progressing: "DeletingVolume",
  },
  // Scale down 5 -> 3
  {
    name: "scale down: remove the highest member (a follower) first",
    jq: jq(3, { status: { bootstrapReplicas: 3 } }),
    observed: observed(sts(q3, 5), pods(5, h3), pvcs(5)),
    facts: healthy(5),
    step: { kind: "remove-member", id: "jobs-4" },
    progressing: "RemovingMember",
    phase: "Scaling",
  },
  {
    name: "scale down: the highest member leads: move leadership to a caught-up remaining voter",
    jq: q3,
    observed: observed(sts(q3, 5), pods(5, h3)),
    facts: facts(4, 100, [
      [0, true, 90, true],
      [1, true, 100, true],
      [2, true, 95, true],
      [3, true, 100, true],
      [4, true, 100, true],
    ]),
    step: { kind: "transfer-leadership", from: "jobs-4", to: "jobs-1" },
    progressing: "TransferringLeadership",
  },
  {
    name: "scale down: the leader must leave but nobody can take over",
    jq: q3,
    observed: observed(sts(q3, 4), pods(4, h3)),
    facts: facts(3, 100, [
      [0, true, 10, false],
      [1, true, 10, false],
      [2, true, 10, false],
      [3, true, 100, true],
    ]),
    step: null,
    degraded: "NoTransferTarget",
  },
  {
    name: "scale down: removal refused when the rest would not hold quorum",
    jq: jq(3, { status: { bootstrapReplicas: 3, phase: "Running" } }),
    observed: observed(sts(q3, 4), pods(4, h3)),
    facts: facts(0, 100, [
      [0, true, 100, true],
      [1, true, 10, false],
      [2, true, 10, false],
      [3, true, 100, true],
    ]),
    step: null,
    degraded: "QuorumAtRisk",
    phase: "Degraded",
  },
  {
    name: "resume: member removed, StatefulSet not shrunk yet: shrink by one",
    jq: q3,
    observed: observed(sts(q3, 5), pods(5, h3), pvcs(5)),
    facts: healthy(4),
    step: { kind: "scale-statefulset", from: 5, to: 4, bootstrapReplicas: 3 },
    progressing: "ScalingDown",
  },
  {
    name: "the pod of a removed member is still terminating: its volume stays",
    jq: q3,
    observed: observed(sts(q3, 3, 3, 4), [...pods(3, h3), pod(3, h3, { deleting: true })], pvcs(4)),
    facts: healthy(3),
    step: null,
  },
  {
    name: "resume: StatefulSet shrunk and the pod gone: delete the volume",
    jq: q3,
    observed: observed(sts(q3, 3), pods(3, h3), pvcs(4)),
    facts: healthy(3),
    step: { kind: "delete-pvc", name: "data-jobs-3" },
    progressing: "DeletingVolume",
  },
  {
    name: "whenScaled Retain: the volume is kept",
    jq: qRetain,
    observed: observed(sts(qRetain, 3), pods(3, templateHash(qRetain)), pvcs(4)),
    facts: healthy(3),
    step: null,
  },
  {
    name: "3 -> 1: one member at a time, the highest first",
    jq: q1from3,
    observed: observed(sts(q1from3, 3), pods(3, h1), pvcs(3)),
    facts: healthy(3),
    step: { kind: "remove-member", id: "jobs-2" },
  },
  {
    name: "3 -> 1: shrinking below the bootstrap size shrinks --peers with it",
    jq: q1from3,
    observed: observed(sts(q1from3, 3), pods(3, h1), pvcs(3)),
    facts: healthy(2),
    step: { kind: "scale-statefulset", from: 3, to: 2, bootstrapReplicas: 2 },
  },
  {
    name: "3 -> 1: after the first member, the second",
    jq: jq(1, { status: { bootstrapReplicas: 2 } }),
    observed: observed(sts(q1from3, 2, 2), pods(2, h1), pvcs(2)),
    facts: healthy(2),
    step: { kind: "remove-member", id: "jobs-1" },
  },
  {
    name: "target lowered mid scale-up: the learner is removed, no quorum needed",
    jq: q3,
    observed: observed(sts(q3, 4), pods(4, h3)),
    facts: facts(0, 100, [
      [0, true, 100, true],
      [1, true, 100, true],
      [2, true, 100, true],
      [3, false, 10, false],
    ]),
    step: { kind: "remove-member", id: "jobs-3" },
  },
  // Rolling restart
  {
    name: "restart: followers first, the highest ordinal first",
    jq: restarted,
    observed: observed(sts(restarted, 3), pods(3, h3), pvcs(3)),
    facts: healthy(3, 0),
    step: { kind: "delete-pod", name: "jobs-2" },
    progressing: "RollingRestart",
    phase: "Running",
  },
  {
    name: "restart: the restarted member is not Ready yet: wait",
    jq: restarted,
    observed: observed(sts(restarted, 3), [pod(0, h3), pod(1, h3), pod(2, hr, { ready: false })]),
    facts: healthy(3, 0),
    step: null,
    progressing: "WaitingForRestartedMember",
  },
  {
    name: "restart: the restarted member is Ready but behind: wait",
    jq: restarted,
    observed: observed(sts(restarted, 3), [pod(0, h3), pod(1, h3), pod(2, hr)]),
    facts: facts(0, 1000, [
      [0, true, 1000, true],
      [1, true, 1000, true],
      [2, true, 700, true],
    ]),
    step: null,
    progressing: "WaitingForRestartedMember",
  },
  {
    name: "restart: a deleted pod not recreated yet: wait",
    jq: restarted,
    observed: observed(sts(restarted, 3), [pod(0, h3), pod(1, h3)]),
    facts: healthy(3, 0),
    step: null,
    progressing: "WaitingForRestartedMember",
  },
  {
    name: "restart: the next follower once the previous one is back",
    jq: restarted,
    observed: observed(sts(restarted, 3), [pod(0, h3), pod(1, h3), pod(2, hr)]),
    facts: healthy(3, 0),
    step: { kind: "delete-pod", name: "jobs-1" },
  },
  {
    name: "restart: only the leader left: move leadership first",
    jq: restarted,
    observed: observed(sts(restarted, 3), [pod(0, h3), pod(1, hr), pod(2, hr)]),
    facts: healthy(3, 0),
    step: { kind: "transfer-leadership", from: "jobs-0", to: "jobs-1" },
    progressing: "TransferringLeadership",
  },
  {
    name: "restart: the former leader, now a follower, goes last",
    jq: restarted,
    observed: observed(sts(restarted, 3), [pod(0, h3), pod(1, hr), pod(2, hr)]),
    facts: healthy(3, 1),
    step: { kind: "delete-pod", name: "jobs-0" },
  },
  {
    name: "restart: a member down elsewhere: no pod is deleted",
    jq: restarted,
    observed: observed(sts(restarted, 3), pods(3, h3)),
    facts: facts(0, 100, [
      [0, true, 100, true],
      [1, true, 100, true],
      [2, true, 100, false],
    ]),
    step: null,
  },
  {
    name: "restart: two members, deleting one would lose quorum",
    jq: q2,
    observed: observed(sts(q2, 2, 2), pods(2, templateHash(jq(2), 2))),
    facts: healthy(2, 0),
    step: null,
    degraded: "QuorumAtRisk",
  },
  {
    name: "restart: a single member is never restarted by the operator",
    jq: q1r,
    observed: observed(sts(q1r, 1, 1), pods(1, templateHash(jq(1), 1))),
    facts: healthy(1, 0),
    step: null,
    degraded: "RestartNeedsQuorum",
  },
  {
    name: "a resource change restarts too (template hash)",
    jq: jq(3, { spec: { resources: { requests: { cpu: "1" } } } }),
    observed: observed(sts(jq(3, { spec: { resources: { requests: { cpu: "1" } } } }), 3), pods(3, h3)),
    facts: healthy(3, 2),
    step: { kind: "delete-pod", name: "jobs-1" },
  },
  {
    name: "membership first: a learner is promoted before any restart",
    jq: jq(4, { status: { bootstrapReplicas: 3 }, annotations: { "raftq.io/restartedAt": "x" } }),
    observed: observed(sts(jq(4, { annotations: { "raftq.io/restartedAt": "x" } }), 4), pods(4, h3)),
    facts: facts(0, 100, [
      [0, true, 100, true],
      [1, true, 100, true],
      [2, true, 100, true],
      [3, false, 100, true],
    ]),
    step: { kind: "promote", id: "jobs-3" },
  },
];

describe("plan: the next step", () => {
  it.each(rows)("$name", (row) => {
    const actions = plan(row.jq, row.observed, row.facts, { now: NOW });
    expect(stepOf(actions)).toEqual(row.step);
    if (row.progressing) expect(condition(actions, "Progressing")?.reason).toBe(row.progressing);
    if (row.degraded) expect(condition(actions, "Degraded")?.reason).toBe(row.degraded);
    if (row.phase) expect(statusOf(actions)?.phase).toBe(row.phase);
    // At most one step, always a requeue at the end.
    expect(
      actions.filter((a) => !["update-status", "emit-event", "requeue-after"].includes(a.kind)).length,
    ).toBeLessThanOrEqual(1);
    expect(actions[actions.length - 1]?.kind).toBe("requeue-after");
  });
});

describe("plan: status, conditions and events", () => {
  it("records generation, members, leader and ready replicas", () => {
    const q = jq(3, { generation: 4 });
    const actions = plan(
      q,
      observed(sts(q, 3), pods(3, templateHash(q), { 1: { ready: false } })),
      healthy(3, 2),
      {
        now: NOW,
      },
    );
    const st = statusOf(actions)!;
    expect(st.observedGeneration).toBe(4);
    expect(st.leader).toBe("jobs-2");
    expect(st.term).toBe(7);
    expect(st.readyReplicas).toBe(2);
    expect(st.members?.map((m) => [m.id, m.role, m.alive, m.matchIndex])).toEqual([
      ["jobs-0", "follower", true, 100],
      ["jobs-1", "follower", true, 100],
      ["jobs-2", "leader", true, 100],
    ]);
    expect(condition(actions, "Available")).toMatchObject({ status: "True", reason: "QuorumAvailable" });
  });

  it("writes no status when nothing changed, and keeps transition times", () => {
    const first = plan(q3, observed(sts(q3, 3), pods(3, h3)), healthy(3), { now: NOW });
    const status = statusOf(first)!;
    const again = plan({ ...q3, status }, observed(sts(q3, 3), pods(3, h3)), healthy(3), {
      now: "2031-01-01T00:00:00Z",
    });
    expect(again.some((a) => a.kind === "update-status")).toBe(false);
    expect(again).toEqual([{ kind: "requeue-after", ms: 10_000 }]);
  });

  it("each step comes with a Normal event; a new refusal with one Warning", () => {
    const grow = plan(q5, observed(sts(q5, 3), pods(3, h5)), healthy(3), { now: NOW });
    expect(grow.filter((a) => a.kind === "emit-event")).toEqual([
      expect.objectContaining({ type: "Normal", reason: "ScalingUp" }),
    ]);
    const zero = jq(0);
    const refused = plan(zero, observed(sts(q3, 3), pods(3, h3)), healthy(3), { now: NOW });
    expect(refused.filter((a) => a.kind === "emit-event")).toEqual([
      expect.objectContaining({ type: "Warning", reason: "ReplicasRefused" }),
    ]);
    const stillRefused = plan(
      { ...zero, status: statusOf(refused)! },
      observed(sts(q3, 3), pods(3, h3)),
      healthy(3),
      {
        now: NOW,
      },
    );
    expect(stillRefused.filter((a) => a.kind === "emit-event")).toEqual([]);
  });

  it("quorum lost shows as Available=False", () => {
    const actions = plan(
      q3,
      observed(sts(q3, 3), pods(3, h3)),
      facts(0, 100, [
        [0, true, 100, true],
        [1, true, 100, false],
        [2, true, 100, false],
      ]),
      { now: NOW },
    );
    expect(condition(actions, "Available")).toMatchObject({ status: "False", reason: "QuorumLost" });
  });

  it("polls while busy and resyncs slowly when done", () => {
    const busy = plan(q5, observed(sts(q5, 3), pods(3, h5)), healthy(3), { now: NOW, pollMs: 123 });
    expect(busy[busy.length - 1]).toEqual({ kind: "requeue-after", ms: 123 });
    const idle = plan(q3, observed(sts(q3, 3), pods(3, h3)), healthy(3), { now: NOW, resyncMs: 456 });
    expect(idle[idle.length - 1]).toEqual({ kind: "requeue-after", ms: 456 });
  });

  it("a pvc of a member still in the configuration is never deleted", () => {
    // The StatefulSet was shrunk by hand while jobs-3 is still a voter: remove it first.
    const actions = plan(q3, observed(sts(q3, 3), pods(3, h3), [...pvcs(3), pvc(3)]), healthy(4), {
      now: NOW,
    });
    expect(stepOf(actions)).toEqual({ kind: "remove-member", id: "jobs-3" });
  });
});

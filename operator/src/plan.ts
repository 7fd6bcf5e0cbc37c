/**
 * The reconcile decision, as a pure function: given a JobQueue, the objects
 * observed in Kubernetes and the Raft cluster's own view, what to do next.
 *
 * It picks at most ONE step per call (the controller executes it, waits for
 * its caches to see the result and calls plan again), so every state between
 * two steps is a state plan() already knows how to continue from: killing the
 * operator anywhere loses nothing. Order of concerns:
 *
 *   refuse invalid specs > create > re-apply drifted objects > wait for facts >
 *   scale down (shrink StatefulSet, move leadership, remove member, drop PVC) >
 *   scale up (promote learner, add learner, grow StatefulSet) > rolling restart
 */
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { Action, StepAction } from "./actions.js";
import { mergeConditions, REASONS, type ConditionInput, type Reason } from "./conditions.js";
import { desiredObjects } from "./desired.js";
import { quorum, type ClusterFacts, type MemberFact } from "./facts.js";
import { JOBQUEUE_DEFAULTS, type JobQueue, type JobQueueStatus } from "./jobqueue-types.js";
import { ANNOTATIONS, memberId, ordinalOf, pvcName, pvcOrdinal } from "./names.js";
import { available, degraded, memberStatus, phaseOf } from "./plan-status.js";
import { stableJson } from "./desired.js";

export interface Observed {
  statefulSet: V1StatefulSet | null;
  /** This JobQueue's pods (selected by its labels). */
  pods: V1Pod[];
  /** This JobQueue's data claims. */
  pvcs: V1PersistentVolumeClaim[];
  /** Owned objects besides the StatefulSet that should exist but do not ("Service/jobs", ...). */
  missingObjects?: string[];
}

export interface PlanOptions {
  /** RFC 3339 time for lastTransitionTime (the planner reads no clock). */
  now: string;
  /** A learner is promoted, and a restarted member counts as caught up, within this many entries of commit. */
  catchUpMargin?: number;
  /** Requeue delay while work is in progress. */
  pollMs?: number;
  /** Requeue delay when all is done (cluster facts change without Kubernetes events). */
  resyncMs?: number;
  serviceMonitorAvailable?: boolean;
}

export const PLAN_DEFAULTS = { catchUpMargin: 20, pollMs: 1000, resyncMs: 10_000 } as const;

export const MAX_REPLICAS = 7;

interface Decision {
  step: StepAction | null;
  /** Null when nothing is left to do. */
  progressing: { reason: Reason; message: string } | null;
  /** Something the operator refuses or waits on to avoid damage: Degraded=True. */
  blocked: { reason: Reason; message: string } | null;
  /** The Kubernetes Event that records the step. */
  event?: { reason: Reason; message: string };
}

interface Ctx {
  jq: JobQueue;
  name: string;
  replicas: number;
  sts: V1StatefulSet | null;
  stsReplicas: number;
  bootstrap: number;
  pods: Map<number, V1Pod>;
  pvcs: Map<number, V1PersistentVolumeClaim>;
  facts: ClusterFacts | null;
  members: Map<number, MemberFact>;
  margin: number;
  opts: PlanOptions;
  observed: Observed;
}

function positiveInt(v: string | undefined): number | null {
  if (v === undefined || !/^[1-9][0-9]*$/.test(v)) return null;
  return Number(v);
}

/** The members listed in --peers: the smallest size recorded in status or on the StatefulSet. */
export function bootstrapReplicas(jq: JobQueue, sts: V1StatefulSet | null): number {
  const fromStatus = jq.status?.bootstrapReplicas;
  const fromSts = positiveInt(sts?.metadata?.annotations?.[ANNOTATIONS.bootstrapReplicas]);
  const known = [fromStatus, fromSts].filter((x): x is number => typeof x === "number" && x > 0);
  return known.length > 0 ? Math.min(...known) : jq.spec.replicas;
}

export function podReady(p: V1Pod | undefined): boolean {
  if (p === undefined || p.metadata?.deletionTimestamp) return false;
  return (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

export function podRunning(p: V1Pod | undefined): boolean {
  return p !== undefined && !p.metadata?.deletionTimestamp && p.status?.phase === "Running";
}

function context(jq: JobQueue, observed: Observed, facts: ClusterFacts | null, opts: PlanOptions): Ctx {
  const name = jq.metadata.name;
  const pods = new Map<number, V1Pod>();
  for (const p of observed.pods) {
    const k = ordinalOf(name, p.metadata?.name ?? "");
    if (k !== null) pods.set(k, p);
  }
  const pvcs = new Map<number, V1PersistentVolumeClaim>();
  for (const c of observed.pvcs) {
    const k = pvcOrdinal(name, c.metadata?.name ?? "");
    if (k !== null) pvcs.set(k, c);
  }
  const members = new Map<number, MemberFact>();
  for (const m of facts?.members ?? []) {
    const k = ordinalOf(name, m.id);
    if (k !== null) members.set(k, m);
  }
  const sts = observed.statefulSet;
  return {
    jq,
    name,
    replicas: jq.spec.replicas,
    sts,
    stsReplicas: sts?.spec?.replicas ?? 0,
    bootstrap: bootstrapReplicas(jq, sts),
    pods,
    pvcs,
    facts,
    members,
    margin: opts.catchUpMargin ?? PLAN_DEFAULTS.catchUpMargin,
    opts,
    observed,
  };
}

const wait = (reason: Reason, message: string): Decision => ({
  step: null,
  progressing: { reason, message },
  blocked: null,
});
const block = (reason: Reason, message: string, progressing: Reason): Decision => ({
  step: null,
  progressing: { reason: progressing, message },
  blocked: { reason, message },
});
const act = (step: StepAction, reason: Reason, message: string): Decision => ({
  step,
  progressing: { reason, message },
  blocked: null,
  event: { reason, message },
});

function voters(c: Ctx): MemberFact[] {
  return (c.facts?.members ?? []).filter((m) => m.voter);
}

function caughtUp(c: Ctx, m: MemberFact): boolean {
  return m.isAlive && m.matchIndex + c.margin >= (c.facts?.commitIndex ?? 0);
}

/** The voter to hand leadership to: alive, caught up, not excluded, most log first. */
function transferTarget(c: Ctx, exclude: (m: MemberFact) => boolean): MemberFact | null {
  const candidates = voters(c)
    .filter((m) => m.id !== c.facts?.leaderId && !exclude(m) && caughtUp(c, m))
    .sort((a, b) => b.matchIndex - a.matchIndex || a.id.localeCompare(b.id));
  return candidates[0] ?? null;
}

/** Would the voters other than `id` still hold a quorum of the voters? */
function quorumWithout(
  c: Ctx,
  id: string,
  afterRemoval: boolean,
): { ok: boolean; alive: number; need: number } {
  const all = voters(c);
  const rest = all.filter((m) => m.id !== id);
  const alive = rest.filter((m) => m.isAlive).length;
  const need = quorum(afterRemoval ? rest.length : all.length);
  return { ok: alive >= need, alive, need };
}

function decideScaleDown(c: Ctx): Decision | null {
  const { name, replicas: N, stsReplicas: S, facts } = c;
  // 1. A member already left: shrink the StatefulSet by one (its pod goes only now).
  if (S > N && !c.members.has(S - 1)) {
    const to = S - 1;
    return act(
      { kind: "scale-statefulset", from: S, to, bootstrapReplicas: Math.min(c.bootstrap, to) },
      REASONS.ScalingDown,
      `${memberId(name, to)} has left the Raft configuration; shrinking the StatefulSet from ${S} to ${to}`,
    );
  }
  // 2. The highest member beyond spec.replicas leaves the configuration, after leadership moved away.
  const victimOrdinal = Math.max(-1, ...[...c.members.keys()].filter((k) => k >= N));
  const victim = c.members.get(victimOrdinal);
  if (victim !== undefined && facts !== null) {
    if (victim.id === facts.leaderId) {
      const to = transferTarget(c, (m) => {
        const k = ordinalOf(name, m.id);
        return k !== null && k >= N;
      });
      if (to === null) {
        return block(
          REASONS.NoTransferTarget,
          `${victim.id} leads and must leave, but no remaining voter is alive and caught up to take over`,
          REASONS.ScalingDown,
        );
      }
      return act(
        { kind: "transfer-leadership", from: victim.id, to: to.id },
        REASONS.TransferringLeadership,
        `moving leadership from ${victim.id} to ${to.id} before ${victim.id} leaves`,
      );
    }
    if (victim.voter) {
      const q = quorumWithout(c, victim.id, true);
      if (!q.ok) {
        return block(
          REASONS.QuorumAtRisk,
          `not removing ${victim.id}: only ${q.alive} of the remaining voters are alive, ${q.need} are needed`,
          REASONS.ScalingDown,
        );
      }
    }
    return act(
      { kind: "remove-member", id: victim.id },
      REASONS.RemovingMember,
      `removing ${victim.id} from the Raft configuration (scaling towards ${N})`,
    );
  }
  // 3. A claim of a member that left and whose pod is gone: it must not come back with a stale log.
  const whenScaled =
    c.jq.spec.storage?.retentionPolicy?.whenScaled ?? JOBQUEUE_DEFAULTS.storage.retentionPolicy.whenScaled;
  const stsSeen = c.sts?.status?.replicas ?? 0;
  if (whenScaled === "Delete") {
    for (const [k, claim] of [...c.pvcs].sort(([a], [b]) => a - b)) {
      if (k < S || k < stsSeen || c.pods.has(k) || c.members.has(k) || claim.metadata?.deletionTimestamp)
        continue;
      return act(
        { kind: "delete-pvc", name: pvcName(name, k) },
        REASONS.DeletingVolume,
        `deleting ${pvcName(name, k)}: ${memberId(name, k)} left the cluster and its pod is gone`,
      );
    }
  }
  return null;
}

function decideScaleUp(c: Ctx): Decision | null {
  const { name, replicas: N, stsReplicas: S, facts } = c;
  if (facts === null) return null;
  // 1. A learner catches up, then votes.
  const learners = [...c.members].filter(([k, m]) => k < N && !m.voter).sort(([a], [b]) => a - b);
  const first = learners[0];
  if (first !== undefined) {
    const [, m] = first;
    if (!caughtUp(c, m)) {
      return wait(
        REASONS.WaitingForCatchUp,
        `learner ${m.id} is at ${m.matchIndex} of ${facts.commitIndex}${m.isAlive ? "" : " and not answering"}`,
      );
    }
    return act(
      { kind: "promote", id: m.id },
      REASONS.PromotingLearner,
      `promoting ${m.id} to voter: caught up at ${m.matchIndex} of ${facts.commitIndex}`,
    );
  }
  // 2. A pod of the StatefulSet that is not a member yet joins as a learner.
  for (let k = 0; k < Math.min(S, N); k++) {
    if (c.members.has(k)) continue;
    const id = memberId(name, k);
    if (!podRunning(c.pods.get(k))) {
      return wait(REASONS.WaitingForPod, `waiting for pod ${id} to start in join mode`);
    }
    return act({ kind: "add-learner", id }, REASONS.AddingLearner, `adding ${id} as a learner`);
  }
  // 3. Every pod is a voter: grow by one.
  if (S < N) {
    return act(
      { kind: "scale-statefulset", from: S, to: S + 1, bootstrapReplicas: c.bootstrap },
      REASONS.ScalingUp,
      `growing the StatefulSet from ${S} to ${S + 1}; ${memberId(name, S)} will start in join mode`,
    );
  }
  return null;
}

function podHash(p: V1Pod | undefined): string | undefined {
  return p?.metadata?.annotations?.[ANNOTATIONS.templateHash];
}

function decideRestart(c: Ctx, templateHash: string): Decision | null {
  const { name, replicas: N, facts } = c;
  if (facts === null) return null;
  const outdated: number[] = [];
  for (let k = 0; k < N; k++) {
    const p = c.pods.get(k);
    if (p !== undefined && !p.metadata?.deletionTimestamp && podHash(p) !== templateHash) outdated.push(k);
  }
  if (outdated.length === 0) return null;
  // The previous restart must be complete: every member Ready, answering and caught up.
  for (let k = 0; k < N; k++) {
    const id = memberId(name, k);
    const m = c.members.get(k);
    if (!podReady(c.pods.get(k)) || m === undefined || !caughtUp(c, m)) {
      return wait(
        REASONS.WaitingForRestartedMember,
        `rolling restart: waiting for ${id} to be Ready and caught up (${outdated.length} to restart)`,
      );
    }
  }
  if (voters(c).length < 2) {
    return block(
      REASONS.RestartNeedsQuorum,
      `restarting the only member would stop the cluster; delete pod ${memberId(name, 0)} yourself to accept that`,
      REASONS.RollingRestart,
    );
  }
  const leaderOrdinal = ordinalOf(name, facts.leaderId);
  const followers = outdated.filter((k) => k !== leaderOrdinal);
  const k = followers.length > 0 ? followers[followers.length - 1]! : leaderOrdinal!;
  const id = memberId(name, k);
  if (k === leaderOrdinal) {
    const to = transferTarget(c, () => false);
    if (to === null) {
      return block(
        REASONS.NoTransferTarget,
        `no caught-up voter can take over from ${id}`,
        REASONS.RollingRestart,
      );
    }
    return act(
      { kind: "transfer-leadership", from: id, to: to.id },
      REASONS.TransferringLeadership,
      `rolling restart: moving leadership from ${id} to ${to.id} before restarting it`,
    );
  }
  const q = quorumWithout(c, id, false);
  if (!q.ok) {
    return block(
      REASONS.QuorumAtRisk,
      `not restarting ${id}: the other ${q.alive} live voters would not hold a quorum of ${q.need}`,
      REASONS.RollingRestart,
    );
  }
  return act(
    { kind: "delete-pod", name: id },
    REASONS.RollingRestart,
    `rolling restart: deleting pod ${id} (${outdated.length} of ${N} to restart, the leader last)`,
  );
}

function decide(c: Ctx, templateHash: string, appliedHash: string): Decision {
  const { name, replicas: N, sts, stsReplicas: S, facts } = c;
  if (!Number.isInteger(N) || N < 1 || N > MAX_REPLICAS) {
    const why =
      N === 0
        ? "replicas 0 is refused: raftq cannot stop a cluster by scaling it to zero without losing its quorum; delete the JobQueue instead"
        : `replicas ${String(N)} is refused: a JobQueue has 1 to ${MAX_REPLICAS} members`;
    return { step: null, progressing: null, blocked: { reason: REASONS.ReplicasRefused, message: why } };
  }
  if (sts === null) {
    return act(
      { kind: "apply-objects", replicas: c.bootstrap, bootstrapReplicas: c.bootstrap },
      REASONS.Creating,
      `creating StatefulSet ${name} with ${c.bootstrap} bootstrap members, its Services and PodDisruptionBudget`,
    );
  }
  const missing = c.observed.missingObjects ?? [];
  if (sts.metadata?.annotations?.[ANNOTATIONS.appliedHash] !== appliedHash || missing.length > 0) {
    return act(
      { kind: "apply-objects", replicas: S, bootstrapReplicas: c.bootstrap },
      REASONS.ApplyingObjects,
      missing.length > 0
        ? `re-creating ${missing.join(", ")}`
        : `applying the changed spec to ${name}'s objects`,
    );
  }
  if (facts === null) {
    const running = [...c.pods.values()].filter(podRunning).length;
    return running < S
      ? wait(REASONS.Bootstrapping, `${running} of ${S} pods running; waiting for the cluster to answer`)
      : wait(REASONS.Bootstrapping, "no member answers GetClusterStatus yet");
  }
  if (facts.leaderId === "") return wait(REASONS.Bootstrapping, "the members know no leader yet");
  return (
    decideScaleDown(c) ??
    decideScaleUp(c) ??
    decideRestart(c, templateHash) ?? { step: null, progressing: null, blocked: null }
  );
}

/**
 * The next actions: at most one step, its event, a status update when the
 * status changed, a Warning event when a new blocking reason appears, and when
 * to look again.
 */
export function plan(
  jq: JobQueue,
  observed: Observed,
  cluster: ClusterFacts | null,
  opts: PlanOptions,
): Action[] {
  const c = context(jq, observed, cluster, opts);
  const valid = Number.isInteger(c.replicas) && c.replicas >= 1 && c.replicas <= MAX_REPLICAS;
  const hashes = valid
    ? desiredObjects(jq, {
        replicas: c.stsReplicas,
        bootstrapReplicas: c.bootstrap,
        ...(opts.serviceMonitorAvailable !== undefined
          ? { serviceMonitorAvailable: opts.serviceMonitorAvailable }
          : {}),
      })
    : { templateHash: "", appliedHash: "" };
  const d = decide(c, hashes.templateHash, hashes.appliedHash);

  const avail = available(c.sts, c.facts);
  const progressing: ConditionInput = d.progressing
    ? { type: "Progressing", status: true, ...d.progressing }
    : { type: "Progressing", status: false, reason: REASONS.Reconciled, message: "nothing to do" };
  const degr = degraded(jq, c.replicas, c.facts, d);
  const generation = jq.metadata.generation;
  const ready = [...c.pods.values()].filter(podReady).length;
  const f = c.facts;
  const status: JobQueueStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    phase: phaseOf(jq, c.sts, c.facts, d, avail),
    replicas: c.stsReplicas,
    readyReplicas: ready,
    bootstrapReplicas: d.step?.kind === "scale-statefulset" ? d.step.bootstrapReplicas : c.bootstrap,
    ...(f && f.leaderId ? { leader: f.leaderId } : {}),
    ...(f ? { term: f.term, commitIndex: f.commitIndex } : {}),
    members: (f?.members ?? []).map(memberStatus).sort((a, b) => a.id.localeCompare(b.id)),
    conditions: mergeConditions(jq.status?.conditions, [avail, progressing, degr], opts.now, generation),
  };

  const actions: Action[] = [];
  if (d.step) actions.push(d.step);
  if (d.event)
    actions.push({ kind: "emit-event", type: "Normal", reason: d.event.reason, message: d.event.message });
  const beforeDegraded = jq.status?.conditions?.find((x) => x.type === "Degraded");
  if (d.blocked && beforeDegraded?.reason !== d.blocked.reason) {
    actions.push({
      kind: "emit-event",
      type: "Warning",
      reason: d.blocked.reason,
      message: d.blocked.message,
    });
  }
  if (stableJson(jq.status ?? {}) !== stableJson(status)) actions.push({ kind: "update-status", status });
  const busy = d.step !== null || d.progressing !== null || d.blocked !== null;
  actions.push({
    kind: "requeue-after",
    ms: busy ? (opts.pollMs ?? PLAN_DEFAULTS.pollMs) : (opts.resyncMs ?? PLAN_DEFAULTS.resyncMs),
  });
  return actions;
}

/**
 * Checks a chaos history against the queue's guarantees. Pure: history in,
 * violations out (each a sentence naming the job and the operations).
 *
 * 1. lost: every job whose submit was acknowledged exists in the final state.
 * 2. duplicates: one idempotency key -> at most one job, and every
 *    acknowledgement for a key names the same job.
 * 3. double completion: at most one completion per job is accepted as new
 *    (duplicate=false); a report with a stale token is never accepted after
 *    a newer assignment of the job was observed.
 * 4. double running: one (job, attempt) is never assigned with two tokens or
 *    to two workers; two attempts never share a token.
 * 5. final state consistent with the history: replicas agree; a Completed
 *    job's result is one a worker reported with the token it was given; an
 *    accepted completion ends Completed with that result; Cancelled only if
 *    a cancel was sent; acknowledged cancel and accepted completion never both.
 * 6. linearizable reads never go back in time: after a read saw a job at
 *    progress p, no later read (invoked after it completed) sees less; a read
 *    invoked after a submit/completion/cancel was acknowledged reflects it.
 */
import type { FinalState, JobView, Op } from "./history.js";

export interface CheckResult {
  violations: string[];
  /** not safety violations: jobs not finished when the run ended, etc. */
  warnings: string[];
  stats: Record<string, number>;
}

const TERMINAL = new Set(["JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"]);

/**
 * A job's progress as a number that only grows along its lifecycle:
 * Pending(0) < Running(1) < Pending/Scheduled(1) after a lost attempt < Running(2) ... < terminal.
 */
export function progress(j: Pick<JobView, "state" | "attempts">): number {
  const n = j.attempts;
  if (j.state === "JOB_STATE_RUNNING") return 3 * n;
  if (TERMINAL.has(j.state)) return 3 * n + 2;
  return 3 * n + 1; // pending / scheduled
}

type OpOf<K extends Op["kind"]> = Extract<Op, { kind: K }>;

export function check(history: Op[], final: FinalState): CheckResult {
  const v: string[] = [];
  const warnings: string[] = [];
  const of = <K extends Op["kind"]>(k: K) => history.filter((o): o is OpOf<K> => o.kind === k);
  const submits = of("submit");
  const completes = of("complete");
  const cancels = of("cancel");
  const reads = of("read");
  const assigned = of("assigned");
  const say = (s: string) => {
    if (v.length < 200) v.push(s);
  };

  // A node that did not apply the final commit index is reported (liveness) and left out of the comparison.
  const nodeIds = Object.keys(final.nodes).filter((id) => {
    const applied = final.applied?.[id];
    if (final.commit === undefined || applied === undefined || applied >= final.commit) return true;
    say(
      `liveness: ${id} did not catch up (applied ${applied} < commit ${final.commit}) after the faults healed`,
    );
    return false;
  });
  const finalJobs = new Map<string, JobView>();
  const ref = nodeIds[0];
  for (const j of ref ? final.nodes[ref]! : []) finalJobs.set(j.id, j);

  // 5a. replicas agree on every job.
  for (const id of nodeIds.slice(1)) {
    const other = new Map(final.nodes[id]!.map((j) => [j.id, j]));
    if (other.size !== finalJobs.size)
      say(`replicas disagree: ${ref} holds ${finalJobs.size} jobs, ${id} holds ${other.size}`);
    for (const [jid, a] of finalJobs) {
      const b = other.get(jid);
      if (b === undefined) say(`replicas disagree: job ${jid} on ${ref} but not on ${id}`);
      else if (
        b.state !== a.state ||
        b.attempts !== a.attempts ||
        b.result !== a.result ||
        b.token !== a.token
      )
        say(
          `replicas disagree on job ${jid}: ${ref} ${a.state}/${a.attempts}/${a.token}, ${id} ${b.state}/${b.attempts}/${b.token}`,
        );
    }
  }

  // 1. no acknowledged job lost; 2. idempotent retries made no duplicates.
  const ackByKey = new Map<string, string>();
  for (const s of submits) {
    if (s.outcome !== "ok" || !s.jobId) continue;
    if (!finalJobs.has(s.jobId))
      say(`lost: job ${s.jobId} (key ${s.key || "-"}) acknowledged at ${s.completeMs} is missing`);
    if (s.key) {
      const prev = ackByKey.get(s.key);
      if (prev !== undefined && prev !== s.jobId)
        say(`duplicate: key ${s.key} acknowledged as ${prev} and as ${s.jobId}`);
      ackByKey.set(s.key, s.jobId);
    }
  }
  const jobsByKey = new Map<string, string[]>();
  for (const j of finalJobs.values()) {
    if (!j.idempotencyKey) continue;
    jobsByKey.set(j.idempotencyKey, [...(jobsByKey.get(j.idempotencyKey) ?? []), j.id]);
  }
  for (const [key, ids] of jobsByKey)
    if (ids.length > 1) say(`duplicate: key ${key} created ${ids.join(", ")}`);
  // Jobs that no submit could have created.
  const sentKeys = new Set(submits.map((s) => s.key));
  for (const j of finalJobs.values())
    if (j.idempotencyKey && !sentKeys.has(j.idempotencyKey))
      say(`phantom: job ${j.id} has key ${j.idempotencyKey} that no client sent`);
  const keylessSent = submits.filter((s) => !s.key).length;
  const keylessJobs = [...finalJobs.values()].filter((j) => !j.idempotencyKey).length;
  if (keylessJobs > keylessSent)
    say(`phantom: ${keylessJobs} jobs without a key, only ${keylessSent} such submits sent`);

  // 4. one (job, attempt) -> one token and one worker; tokens unique across attempts.
  const byAttempt = new Map<string, { token: number; worker: string }>();
  const tokenAttempt = new Map<string, number>();
  for (const a of assigned) {
    const k = `${a.jobId}#${a.attempt}`;
    const prev = byAttempt.get(k);
    if (prev && (prev.token !== a.token || prev.worker !== a.process))
      say(
        `double running: job ${a.jobId} attempt ${a.attempt} assigned to ${prev.worker} (token ${prev.token}) and ${a.process} (token ${a.token})`,
      );
    if (!prev) byAttempt.set(k, { token: a.token, worker: a.process });
    const tk = `${a.jobId}@${a.token}`;
    const pa = tokenAttempt.get(tk);
    if (pa !== undefined && pa !== a.attempt)
      say(`double running: job ${a.jobId} token ${a.token} used for attempts ${pa} and ${a.attempt}`);
    tokenAttempt.set(tk, a.attempt);
  }

  // 3. one accepted completion per job; never a stale token after a newer assignment was seen.
  const assignedAt = new Map<string, OpOf<"assigned">[]>();
  for (const a of assigned) assignedAt.set(a.jobId, [...(assignedAt.get(a.jobId) ?? []), a]);
  const accepted = new Map<string, OpOf<"complete">>();
  for (const c of completes) {
    if (c.outcome !== "ok") continue;
    const attemptOfToken = tokenAttempt.get(`${c.jobId}@${c.token}`);
    const newer = (assignedAt.get(c.jobId) ?? []).find(
      (a) =>
        a.token !== c.token &&
        a.atMs < c.invokeMs &&
        attemptOfToken !== undefined &&
        a.attempt > attemptOfToken,
    );
    if (newer && c.duplicate !== true)
      say(
        `stale completion accepted: job ${c.jobId} token ${c.token} by ${c.process} at ${c.invokeMs}, after attempt ${newer.attempt} (token ${newer.token}) was assigned to ${newer.process} at ${newer.atMs}`,
      );
    if (c.duplicate === true) continue;
    const prev = accepted.get(c.jobId);
    if (prev && prev.token !== c.token)
      say(
        `double completion: job ${c.jobId} accepted from ${prev.process} (token ${prev.token}) and ${c.process} (token ${c.token})`,
      );
    else if (prev) say(`double completion: job ${c.jobId} token ${c.token} accepted twice as new`);
    accepted.set(c.jobId, c);
  }

  // 5b. final state consistent with the history.
  const reportedResults = new Map<string, Set<string>>();
  for (const c of completes) {
    if (c.outcome === "fail") continue;
    reportedResults.set(c.jobId, (reportedResults.get(c.jobId) ?? new Set()).add(c.result));
  }
  const cancelSent = new Set(cancels.filter((c) => c.outcome !== "fail").map((c) => c.jobId));
  const cancelAcked = new Set(cancels.filter((c) => c.outcome === "ok" && c.cancelled).map((c) => c.jobId));
  let unfinished = 0;
  for (const j of finalJobs.values()) {
    const acc = accepted.get(j.id);
    if (j.state === "JOB_STATE_COMPLETED") {
      if (!(reportedResults.get(j.id)?.has(j.result) ?? false))
        say(
          `inconsistent: job ${j.id} Completed with result ${JSON.stringify(j.result)} that no worker reported`,
        );
      if (acc && acc.result !== j.result)
        say(`inconsistent: job ${j.id} completion ${acc.result} was accepted but the job holds ${j.result}`);
    } else if (acc)
      say(`inconsistent: job ${j.id} completion accepted (token ${acc.token}) but it ended ${j.state}`);
    if (j.state === "JOB_STATE_CANCELLED" && !cancelSent.has(j.id))
      say(`inconsistent: job ${j.id} Cancelled but no cancel was sent`);
    if (cancelAcked.has(j.id) && acc)
      say(`inconsistent: job ${j.id} both cancelled (acknowledged) and completed (accepted)`);
    if (cancelAcked.has(j.id) && j.state !== "JOB_STATE_CANCELLED")
      say(`inconsistent: job ${j.id} cancel acknowledged but it ended ${j.state}`);
    if (j.state === "JOB_STATE_FAILED") say(`inconsistent: job ${j.id} Failed but no worker ever failed it`);
    if (!TERMINAL.has(j.state)) unfinished++;
  }
  if (unfinished > 0) warnings.push(`${unfinished} jobs not finished when the run ended`);

  // 6. linearizable reads: monotonic per job, and reflect acknowledged writes.
  const readsByJob = new Map<string, OpOf<"read">[]>();
  for (const r of reads)
    if (r.outcome === "ok") readsByJob.set(r.jobId, [...(readsByJob.get(r.jobId) ?? []), r]);
  const submitAck = new Map<string, number>();
  for (const s of submits)
    if (s.outcome === "ok" && s.jobId)
      submitAck.set(s.jobId, Math.min(submitAck.get(s.jobId) ?? Infinity, s.completeMs));
  for (const [jobId, rs] of readsByJob) {
    const sorted = [...rs].sort((a, b) => a.completeMs - b.completeMs);
    let best: OpOf<"read"> | null = null;
    let bestP = -1;
    for (const r of [...rs].sort((a, b) => a.invokeMs - b.invokeMs)) {
      // The highest progress seen by reads that completed before this one was invoked.
      for (const p of sorted) {
        if (p.completeMs >= r.invokeMs) break;
        const pp = p.notFound ? -1 : progress(p.job!);
        if (pp > bestP) {
          bestP = pp;
          best = p;
        }
      }
      const rp = r.notFound ? -1 : progress(r.job!);
      if (rp < bestP && best)
        say(
          `read went back in time: job ${jobId} read on ${r.node} at ${r.invokeMs} saw ${r.notFound ? "NOT_FOUND" : `${r.job!.state}/${r.job!.attempts}`} after a read on ${best.node} completed at ${best.completeMs} saw ${best.notFound ? "NOT_FOUND" : `${best.job!.state}/${best.job!.attempts}`}`,
        );
      const ack = submitAck.get(jobId);
      if (r.notFound && ack !== undefined && ack < r.invokeMs)
        say(
          `stale read: job ${jobId} NOT_FOUND on ${r.node} at ${r.invokeMs}, its submit was acknowledged at ${ack}`,
        );
      const acc = accepted.get(jobId);
      if (acc && acc.completeMs < r.invokeMs && r.job?.state !== "JOB_STATE_COMPLETED")
        say(
          `stale read: job ${jobId} read ${r.job?.state ?? "NOT_FOUND"} on ${r.node} at ${r.invokeMs}, its completion was acknowledged at ${acc.completeMs}`,
        );
    }
  }

  const count = (xs: { outcome: string }[], o: string) => xs.filter((x) => x.outcome === o).length;
  return {
    violations: v,
    warnings,
    stats: {
      submits: submits.length,
      submitsOk: count(submits, "ok"),
      submitsUnknown: count(submits, "unknown"),
      jobs: finalJobs.size,
      completed: [...finalJobs.values()].filter((j) => j.state === "JOB_STATE_COMPLETED").length,
      completionsSent: completes.length,
      completionsAccepted: accepted.size,
      completionsRejected: count(completes, "fail"),
      assignments: assigned.length,
      reassigned: [...assignedAt.values()].filter((a) => new Set(a.map((x) => x.token)).size > 1).length,
      reads: reads.length,
      readsOk: count(reads, "ok"),
      cancels: cancels.length,
      faults: history.filter((o) => o.kind === "nemesis").length,
      unfinished,
    },
  };
}

/**
 * The `replace-member` fault: a member's disk is lost for good, and the operator follows
 * docs/operations.md, "Restore one lost member": kill -9 it, remove it from the cluster, wipe its
 * data dir, start it empty with --join, add it back as a learner and promote it once it has
 * caught up (by InstallSnapshot). Meanwhile the cluster runs on two voters, under whatever the
 * network nemesis does, and the clients and workers keep going.
 *
 * Why the order matters: the member must be out of the configuration before its empty
 * incarnation talks to anyone. An empty node that is still a voter has forgotten its vote and
 * its log, and could vote twice in a term or count towards a commit it no longer holds.
 */
import { rm } from "node:fs/promises";
import { sleep, type LocalStatus } from "../../../bench/lib/cluster.js";
import type { NemesisContext } from "./nemesis.js";

/** Every step of a replacement together must finish within this (a few network faults long). */
export const REPLACE_MEMBER_DEADLINE_MS = 60_000;
/** A membership call's own deadline; it is retried (idempotently: the state is read back) until the step's. */
const CALL_TIMEOUT_MS = 5_000;
const POLL_MS = 250;

export interface MemberReplacements {
  /** Replacements that ended with the member a voter again. */
  done: number;
  /** Removals that did not commit in time: the member came back with its data (not a violation). */
  abandoned: number;
}

type Role = "absent" | "learner" | "voter";

/** The leader, as the running nodes other than `id` agree on it, and its own status; or null. */
async function leaderView(
  x: NemesisContext,
  id: string,
): Promise<{ via: string; status: LocalStatus } | null> {
  const via = await x.cluster.waitForLeader(3000, [id]).catch(() => null);
  if (via === null) return null;
  const status = await x.cluster.localStatus(via).catch(() => null);
  return status === null || status.leaderId !== via ? null : { via, status };
}

/** The member's role in the configuration as the leader sees it. */
async function roleOf(x: NemesisContext, id: string): Promise<{ role: Role; via: string } | null> {
  const view = await leaderView(x, id);
  if (view === null) return null;
  const m = view.status.members.find((v) => v.id === id);
  return {
    role: m === undefined ? "absent" : m.role === "MEMBER_ROLE_LEARNER" ? "learner" : "voter",
    via: view.via,
  };
}

/**
 * Calls `method` on the leader until the configuration shows `want` for `id`, or the deadline
 * passes. An error only means "read the state back and maybe call again": a call that timed out
 * may have committed, and a repeated one is refused as already done.
 */
async function until(
  x: NemesisContext,
  id: string,
  want: Role,
  method: string,
  request: object,
  deadline: number,
): Promise<boolean> {
  while (Date.now() < deadline) {
    const now = await roleOf(x, id);
    if (now?.role === want) return true;
    if (now !== null) {
      await x.cluster.call(now.via, "AdminService", method, request, CALL_TIMEOUT_MS).catch(() => undefined);
    }
    await sleep(POLL_MS);
  }
  return false;
}

/** Runs the whole replacement of `id` (a running node). Violations go to x.unexpectedExits. */
export async function replaceMember(
  x: NemesisContext,
  id: string,
  counts: MemberReplacements,
): Promise<void> {
  const deadline = Date.now() + REPLACE_MEMBER_DEADLINE_MS;
  x.expectedDown.add(id);
  x.note(`${id} loses its disk: kill -9, remove it, wipe it, start it empty with --join, add and promote it`);
  await x.cluster.kill(id);
  if (!(await until(x, id, "absent", "RemoveMember", { id }, deadline))) {
    // Nothing was lost yet: bring it back as it was (a slow removal is not a fault of the cluster's).
    x.note(`the removal of ${id} did not commit in time: it restarts with its data`);
    counts.abandoned++;
    await x.cluster.startNode(id);
    x.expectedDown.delete(id);
    x.watchExits();
    return;
  }
  x.note(`${id} removed`);
  await rm(x.cluster.node(id).dataDir, { recursive: true, force: true });
  await x.cluster.startNode(id, ["--join"]);
  x.expectedDown.delete(id);
  x.watchExits();
  const failed = (step: string): void => {
    x.unexpectedExits.push(
      `replace-member: ${id} was not ${step} within ${REPLACE_MEMBER_DEADLINE_MS} ms of its removal's start`,
    );
    x.note(`!! ${id} was not ${step} in time`);
  };
  const address = x.cluster.peerAddress(id);
  if (!(await until(x, id, "learner", "AddLearner", { id, address }, deadline))) return failed("added");
  x.note(`${id} added as a learner`);
  if (!(await caughtUp(x, id, deadline))) return failed("caught up");
  if (!(await until(x, id, "voter", "PromoteMember", { id }, deadline))) return failed("promoted");
  counts.done++;
  x.note(`${id} is a voter again`);
}

/** The learner has applied what the leader had committed when we first asked. */
async function caughtUp(x: NemesisContext, id: string, deadline: number): Promise<boolean> {
  let target: number | null = null;
  while (Date.now() < deadline) {
    if (target === null) {
      target = (await leaderView(x, id))?.status.commitIndex ?? null;
    } else {
      const st = await x.cluster.localStatus(id).catch(() => null);
      const applied = st?.members.find((m) => m.id === id)?.appliedIndex ?? 0;
      if (applied >= target) return true;
    }
    await sleep(POLL_MS);
  }
  return false;
}

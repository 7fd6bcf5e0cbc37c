/**
 * The nemesis of a chaos run (test/chaos/lib/run.ts): one fault at a time, chosen by the run's
 * seeded random source, until the end of the fault period. Each fault heals itself before the
 * next (a killed node is restarted, a paused one continued, links healed). A node's own exit is
 * a violation unless the fault expects it (`expectedDown`), or a disk fault made it stop the way
 * the node must: exit 1 after logging the fatal error.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { sleep, type BenchCluster } from "../../../bench/lib/cluster.js";
import { FAIL_AFTER_WRITES_ENV, FAULT_FILE_ENV, setDiskFault } from "../../../src/storage/index.js";
import { replaceMember, type MemberReplacements } from "./replace-member.js";

/** A disk fault lets a node make this many writes, plus up to DISK_FAULT_EXTRA_WRITES more, before its disk fails. */
const DISK_FAULT_MIN_WRITES = 5;
const DISK_FAULT_EXTRA_WRITES = 60;
/** How long a node with a failing disk has to reach its failure and stop (clients keep submitting meanwhile). */
const DISK_FAULT_WAIT_MS = 10_000;
/** What a node logs before it exits on a storage error (src/cli/raftq-node.ts). */
const FATAL_EXIT_MESSAGE = '"msg":"exiting after a fatal error"';

/** Faults on a node's process or disk: one of these at a time. */
export const PROCESS_FAULTS = [
  "kill",
  "pause",
  "restart",
  "kill-leader",
  "disk-fault",
  "leader-disk-fault",
  "slow-disk",
  "leader-disk-stall",
  "replace-member",
] as const;
/** Faults on the peer links (through the proxies): one of these at a time. */
export const NETWORK_FAULTS = ["isolate", "stall-link", "one-way", "delay"] as const;
/** Every fault: what one nemesis picks from when faults do not overlap. */
export const FAULTS = [...PROCESS_FAULTS, ...NETWORK_FAULTS] as const;
export type Fault = (typeof FAULTS)[number];

/**
 * Disk faults that stopped their node, those whose node had not written enough to reach the
 * failure in time, and stalled leader disks with how many of them moved leadership.
 */
export interface DiskFaultCounts {
  failed: number;
  notReached: number;
  /** Of `failed`: a running leader's disk failing mid-term (the others fail a restarted node's). */
  midTerm: number;
  /** `leader-disk-stall` faults, and those after which another node led (the hand-off worked). */
  leaderStalls: number;
  leaderStallsMoved: number;
}

/** What the nemesis works on and reports to (owned by the run). */
export interface NemesisContext {
  readonly cluster: BenchCluster;
  readonly ids: readonly string[];
  /** The run's seeded source: the same seed picks the same faults in the same order. */
  readonly random: () => number;
  readonly pick: <T>(xs: readonly T[]) => T;
  /** Records a nemesis event in the history and the log. */
  readonly note: (what: string) => void;
  /** When the fault period ends (epoch ms). */
  readonly endAt: number;
  /** Nodes a fault has taken down on purpose: their exit is not a crash. */
  readonly expectedDown: Set<string>;
  /** Watches newly started node processes for exits nobody expected. */
  readonly watchExits: () => void;
  readonly unexpectedExits: string[];
  readonly diskFaults: DiskFaultCounts;
  readonly memberReplacements: MemberReplacements;
  /** Records peer connections that go around the proxies (checked after the run). */
  readonly noteBypasses: () => Promise<void>;
}

/**
 * The file that says what a node's disk does while it exists (RAFTQ_FAULT_STORAGE_FILE: "fail"
 * or "delay <ms>"): every node of a chaos cluster starts with it set (chaosNodeEnv), so any
 * running node's disk can go bad or slow at once, a leader's mid-term included.
 */
export function diskFaultFile(clusterDir: string, id: string): string {
  return join(clusterDir, `${id}.disk-fault`);
}

/** For ClusterOptions.nodeEnv: each node's fault file, in the cluster's base dir. */
export function chaosNodeEnv(clusterDir: string): (id: string) => Record<string, string> {
  return (id) => ({ [FAULT_FILE_ENV]: diskFaultFile(clusterDir, id) });
}

interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** The node's current process's exit, watched from now (before its fault starts, so none is missed). */
function exitOf(x: NemesisContext, id: string): Promise<Exit> {
  const proc = x.cluster.node(id).proc;
  if (proc === null) return Promise.resolve({ code: null, signal: null });
  return new Promise((res) => proc.once("exit", (code, signal) => res({ code, signal })));
}

/**
 * Waits for a node whose disk failed to stop, and judges how: exit 1 after logging the fatal
 * error is the only right way (true). A node that does not get to its failing write in time is
 * killed.
 */
async function judgeDiskFault(
  x: NemesisContext,
  id: string,
  what: string,
  exited: Promise<Exit>,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    exited,
    new Promise<null>((res) => (timer = setTimeout(() => res(null), DISK_FAULT_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (exit === null) {
    x.diskFaults.notReached++;
    x.note(`${id} did not ${what} in ${DISK_FAULT_WAIT_MS} ms: kill -9`);
    await x.cluster.kill(id);
    return false;
  }
  await sleep(300); // the node's last stderr lines reach its log file after it exits
  const logText = await readFile(join(x.cluster.baseDir, `${id}.log`), "utf8").catch(() => "");
  const sawFatal = logText.indexOf(FATAL_EXIT_MESSAGE, logText.lastIndexOf(" start #")) >= 0;
  if (exit.code === 1 && sawFatal) {
    x.diskFaults.failed++;
    x.note(`${id} stopped on its disk error (exit 1)`);
    return true;
  }
  x.unexpectedExits.push(
    `${id} ended with ${exit.code ?? exit.signal} after its disk failed, where it must exit 1 after logging the fatal error: see ${join(x.cluster.baseDir, id + ".log")}`,
  );
  x.note(`!! ${id} ended with ${exit.code ?? exit.signal} on a failing disk`);
  return false;
}

async function restartOnWorkingDisk(x: NemesisContext, id: string): Promise<void> {
  await x.cluster.startNode(id);
  x.expectedDown.delete(id);
  x.watchExits();
  x.note(`${id} restarted on a working disk`);
}

/**
 * One nemesis: a fault from `faults` at a time until the end of the fault period. With
 * overlapping faults a run has two, one over PROCESS_FAULTS and one over NETWORK_FAULTS, each
 * with its own random source, so a link can be cut while a node is down, paused or on a failing
 * disk (only the network nemesis heals links).
 */
export async function runNemesis(x: NemesisContext, faults: readonly Fault[] = FAULTS): Promise<void> {
  while (Date.now() < x.endAt - 2000) {
    await sleep(500 + x.random() * 1500);
    await x.noteBypasses();
    const f = x.pick(faults);
    const target = x.pick(x.ids);
    const holdMs = 500 + x.random() * 3000;
    if (f === "kill" || f === "kill-leader") {
      let id = target;
      if (f === "kill-leader") id = await x.cluster.waitForLeader(3000).catch(() => target);
      if (x.cluster.node(id).proc === null) continue;
      x.expectedDown.add(id);
      x.note(`kill -9 ${id}${f === "kill-leader" ? " (leader)" : ""}; restart in ${holdMs.toFixed(0)} ms`);
      await x.cluster.kill(id);
      await sleep(holdMs);
      await x.cluster.startNode(id);
      x.expectedDown.delete(id);
      x.watchExits();
      x.note(`${id} restarted`);
    } else if (f === "disk-fault") {
      // The node comes back on a disk that fails after a few writes. It must stop by itself
      // (crash-fail-safe: never go on after a failed write), and what it acknowledged before
      // must survive on the others; then it rejoins on a working disk.
      if (x.cluster.node(target).proc === null) continue;
      const writes = DISK_FAULT_MIN_WRITES + Math.floor(x.random() * DISK_FAULT_EXTRA_WRITES);
      x.expectedDown.add(target);
      x.note(`kill -9 ${target}; restart it on a disk that fails after ${writes} writes`);
      await x.cluster.kill(target);
      await x.cluster.startNode(target, [], { [FAIL_AFTER_WRITES_ENV]: String(writes) });
      await judgeDiskFault(x, target, `reach ${writes} writes`, exitOf(x, target));
      await restartOnWorkingDisk(x, target);
    } else if (f === "leader-disk-fault") {
      // The leader's disk fails mid-term, with its followers holding entries it has not made
      // durable: it must stop on its next write, and a new leader must keep every write the
      // clients were told succeeded (the checker's first rule).
      const leader = await x.cluster.waitForLeader(3000).catch(() => null);
      if (leader === null || x.cluster.node(leader).proc === null) continue;
      x.expectedDown.add(leader);
      x.note(`the disk of ${leader} (leader) fails now`);
      const file = diskFaultFile(x.cluster.baseDir, leader);
      const exited = exitOf(x, leader);
      await setDiskFault(file, "fail");
      try {
        if (await judgeDiskFault(x, leader, "write", exited)) x.diskFaults.midTerm++;
      } finally {
        await rm(file, { force: true });
      }
      await restartOnWorkingDisk(x, leader);
    } else if (f === "slow-disk") {
      // A gray failure: the disk works, slowly. Nothing may be lost or stop; half the time it
      // is the leader's (its followers' writes must carry the commits meanwhile).
      const id = x.random() < 0.5 ? await x.cluster.waitForLeader(3000).catch(() => target) : target;
      const ms = 20 + Math.floor(x.random() * 280);
      const file = diskFaultFile(x.cluster.baseDir, id);
      x.note(`every write of ${id} takes ${ms} ms longer for ${holdMs.toFixed(0)} ms`);
      await setDiskFault(file, { delayMs: ms });
      await sleep(holdMs);
      await rm(file, { force: true });
      x.note(`${id}'s disk is well again`);
    } else if (f === "leader-disk-stall") {
      // The leader's disk holds its writes for 6-9 s (no error): past DISK_STALL_HANDOFF_MS it
      // must hand leadership to a follower, and nothing may stop or be lost.
      const leader = await x.cluster.waitForLeader(3000).catch(() => null);
      if (leader === null) continue;
      const ms = 6000 + Math.floor(x.random() * 3000);
      const file = diskFaultFile(x.cluster.baseDir, leader);
      x.note(`the disk of ${leader} (leader) holds every write for ${ms} ms`);
      await setDiskFault(file, { delayMs: ms });
      await sleep(500); // the writes issued meanwhile stall; later ones find the disk well
      await rm(file, { force: true });
      await sleep(ms);
      const now = await x.cluster.waitForLeader(3000).catch(() => "none");
      x.diskFaults.leaderStalls++;
      if (now !== leader && now !== "none") x.diskFaults.leaderStallsMoved++;
      x.note(`${leader}'s disk is well again; the leader is ${now}`);
    } else if (f === "replace-member") {
      if (x.cluster.node(target).proc === null) continue;
      await replaceMember(x, target, x.memberReplacements);
    } else if (f === "pause") {
      if (x.cluster.node(target).proc === null) continue;
      x.note(`SIGSTOP ${target} for ${holdMs.toFixed(0)} ms`);
      await x.cluster.signal(target, "SIGSTOP");
      await sleep(holdMs);
      await x.cluster.signal(target, "SIGCONT");
      x.note(`SIGCONT ${target}`);
    } else if (f === "restart") {
      if (x.cluster.node(target).proc === null) continue;
      x.expectedDown.add(target);
      x.note(`graceful restart of ${target}`);
      await x.cluster.signal(target, "SIGTERM");
      await x.cluster.startNode(target);
      x.expectedDown.delete(target);
      x.watchExits();
    } else if (f === "isolate") {
      const mode = x.random() < 0.5 ? "stall" : "sever";
      x.note(`isolate ${target} (${mode}) for ${holdMs.toFixed(0)} ms`);
      for (const [k, l] of x.cluster.links)
        if (k.startsWith(`${target}>`) || k.endsWith(`>${target}`)) l.setMode(mode);
      await sleep(holdMs);
      x.cluster.healAll();
      x.note("heal");
    } else if (f === "stall-link" || f === "one-way") {
      const other = x.pick(x.ids.filter((id) => id !== target));
      const both = f === "stall-link";
      x.note(`cut ${target}${both ? "<->" : "->"}${other} for ${holdMs.toFixed(0)} ms`);
      x.cluster.links.get(`${target}>${other}`)?.setMode("sever");
      if (both) x.cluster.links.get(`${other}>${target}`)?.setMode("sever");
      await sleep(holdMs);
      x.cluster.healAll();
      x.note("heal");
    } else {
      const ms = 5 + Math.floor(x.random() * 150);
      x.note(`delay every link of ${target} by ${ms} ms for ${holdMs.toFixed(0)} ms`);
      for (const [k, l] of x.cluster.links)
        if (k.startsWith(`${target}>`) || k.endsWith(`>${target}`)) l.setDelay(ms);
      await sleep(holdMs);
      x.cluster.healAll();
      x.note("heal");
    }
  }
}

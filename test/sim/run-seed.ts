import { voters } from "../../src/raft/index.js";
import { SimCluster } from "./cluster.js";
import type { SimApp } from "./app.js";

export interface SeedRunOptions {
  seed: number;
  /** Ticks of faults before everything heals. */
  faultTicks?: number;
  /** Ticks allowed after healing for a leader to be elected and commit (liveness). */
  livenessTicks?: number;
  app?: () => SimApp;
  /** InstallSnapshot chunk sizes to draw from (default [3, 64, 4096], for tiny snapshots). */
  snapshotChunkBytes?: readonly number[];
}

export interface SeedRunResult {
  seed: number;
  nodes: number;
  ticks: number;
  events: number;
  committed: number;
  readsServed: number;
  ok: boolean;
  error?: string;
  trace?: string;
}

/**
 * One randomized run: a 3, 5 or 7 node cluster, clients proposing all along,
 * and a seeded schedule of faults (loss, delay, reordering, duplication,
 * partitions, leader isolation, crashes losing unsynced writes, restarts,
 * slow disks, membership changes, leadership transfers, snapshots). Safety is
 * checked after every tick; after the faults heal, a leader must be elected
 * and a new proposal committed within `livenessTicks`.
 */
export function runSeed(opts: SeedRunOptions): SeedRunResult {
  const faultTicks = opts.faultTicks ?? 1500;
  const livenessTicks = opts.livenessTicks ?? 1500;
  const setup = new SimCluster({ seed: opts.seed, nodes: 3 }); // only to draw the cluster shape
  const size = setup.rng.pick([3, 3, 5, 5, 7]);
  const c = new SimCluster({
    seed: opts.seed,
    nodes: size,
    snapshotThreshold: setup.rng.pick([10, 30, 100]),
    raft: {
      snapshotTailEntries: setup.rng.pick([0, 5, 20]),
      snapshotChunkBytes: setup.rng.pick(opts.snapshotChunkBytes ?? [3, 64, 4096]),
      commitNoticeOnTick: setup.rng.pick([false, true]),
    },
    ...(opts.app ? { app: opts.app } : {}),
  });
  const r = c.rng;
  let proposals = 0;
  const base: Omit<SeedRunResult, "ok" | "ticks" | "events" | "committed" | "readsServed"> = {
    seed: opts.seed,
    nodes: size,
  };
  try {
    for (let t = 0; t < faultTicks; t++) {
      injectFaults(c);
      if (r.chance(0.5)) {
        const k = r.int(1, 3);
        for (let i = 0; i < k; i++) if (c.propose(`s${opts.seed}-p${proposals}`) !== null) proposals++;
      }
      if (r.chance(0.03)) {
        const up = c.upNodes();
        if (up.length > 0) c.readIndex(r.pick(up).id);
      }
      c.step();
    }
    // Heal everything and check liveness.
    c.heal();
    c.net.dropRate = 0;
    c.net.duplicateRate = 0;
    for (const n of c.nodes.values()) {
      n.diskDelayTicks = 0;
      if (!n.up && isMember(c, n.id)) c.restart(n.id);
    }
    const target = `s${opts.seed}-final`;
    // Propose on whoever leads; a proposal from a deposed leader may be lost, so
    // propose again on each new leader until one commits it in its own term.
    let proposal: { index: number; term: number } | null = null;
    const live = c.runUntil(() => {
      const l = c.leader();
      if (l === undefined) return false;
      const st = l.core.status();
      if (proposal === null || proposal.term !== st.term) {
        const r = l.core.propose([new TextEncoder().encode(target)]);
        proposal = r.ok ? { index: r.firstIndex, term: r.term } : null;
        return false;
      }
      return st.commit >= proposal.index && l.core.termAt(proposal.index) === proposal.term;
    }, livenessTicks);
    if (!live)
      throw new Error(`liveness: no leader committed a new entry within ${livenessTicks} ticks of healing`);
    return {
      ...base,
      ok: true,
      ticks: c.now,
      events: c.events,
      committed: c.maxCommit(),
      readsServed: c.readsServed,
    };
  } catch (e) {
    return {
      ...base,
      ok: false,
      ticks: c.now,
      events: c.events,
      committed: c.maxCommit(),
      readsServed: c.readsServed,
      error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      trace: c.traceText(),
    };
  }
}

function isMember(c: SimCluster, id: string): boolean {
  // Ask the leader, else the node (up or crashed) that applied the most and
  // knows a configuration at all. (It used to ask the first up node, and a lone
  // join-mode node, which knows no configuration yet, said nobody is a member:
  // no crashed voter was ever restarted and the run failed liveness.)
  let ref = c.leader();
  if (ref === undefined) {
    for (const n of c.nodes.values()) {
      const st = n.core.status();
      if (st.membership.members.length === 0) continue;
      if (ref === undefined || st.applied > ref.core.status().applied) ref = n;
    }
  }
  if (ref === undefined) return true;
  return ref.core.status().membership.members.some((m) => m.id === id);
}

function injectFaults(c: SimCluster): void {
  const r = c.rng;
  const ids = [...c.nodes.keys()];
  const all = [...c.nodes.values()];
  if (r.chance(0.004)) {
    const n = r.pick(
      all
        .filter((x) => x.up)
        .map((x) => x.id)
        .concat(["-"]),
    );
    if (n !== "-") c.crash(n);
  }
  if (r.chance(0.02)) {
    const down = all.filter((x) => !x.up && isMember(c, x.id));
    if (down.length > 0) c.restart(r.pick(down).id);
  }
  if (r.chance(0.003)) {
    const shuffled = [...ids].sort(() => r.next() - 0.5);
    const k = r.int(1, Math.floor(ids.length / 2));
    c.partition(shuffled.slice(0, k), shuffled.slice(k));
  }
  if (r.chance(0.002)) {
    const a = r.pick(ids);
    const b = r.pick(ids);
    if (a !== b) {
      c.net.cut(a, b);
      c.note(`cut ${a} -> ${b} (one way)`);
    }
  }
  if (r.chance(0.003)) {
    const l = c.leader();
    if (l !== undefined) c.isolate(l.id);
  }
  if (r.chance(0.01) && c.net.hasCuts()) c.heal();
  if (r.chance(0.005)) {
    c.net.dropRate = r.pick([0, 0, 0.02, 0.1, 0.3]);
    c.net.duplicateRate = r.pick([0, 0.02, 0.1]);
    c.net.delayMaxTicks = r.pick([1, 2, 5, 12]);
    c.note(`network drop=${c.net.dropRate} dup=${c.net.duplicateRate} delay<=${c.net.delayMaxTicks}`);
  }
  if (r.chance(0.004)) {
    const n = r.pick(all);
    n.diskDelayTicks = r.pick([0, 0, 2, 8]);
    c.note(`disk of ${n.id} takes ${n.diskDelayTicks} ticks`);
  }
  if (r.chance(0.004)) {
    const l = c.leader();
    if (l !== undefined) {
      const vs = voters(l.core.status().membership).filter((v) => v !== l.id);
      if (vs.length > 0) {
        const to = r.pick(vs);
        l.core.transferLeadership(to);
        c.note(`${l.id} transfers leadership to ${to}`);
      }
    }
  }
  if (r.chance(0.004)) membershipChange(c);
}

/** Grow, promote or shrink the cluster by one, keeping 3..7 voters. */
function membershipChange(c: SimCluster): void {
  const r = c.rng;
  const l = c.leader();
  if (l === undefined) return;
  const st = l.core.status();
  const vs = voters(st.membership);
  const learners = st.membership.members.filter((m) => m.role === "learner");
  const learner = learners[0];
  if (learner !== undefined) {
    const pr = st.peers.find((p) => p.id === learner.id);
    if (pr !== undefined && pr.match >= st.commit - 5)
      c.proposeConfChange({ type: "promote", nodeId: learner.id });
    return;
  }
  if (vs.length < 7 && r.chance(0.5)) {
    const n = c.addJoiningNode();
    c.proposeConfChange({ type: "addLearner", nodeId: n.id, address: `${n.id}:7700` });
  } else if (vs.length > 3) {
    const victim = r.pick(vs);
    c.proposeConfChange({ type: "remove", nodeId: victim });
  }
}

// Raw throughput of the consensus core alone: a 3-node cluster of RaftCore in
// this process, no faults, no real I/O. Messages are delivered in memory,
// "persistence" is immediate (advance() right after ready()), the application
// only counts. Clients propose batches of 100 commands of 128 bytes on the
// leader, closed loop: at most INFLIGHT entries proposed and not yet committed.
//
// The rate is per wall-clock second (and per CPU second, for a shared machine).
//
// Run: npx tsx bench/raft-throughput.ts
//   BENCH_MS=3000 (measured duration)  BATCH=100  CMD_BYTES=128  INFLIGHT=8192
import { performance } from "node:perf_hooks";
import { RaftCore, type Member, type Message, type NodeId } from "../src/raft/index.js";

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 500);
const BATCH = Number(process.env.BATCH ?? 100);
const CMD_BYTES = Number(process.env.CMD_BYTES ?? 128);
const INFLIGHT = Number(process.env.INFLIGHT ?? 8192);
const TARGET = 1_000_000;

const ids: NodeId[] = ["n1", "n2", "n3"];
const members: Member[] = ids.map((id) => ({ id, address: `${id}:7700`, role: "voter" }));
let seed = 1;
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const cores = new Map<NodeId, RaftCore>(
  ids.map((id) => [
    id,
    new RaftCore({
      id,
      initialMembers: members,
      random: rand,
      // Room for the closed loop: the defaults would refuse beyond 16k uncommitted entries.
      maxUncommittedEntries: Math.max(16 * 1024, 2 * INFLIGHT),
    }),
  ]),
);
const applied = new Map<NodeId, number>(ids.map((id) => [id, 0]));
let inbox: Message[] = [];

/** Drain every node: "persist" at once, queue messages, count applied entries, advance. */
function pump(): void {
  for (const [id, core] of cores) {
    while (core.hasReady()) {
      const rd = core.ready();
      for (const m of rd.messages) inbox.push(m);
      if (rd.committedEntries.length > 0) applied.set(id, applied.get(id)! + rd.committedEntries.length);
      core.advance(rd);
    }
  }
}

/** Deliver what is queued (one network round). */
function deliver(): void {
  const batch = inbox;
  inbox = [];
  for (const m of batch) cores.get(m.to)!.step(m);
}

// Elect n1.
const leader = cores.get("n1")!;
for (let i = 0; i < 1000 && leader.status().role !== "leader"; i++) {
  leader.tick();
  pump();
  deliver();
  pump();
}
if (leader.status().role !== "leader") throw new Error("no leader");
for (let i = 0; i < 10; i++) {
  pump();
  deliver();
}

const commands = Array.from({ length: BATCH }, (_, i) => new Uint8Array(CMD_BYTES).fill(i & 0xff));
let proposed = 0;
let refused = 0;
let rounds = 0;
let messages = 0;

function run(ms: number): { commits: number; appliedMin: number; secs: number; cpuSecs: number } {
  const c0 = leader.status().commit;
  const a0 = Math.min(...applied.values());
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let now = t0;
  let tickAt = t0;
  while (now - t0 < ms) {
    const commit = leader.status().commit;
    const last = leader.status().lastIndex;
    for (let k = 0; k < 16 && last + k * BATCH - commit < INFLIGHT; k++) {
      const r = leader.propose(commands);
      if (r.ok) proposed += BATCH;
      else refused++;
    }
    pump();
    messages += inbox.length;
    deliver();
    pump();
    messages += inbox.length;
    deliver();
    rounds++;
    if ((rounds & 63) === 0) {
      now = performance.now();
      // Logical time moves too (heartbeats, CheckQuorum), about every 10 ms.
      if (now - tickAt >= 10) {
        tickAt = now;
        for (const core of cores.values()) core.tick();
      }
    }
  }
  pump();
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuSecs: (cpu.user + cpu.system) / 1e6,
    commits: leader.status().commit - c0,
    appliedMin: Math.min(...applied.values()) - a0,
    secs,
  };
}

run(WARMUP_MS);
proposed = 0;
refused = 0;
rounds = 0;
messages = 0;
const r = run(DURATION_MS);
const commitRate = r.commits / r.secs;
const applyRate = r.appliedMin / r.secs;
// The machine may be shared: CPU time shows what the core costs regardless of contention.
const cpuRate = r.commits / r.cpuSecs;
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
console.log(
  `raft core throughput: 3 nodes in one process, in-memory delivery, immediate persistence, no faults`,
);
console.log(
  `settings: batch=${BATCH} commands x ${CMD_BYTES} B, in-flight<=${INFLIGHT} entries, ` +
    `duration=${DURATION_MS} ms (+${WARMUP_MS} ms warm-up), node ${process.version}`,
);
console.log(
  `committed on the leader: ${fmt(r.commits)} in ${r.secs.toFixed(2)} s = ${fmt(commitRate)} commands/s`,
);
console.log(`applied on all 3 nodes:  ${fmt(r.appliedMin)} per node = ${fmt(applyRate)} commands/s`);
console.log(
  `cpu time: ${r.cpuSecs.toFixed(2)} s (all 3 nodes on one thread) = ${fmt(cpuRate)} commands per cpu-second`,
);
console.log(
  `proposed: ${fmt(proposed)}, rounds: ${fmt(rounds)}, messages: ${fmt(messages)}, refused: ${refused}, ` +
    `target ${fmt(TARGET)}/s: ${commitRate >= TARGET ? "MET" : "NOT MET"}`,
);

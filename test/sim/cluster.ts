import type { ConfChange, Member, Message, NodeId, RaftConfigInput } from "../../src/raft/index.js";
import { HashChainApp, type SimApp } from "./app.js";
import { SafetyChecker, SafetyViolation } from "./checker.js";
import { SimNetwork } from "./network.js";
import { Prng } from "./prng.js";
import { SimNode } from "./sim-node.js";

export interface SimClusterOptions {
  seed: number;
  nodes: number;
  /** Applied entries between snapshots (small, so compaction and InstallSnapshot happen often). */
  snapshotThreshold?: number;
  raft?: Partial<RaftConfigInput>;
  app?: () => SimApp;
  /** Pairwise log-matching check every N steps. */
  thoroughEvery?: number;
  traceSize?: number;
}

/**
 * A whole cluster of cores over a simulated clock and network. Scenario tests
 * drive it by hand; the randomized runner (run-seed.ts) drives it from a seed.
 */
export class SimCluster {
  readonly rng: Prng;
  readonly net: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly nodes = new Map<NodeId, SimNode>();
  now = 0;
  private readonly trace: string[] = [];
  private readonly traceSize: number;
  private readonly opts: SimClusterOptions;
  private readCounter = 0;
  /** Linearizability of ReadIndex: the highest commit anyone saw before the read was asked. */
  private readonly pendingReads = new Map<number, number>();
  readsServed = 0;
  events = 0;
  private nextNodeNumber: number;

  constructor(opts: SimClusterOptions) {
    this.opts = opts;
    this.rng = new Prng(opts.seed);
    this.net = new SimNetwork(this.rng.fork());
    this.traceSize = opts.traceSize ?? 60;
    const members: Member[] = [];
    for (let i = 1; i <= opts.nodes; i++) members.push({ id: `n${i}`, address: `n${i}:7700`, role: "voter" });
    for (const m of members) this.nodes.set(m.id, this.makeNode(m.id, members));
    this.nextNodeNumber = opts.nodes + 1;
  }

  private makeNode(id: NodeId, initialMembers: readonly Member[]): SimNode {
    return new SimNode(
      id,
      initialMembers,
      this.rng.fork(),
      this.opts.app ?? (() => new HashChainApp()),
      this.opts.raft ?? {},
      this.opts.snapshotThreshold ?? 1000,
      {
        send: (m) => this.net.send(m, this.now),
        applied: (n, e) => this.checker.onApplied(n, e),
        restored: (n, s) => this.checker.onRestored(n, s.metadata.index),
        readState: (n, requestId, index) => this.onReadState(n, requestId, index),
      },
    );
  }

  note(event: string): void {
    this.trace.push(`t=${this.now} ${event}`);
    if (this.trace.length > this.traceSize) this.trace.shift();
  }

  traceText(): string {
    return this.trace.join("\n");
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** The up leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.upNodes()) {
      const st = n.core.status();
      if (st.role === "leader" && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** One tick of simulated time: deliver due messages, tick everyone, drain, check. */
  step(): void {
    this.now++;
    for (const m of this.net.due(this.now)) this.deliver(m);
    for (const n of this.nodes.values()) if (n.up) n.core.tick();
    for (const n of this.nodes.values()) if (n.up) n.process(this.now);
    const every = this.opts.thoroughEvery ?? 25;
    this.checker.check([...this.nodes.values()], this.now % every === 0);
    this.events++;
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n === undefined || !n.up) return;
    n.core.step(m);
    this.events++;
  }

  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.step();
  }

  /** Step until `pred` holds; false if it did not within `maxTicks`. */
  runUntil(pred: () => boolean, maxTicks: number): boolean {
    for (let i = 0; i < maxTicks; i++) {
      if (pred()) return true;
      this.step();
    }
    return pred();
  }

  waitForLeader(maxTicks = 1000): SimNode {
    if (!this.runUntil(() => this.leader() !== undefined, maxTicks)) throw new Error("no leader elected");
    return this.leader()!;
  }

  /** Propose on the current leader; returns the entry index or null. */
  propose(data: Uint8Array | string): number | null {
    const l = this.leader();
    if (l === undefined) return null;
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const r = l.core.propose([bytes]);
    return r.ok ? r.firstIndex : null;
  }

  proposeConfChange(cc: ConfChange): boolean {
    const l = this.leader();
    if (l === undefined) return false;
    const r = l.core.proposeConfChange(cc);
    if (r.ok) this.note(`${l.id} proposes ${cc.type} ${cc.nodeId}`);
    return r.ok;
  }

  /** Start a new node in join mode (knows nobody; waits to be added). */
  addJoiningNode(): SimNode {
    const id = `n${this.nextNodeNumber++}`;
    const n = this.makeNode(id, []);
    this.nodes.set(id, n);
    this.note(`start ${id} in join mode`);
    return n;
  }

  crash(id: NodeId): void {
    this.node(id).crash();
    this.note(`crash ${id}`);
  }

  restart(id: NodeId): void {
    this.node(id).restart();
    this.note(`restart ${id}`);
  }

  isolate(id: NodeId): void {
    const others = [...this.nodes.keys()].filter((x) => x !== id);
    this.net.partition([id], others);
    this.note(`isolate ${id}`);
  }

  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.net.partition(a, b);
    this.note(`partition [${a.join(",")}] | [${b.join(",")}]`);
  }

  heal(): void {
    this.net.heal();
    this.note("heal network");
  }

  /** Highest commit index any node knows. */
  maxCommit(): number {
    let m = 0;
    for (const n of this.nodes.values()) if (n.up) m = Math.max(m, n.core.status().commit);
    return m;
  }

  /** Ask `id` for a linearizable read point. */
  readIndex(id: NodeId): void {
    const requestId = ++this.readCounter;
    this.pendingReads.set(requestId, Math.max(this.maxCommit(), this.checker.maxApplied));
    this.node(id).core.readIndex(requestId);
  }

  private onReadState(n: SimNode, requestId: number, index: number): void {
    const floor = this.pendingReads.get(requestId);
    this.pendingReads.delete(requestId);
    if (floor === undefined || index < 0) return;
    if (index < floor)
      throw new SafetyViolation(
        `linearizable read: ${n.id} got read index ${index} for request ${requestId}, but ${floor} was committed before it was asked`,
      );
    this.readsServed++;
  }
}

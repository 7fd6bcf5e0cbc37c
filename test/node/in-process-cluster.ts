// Three Replicas in one process, joined by an in-memory transport: for scenario tests
// of the runtime around the core (apply queue, snapshots, Ready loop) that need peers
// but no sockets. Messages are delivered on a later turn of the event loop, in order.
import pino from "pino";
import { afterEach } from "vitest";
import { RaftCore, type Message, type NodeId, type RaftConfigInput } from "../../src/raft/index.js";
import { Replica } from "../../src/node/replica.js";
import { NodeMetrics } from "../../src/observability/metrics.js";
import type { SnapshotOutput, SnapshotPhase, StateMachine } from "../../src/node/state-machine.js";
import { MemoryStorage, type RaftStorage } from "../../src/storage/index.js";
import type { Transport, TransportStats } from "../../src/transport/transport.js";

/**
 * Counts applied commands. Its snapshots can be held in their copying phase
 * (`holdCopy`), which holds its node's apply queue: a node that cannot apply.
 */
export class CountingMachine implements StateMachine {
  appliedIndex = 0;
  commands = 0;
  holdCopy = false;
  /** Snapshots that reached their copying phase. */
  snapshotsStarted = 0;

  apply(index: number): unknown {
    this.appliedIndex = index;
    return ++this.commands;
  }

  skip(index: number): void {
    this.appliedIndex = index;
  }

  restore(data: Uint8Array, index: number): void {
    this.commands = data.byteLength === 0 ? 0 : new DataView(data.buffer, data.byteOffset).getUint32(0);
    this.appliedIndex = index;
  }

  *snapshotSteps(output: SnapshotOutput): Generator<SnapshotPhase, Uint8Array, void> {
    this.snapshotsStarted++;
    while (this.holdCopy) yield "copying";
    const data = output.allocate(4);
    new DataView(data.buffer, data.byteOffset).setUint32(0, this.commands);
    return data;
  }
}

class Network {
  readonly handlers = new Map<NodeId, (m: Message) => void>();
  /** Directed links ("n1>n2") whose messages are dropped. */
  readonly cut = new Set<string>();
  /** Messages delivered, by type ("append" split into "append" and "append(empty)"). */
  readonly deliveredByType = new Map<string, number>();

  transportFor(id: NodeId): Transport {
    return {
      send: (messages) => {
        const batch = [...messages];
        setImmediate(() => {
          for (const m of batch) {
            const h = this.handlers.get(m.to);
            if (h !== undefined && !this.cut.has(`${m.from}>${m.to}`)) {
              const kind = m.type === "append" && m.entries.length === 0 ? "append(empty)" : m.type;
              this.deliveredByType.set(kind, (this.deliveredByType.get(kind) ?? 0) + 1);
              h(m);
            }
          }
        });
      },
      setPeers: () => undefined,
      onMessage: (h) => void this.handlers.set(id, h),
      stats: () => ({ peers: new Map(), inbound: {} }) as unknown as TransportStats,
      close: async () => void this.handlers.delete(id),
    };
  }
}

export interface InProcessNode {
  readonly id: NodeId;
  readonly replica: Replica;
  /** The replica's Raft core, for reading its status (drive it through the replica only). */
  readonly core: RaftCore;
  readonly machine: CountingMachine;
  /** With `metrics: true`, else null. */
  readonly metrics: NodeMetrics | null;
}

export interface InProcessClusterOptions {
  /** Committed entries waiting to be applied at which a node's apply queue is full. */
  readonly applyPauseItems?: number;
  readonly snapshotThreshold?: number;
  readonly raft?: Partial<RaftConfigInput>;
  /** Give every node a NodeMetrics registry (else none). */
  readonly metrics?: boolean;
  /** Each node's storage (default: a MemoryStorage that syncs at once). */
  readonly storageFor?: (id: NodeId) => RaftStorage;
  /** A leader whose own write is in flight this long hands leadership on (Replica's default otherwise). */
  readonly diskStallHandoffMs?: number;
}

/** Three voters ticking every 5 ms (election timeout 75-150 ms, heartbeat 25 ms). */
export class InProcessCluster {
  readonly nodes: InProcessNode[] = [];
  readonly net = new Network();

  static async start(o: InProcessClusterOptions = {}): Promise<InProcessCluster> {
    const c = new InProcessCluster();
    const ids = ["n1", "n2", "n3"];
    const members = ids.map((id) => ({ id, address: `mem:${id}`, role: "voter" as const }));
    ids.forEach((id, i) => {
      const machine = new CountingMachine();
      const metrics = o.metrics === true ? new NodeMetrics(id, "in-process") : null;
      let seed = i + 1;
      const core = new RaftCore({
        id,
        initialMembers: members,
        // Deterministic per node, different between nodes: no split votes forever.
        random: () => (seed = (seed * 16807) % 2147483647) / 2147483647,
        ...o.raft,
      });
      const replica = new Replica({
        core,
        storage: o.storageFor?.(id) ?? new MemoryStorage(),
        transport: c.net.transportFor(id),
        stateMachine: machine,
        logger: pino({ level: "silent" }),
        metrics,
        tickMs: 5,
        maxPendingProposals: 256,
        proposalTimeoutMs: 5000,
        snapshotThreshold: o.snapshotThreshold ?? 1_000_000,
        seedPeers: new Map(),
        onFatal: (e) => {
          throw e;
        },
        ...(o.applyPauseItems !== undefined && { applyPauseItems: o.applyPauseItems }),
        ...(o.diskStallHandoffMs !== undefined && { diskStallHandoffMs: o.diskStallHandoffMs }),
      });
      c.nodes.push({ id, replica, core, machine, metrics });
    });
    for (const n of c.nodes) n.replica.start();
    await c.waitFor(() => c.leader() !== undefined, 5000, "a leader");
    return c;
  }

  leader(): InProcessNode | undefined {
    const leaders = this.nodes.filter((n) => n.replica.isLeader());
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  followers(): InProcessNode[] {
    return this.nodes.filter((n) => !n.replica.isLeader());
  }

  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.replica.stop()));
  }
}

/**
 * For a test file: `const clusters = clustersStoppedAfterEach();` at describe level, then
 * `const c = await clusters.start(...)` in a test; the cluster is stopped after that test.
 */
export function clustersStoppedAfterEach(): {
  start(o?: InProcessClusterOptions): Promise<InProcessCluster>;
} {
  const started: InProcessCluster[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((c) => c.stop()));
  });
  return {
    async start(o) {
      const c = await InProcessCluster.start(o);
      started.push(c);
      return c;
    },
  };
}

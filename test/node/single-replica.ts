// One Replica on its own, in process: for tests of the runtime around the core.
import { expect } from "vitest";
import pino, { type Logger } from "pino";
import { RaftCore } from "../../src/raft/index.js";
import { Replica } from "../../src/node/replica.js";
import type { StateMachine } from "../../src/node/state-machine.js";
import type { NodeMetrics } from "../../src/observability/metrics.js";
import { MemoryStorage, type RaftStorage } from "../../src/storage/index.js";
import type { Transport } from "../../src/transport/transport.js";

/** A single node talks to no one. */
const silentTransport: Transport = {
  send: () => undefined,
  setPeers: () => undefined,
  onMessage: () => undefined,
  stats: () => ({ peers: new Map(), inbound: {} }) as unknown as ReturnType<Transport["stats"]>,
  close: async () => undefined,
};

export interface SingleNodeOptions {
  readonly storage?: RaftStorage;
  readonly logger?: Logger;
  readonly metrics?: NodeMetrics;
}

/** A one-voter Replica (it elects itself), ticking every 5 ms, snapshotting past 5 entries. */
export async function singleNode(machine: StateMachine, o: SingleNodeOptions = {}): Promise<Replica> {
  const core = new RaftCore({
    id: "n1",
    initialMembers: [{ id: "n1", address: "127.0.0.1:1", role: "voter" }],
    random: () => 0.5,
  });
  const r = new Replica({
    core,
    storage: o.storage ?? new MemoryStorage(),
    transport: silentTransport,
    stateMachine: machine,
    logger: o.logger ?? pino({ level: "silent" }),
    metrics: o.metrics ?? null,
    tickMs: 5,
    maxPendingProposals: 256,
    proposalTimeoutMs: 5000,
    snapshotThreshold: 5,
    seedPeers: new Map(),
    onFatal: (e) => {
      throw e;
    },
  });
  r.start();
  for (let i = 0; i < 400 && !r.isLeader(); i++) await new Promise((res) => setTimeout(res, 5));
  expect(r.isLeader()).toBe(true);
  return r;
}

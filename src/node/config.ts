/**
 * Every setting of a raftq node. Each is a flag of `raftq node` and an
 * environment variable (--foo-bar <=> RAFTQ_FOO_BAR); src/cli/node-command.ts
 * holds the table, and the README prints it.
 */
export interface PeerAddress {
  readonly id: string;
  readonly address: string;
}

export interface NodeConfig {
  /** This member's id, stable for its lifetime. */
  readonly id: string;
  /** Nodes of other clusters are refused. */
  readonly clusterId: string;
  /** Interface the gRPC and HTTP servers bind. */
  readonly host: string;
  /** gRPC port for client, worker, admin and peer services (0 = any free port). */
  readonly grpcPort: number;
  /** HTTP port for /metrics, /livez, /readyz (0 = any free port). */
  readonly httpPort: number;
  /** host:port other nodes use to reach this one; default host:grpcPort. */
  readonly advertiseAddress: string | null;
  /** The bootstrap members. A node not in this list starts in join mode. */
  readonly peers: readonly PeerAddress[];
  /** Do not bootstrap: wait to be added as a learner. */
  readonly join: boolean;
  /** RocksDB directory; null = in memory (lost on restart). */
  readonly dataDir: string | null;
  readonly tickMs: number;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatIntervalMs: number;
  /** Applied entries between snapshots (log compaction). */
  readonly snapshotThreshold: number;
  /** A worker or member is alive while heard within this window. */
  readonly livenessWindowMs: number;
  /** Client proposals pending on the leader before RESOURCE_EXHAUSTED. */
  readonly maxPendingProposals: number;
  /** A write not committed within this long answers DEADLINE_EXCEEDED. */
  readonly proposalTimeoutMs: number;
  readonly logLevel: string;
}

export const DEFAULT_NODE_CONFIG: Omit<NodeConfig, "id"> = {
  clusterId: "raftq",
  host: "0.0.0.0",
  grpcPort: 7700,
  httpPort: 9100,
  advertiseAddress: null,
  peers: [],
  join: false,
  dataDir: null,
  tickMs: 10,
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  heartbeatIntervalMs: 50,
  snapshotThreshold: 1000,
  livenessWindowMs: 3000,
  maxPendingProposals: 256,
  proposalTimeoutMs: 5000,
  logLevel: "info",
};

/** Problems with a configuration, as messages naming the flag. */
export function checkNodeConfig(c: NodeConfig): string[] {
  const p: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(c.id))
    p.push(`--id ${JSON.stringify(c.id)} is not a valid member id`);
  if (c.clusterId === "") p.push("--cluster-id must not be empty");
  for (const [flag, v] of [
    ["--grpc-port", c.grpcPort],
    ["--http-port", c.httpPort],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 65535) p.push(`${flag} ${v} is not a port`);
  if (c.tickMs < 1) p.push("tick must be >= 1 ms");
  if (c.heartbeatIntervalMs < c.tickMs) p.push("--heartbeat-interval-ms must be at least one tick");
  if (c.electionTimeoutMinMs <= c.heartbeatIntervalMs)
    p.push("--election-timeout-min-ms must exceed --heartbeat-interval-ms");
  if (c.electionTimeoutMaxMs <= c.electionTimeoutMinMs)
    p.push("--election-timeout-max-ms must exceed --election-timeout-min-ms");
  if (c.snapshotThreshold < 10) p.push("--snapshot-threshold must be >= 10");
  if (c.livenessWindowMs < 100) p.push("--liveness-window-ms must be >= 100");
  if (c.maxPendingProposals < 1) p.push("--max-pending-proposals must be >= 1");
  if (c.proposalTimeoutMs < 100) p.push("--proposal-timeout-ms must be >= 100");
  const ids = new Set<string>();
  for (const peer of c.peers) {
    if (ids.has(peer.id)) p.push(`--peers names ${peer.id} twice`);
    ids.add(peer.id);
  }
  return p;
}

import { hostname } from "node:os";
import { DEFAULT_NODE_CONFIG, type NodeConfig, type PeerAddress } from "../node/config.js";

/**
 * The flags of `raftq node`. Each is also an environment variable:
 * --foo-bar <=> RAFTQ_FOO_BAR. This table is the single source of the
 * README's configuration table (`raftq node --help` prints it).
 */
export interface NodeOption {
  readonly flag: string;
  readonly env: string;
  readonly defaultText: string;
  readonly description: string;
  readonly boolean?: boolean;
  apply(config: MutableConfig, value: string): void;
}

export type MutableConfig = { -readonly [K in keyof NodeConfig]: NodeConfig[K] };

function env(flag: string): string {
  return "RAFTQ_" + flag.replace(/^--/, "").replace(/-/g, "_").toUpperCase();
}

function int(flag: string, value: string): number {
  if (!/^-?[0-9]+$/.test(value)) throw new Error(`${flag} wants an integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

function bool(flag: string, value: string): boolean {
  if (["", "1", "true", "yes"].includes(value)) return true;
  if (["0", "false", "no"].includes(value)) return false;
  throw new Error(`${flag} wants true or false, got ${JSON.stringify(value)}`);
}

export function parsePeers(value: string): PeerAddress[] {
  if (value.trim() === "") return [];
  return value.split(",").map((part) => {
    const m = /^([^=]+)=(.+:[0-9]+)$/.exec(part.trim());
    if (m === null) throw new Error(`--peers: ${JSON.stringify(part)} is not id=host:port`);
    return { id: m[1]!, address: m[2]! };
  });
}

function opt(
  flag: string,
  defaultText: string,
  description: string,
  apply: (c: MutableConfig, v: string) => void,
  boolean = false,
): NodeOption {
  return { flag, env: env(flag), defaultText, description, apply, boolean };
}

const D = DEFAULT_NODE_CONFIG;

export const NODE_OPTIONS: readonly NodeOption[] = [
  opt("--id", "hostname", "This member's id (in Kubernetes: the pod name)", (c, v) => (c.id = v)),
  opt(
    "--cluster-id",
    D.clusterId,
    "Cluster name; peers of another cluster are refused",
    (c, v) => (c.clusterId = v),
  ),
  opt("--host", D.host, "Interface to bind", (c, v) => (c.host = v)),
  opt(
    "--grpc-port",
    String(D.grpcPort),
    "gRPC port: client, worker, admin, peer and health services (0 = any)",
    (c, v) => (c.grpcPort = int("--grpc-port", v)),
  ),
  opt(
    "--http-port",
    String(D.httpPort),
    "HTTP port: /metrics, /livez, /readyz (0 = any)",
    (c, v) => (c.httpPort = int("--http-port", v)),
  ),
  opt(
    "--advertise-address",
    "127.0.0.1:<grpc-port>",
    "host:port other nodes use to reach this one (must match this node's --peers entry)",
    (c, v) => (c.advertiseAddress = v),
  ),
  opt(
    "--peers",
    "(none)",
    "Bootstrap members id=host:port,...; a node not listed starts in join mode",
    (c, v) => (c.peers = parsePeers(v)),
  ),
  opt(
    "--join",
    "false",
    "Do not bootstrap: wait to be added as a learner",
    (c, v) => (c.join = bool("--join", v)),
    true,
  ),
  opt(
    "--data-dir",
    "(in memory)",
    "where the node keeps its state (RocksDB in raft/, the latest snapshot in snap/, old ones being deleted in snap.trash/); without it all state is lost on restart",
    (c, v) => (c.dataDir = v === "" ? null : v),
  ),
  opt(
    "--election-timeout-min-ms",
    String(D.electionTimeoutMinMs),
    "Lower bound of the randomized election timeout",
    (c, v) => (c.electionTimeoutMinMs = int("--election-timeout-min-ms", v)),
  ),
  opt(
    "--election-timeout-max-ms",
    String(D.electionTimeoutMaxMs),
    "Upper bound of the randomized election timeout",
    (c, v) => (c.electionTimeoutMaxMs = int("--election-timeout-max-ms", v)),
  ),
  opt(
    "--heartbeat-interval-ms",
    String(D.heartbeatIntervalMs),
    "Leader heartbeat period",
    (c, v) => (c.heartbeatIntervalMs = int("--heartbeat-interval-ms", v)),
  ),
  opt(
    "--snapshot-threshold",
    String(D.snapshotThreshold),
    "Applied entries before a snapshot is considered (log compaction; docs/operations.md)",
    (c, v) => (c.snapshotThreshold = int("--snapshot-threshold", v)),
  ),
  opt(
    "--liveness-window-ms",
    String(D.livenessWindowMs),
    "Workers and members are alive while heard within this window",
    (c, v) => (c.livenessWindowMs = int("--liveness-window-ms", v)),
  ),
  opt(
    "--max-pending-proposals",
    String(D.maxPendingProposals),
    "Pending client writes on the leader before RESOURCE_EXHAUSTED",
    (c, v) => (c.maxPendingProposals = int("--max-pending-proposals", v)),
  ),
  opt(
    "--proposal-timeout-ms",
    String(D.proposalTimeoutMs),
    "A write not committed within this long answers DEADLINE_EXCEEDED",
    (c, v) => (c.proposalTimeoutMs = int("--proposal-timeout-ms", v)),
  ),
  opt("--log-level", D.logLevel, "trace, debug, info, warn, error, fatal", (c, v) => (c.logLevel = v)),
];

/** Build the configuration: defaults, then environment variables, then flags. */
export function parseNodeArgs(args: readonly string[], environment: NodeJS.ProcessEnv): NodeConfig {
  const c: MutableConfig = { ...DEFAULT_NODE_CONFIG, id: hostname() };
  for (const o of NODE_OPTIONS) {
    const v = environment[o.env];
    if (v !== undefined && v !== "") o.apply(c, v);
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [name, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const o = NODE_OPTIONS.find((x) => x.flag === name);
    if (o === undefined) throw new Error(`unknown flag ${name}; see raftq node --help`);
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (o.boolean && (next === undefined || next.startsWith("--"))) value = "true";
      else {
        if (next === undefined) throw new Error(`${name} needs a value`);
        value = next;
        i++;
      }
    }
    o.apply(c, value);
  }
  const self = c.peers.find((p) => p.id === c.id);
  if (c.advertiseAddress === null) {
    c.advertiseAddress = self?.address ?? `127.0.0.1:${c.grpcPort}`;
  } else if (self !== undefined && self.address !== c.advertiseAddress) {
    // The others dial what the configuration says; a different advertised address
    // is a misconfiguration that would only show up as a member nobody reaches.
    throw new Error(
      `--advertise-address ${c.advertiseAddress} disagrees with this node's --peers entry ${c.id}=${self.address}: the other members dial the --peers address`,
    );
  }
  return c;
}

export function nodeHelp(): string {
  const rows = NODE_OPTIONS.map(
    (o) => `  ${o.flag.padEnd(27)} ${o.env.padEnd(32)} ${o.defaultText.padEnd(22)} ${o.description}`,
  );
  return [
    "Usage: raftq node [flags]",
    "",
    "Runs one raftq server. Every flag is also an environment variable.",
    "",
    `  ${"flag".padEnd(27)} ${"environment".padEnd(32)} ${"default".padEnd(22)} meaning`,
    ...rows,
  ].join("\n");
}

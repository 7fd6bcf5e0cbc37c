/**
 * What the manifests may rely on from the image (the node/CLI contract of
 * issue 7). The chart and renderCluster are checked against these lists; the
 * image test checks them against the real CLI once it exists.
 */

/** `raftq node` flags; each has an env twin (--foo-bar is RAFTQ_FOO_BAR). */
export const NODE_FLAGS = [
  "id",
  "grpc-port",
  "http-port",
  "advertise-address",
  "peers",
  "join",
  "data-dir",
  "cluster-id",
  "election-timeout-min-ms",
  "election-timeout-max-ms",
  "heartbeat-interval-ms",
  "snapshot-threshold",
  "liveness-window-ms",
  "max-pending-proposals",
  "proposal-timeout-ms",
  "log-level",
] as const;

export const flagToEnv = (flag: string): string => `RAFTQ_${flag.toUpperCase().replace(/-/g, "_")}`;

export const NODE_ENV_FLAGS: readonly string[] = NODE_FLAGS.map(flagToEnv);

/** Paths the node's HTTP port (9100) serves. */
export const NODE_HTTP_PATHS = ["/metrics", "/livez", "/readyz"] as const;

/** `raftq operator` flags. */
export const OPERATOR_FLAGS = ["namespace", "leader-elect", "health-port", "metrics-port"] as const;

/** The preStop command's flags. */
export const STEP_DOWN_FLAGS = ["endpoint", "timeout-ms"] as const;

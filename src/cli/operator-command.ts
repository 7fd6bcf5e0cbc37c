/**
 * `raftq operator`: the Kubernetes operator that reconciles JobQueues. Runs
 * until SIGTERM/SIGINT (then finishes in-flight work and releases its Lease)
 * or until it loses its Lease (then exits 1, so the pod restarts clean).
 */
import { parseArgs } from "node:util";
import { hostname } from "node:os";
import pino from "pino";
import { KubeConfigError, loadKubeConfig } from "../../operator/src/kubeconfig.js";
import { startOperator } from "../../operator/src/operator.js";

const HELP = `Usage: raftq operator [flags]

Reconciles raftq.io JobQueue resources into raftq clusters. Every flag is also
an environment variable.

  --namespace NS         RAFTQ_OPERATOR_NAMESPACE  watch only NS (default: every namespace)
  --leader-elect BOOL    RAFTQ_LEADER_ELECT        elect one active replica through a Lease (default true)
  --lease-namespace NS   RAFTQ_LEASE_NAMESPACE     namespace of the Lease (default: the operator's own)
  --health-port PORT     RAFTQ_HEALTH_PORT         /healthz and /readyz (default 8081)
  --metrics-port PORT    RAFTQ_METRICS_PORT        /metrics (default 8080)
  --kubeconfig PATH      RAFTQ_KUBECONFIG          default: in-cluster, else KUBECONFIG or ~/.kube/config
  --log-level LEVEL      RAFTQ_LOG_LEVEL           trace, debug, info, warn, error (default info)`;

function bool(name: string, v: string): boolean {
  if (["", "1", "true", "yes"].includes(v)) return true;
  if (["0", "false", "no"].includes(v)) return false;
  throw new Error(`${name} wants true or false, got ${JSON.stringify(v)}`);
}

function port(name: string, v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > 65535)
    throw new Error(`${name} wants a port number, got ${JSON.stringify(v)}`);
  return n;
}

export interface OperatorFlags {
  namespace: string;
  leaderElect: boolean;
  leaseNamespace: string | undefined;
  healthPort: number;
  metricsPort: number;
  kubeconfig: string | undefined;
  logLevel: string;
}

/** Flags win over environment variables, which win over defaults. */
export function parseOperatorArgs(args: string[], env: NodeJS.ProcessEnv): OperatorFlags {
  const { values } = parseArgs({
    args,
    options: {
      namespace: { type: "string" },
      "leader-elect": { type: "string" },
      "lease-namespace": { type: "string" },
      "health-port": { type: "string" },
      "metrics-port": { type: "string" },
      kubeconfig: { type: "string" },
      "log-level": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const pick = (flag: keyof typeof values, envName: string, dflt: string): string =>
    (values[flag] as string | undefined) ?? env[envName] ?? dflt;
  return {
    namespace: pick("namespace", "RAFTQ_OPERATOR_NAMESPACE", ""),
    leaderElect: bool("--leader-elect", pick("leader-elect", "RAFTQ_LEADER_ELECT", "true")),
    leaseNamespace: (values["lease-namespace"] as string | undefined) ?? env["RAFTQ_LEASE_NAMESPACE"],
    healthPort: port("--health-port", pick("health-port", "RAFTQ_HEALTH_PORT", "8081")),
    metricsPort: port("--metrics-port", pick("metrics-port", "RAFTQ_METRICS_PORT", "8080")),
    kubeconfig: (values["kubeconfig"] as string | undefined) ?? env["RAFTQ_KUBECONFIG"],
    logLevel: pick("log-level", "RAFTQ_LOG_LEVEL", "info"),
  };
}

export async function runOperator(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let flags: OperatorFlags;
  try {
    flags = parseOperatorArgs(args, process.env);
  } catch (e) {
    console.error(`raftq operator: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  let source;
  try {
    source = loadKubeConfig(flags.kubeconfig);
  } catch (e) {
    if (e instanceof KubeConfigError) {
      console.error(`raftq operator: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const log = pino({ name: "raftq-operator", level: flags.logLevel });
  const leaseNamespace =
    flags.leaseNamespace ||
    process.env["POD_NAMESPACE"] ||
    source.ownNamespace ||
    flags.namespace ||
    "default";
  let lost = false;
  let wake: () => void = () => undefined;
  const ended = new Promise<string>((resolve) => {
    wake = () => resolve("lease lost");
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const op = await startOperator({
    kubeConfig: source.kubeConfig,
    namespace: flags.namespace,
    leaderElect: flags.leaderElect,
    leaseNamespace,
    identity: `${process.env["POD_NAME"] ?? hostname()}-${process.pid}`,
    healthPort: flags.healthPort,
    metricsPort: flags.metricsPort,
    log,
    onLostLease: () => {
      lost = true;
      wake();
    },
  });
  log.info(
    {
      api: source.source,
      namespace: flags.namespace || "(all)",
      leaderElect: flags.leaderElect,
      leaseNamespace,
      healthPort: op.healthPort,
      metricsPort: op.metricsPort,
    },
    "raftq operator started",
  );
  const why = await ended;
  log.info({ reason: why }, "shutting down");
  if (lost) {
    await op.kill();
    return 1;
  }
  await op.stop();
  return 0;
}

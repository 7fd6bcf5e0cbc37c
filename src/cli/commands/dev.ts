/** `raftq dev`: a local 3-node cluster with RocksDB under ./data/dev, until Ctrl-C. */
import { int, parse, str } from "../args.js";
import { EXIT_OK, UsageError } from "../exit-codes.js";
import { processIo, untilStopped, type CliIo } from "../io.js";
import { LocalCluster } from "../local-cluster.js";
import { table } from "../output.js";
import { runCommand } from "../run-command.js";

const USAGE = `Usage: raftq dev [--data-dir ./data/dev] [--nodes 3] [--base-port 7701] [--base-http-port 9101]
                 [--log-level info] [-o table|json]

Starts a local cluster of --nodes \`raftq node\` processes on 127.0.0.1, each
with RocksDB under --data-dir/<id> (logs in --data-dir/<id>.log), prints
their endpoints and metrics URLs, and stops them on Ctrl-C (SIGINT/SIGTERM).
Ports count up from --base-port and --base-http-port; a taken port falls back
to a free one (0 = always free ports). A restart reuses the ports recorded in
--data-dir/cluster.json, so the members find each other again.`;

const OPTIONS = {
  "data-dir": { type: "string" },
  nodes: { type: "string" },
  "base-port": { type: "string" },
  "base-http-port": { type: "string" },
  "log-level": { type: "string" },
} as const;

/** What `dev` and `start` print once the cluster is up. */
export function describeCluster(cluster: LocalCluster, leaderId: string): string {
  return [
    table(
      ["ID", "PID", "ENDPOINT", "METRICS", "DATA", "LOG", "LEADER"],
      cluster.nodes.map((n) => [
        n.id,
        String(n.process?.pid ?? "-"),
        n.address,
        n.metricsUrl,
        n.dataDir,
        n.logFile,
        n.id === leaderId ? "*" : "",
      ]),
    ),
    "",
    `export RAFTQ_ENDPOINTS=${cluster.endpoints.join(",")}`,
  ].join("\n");
}

/** Common flags of the commands that start a local cluster. */
export function clusterOptions(values: Record<string, unknown>, defaultDataDir: string) {
  const v = values as Parameters<typeof str>[0];
  const nodes = int(v, "nodes", 1, 9) ?? 3;
  if (nodes % 2 === 0)
    throw new UsageError(`--nodes ${nodes}: use an odd number (an even one tolerates no more failures)`);
  return {
    dataDir: str(v, "data-dir") ?? defaultDataDir,
    nodes,
    basePort: int(v, "base-port", 0, 65_535) ?? 7701,
    baseHttpPort: int(v, "base-http-port", 0, 65_535) ?? 9101,
    logLevel: str(v, "log-level") ?? "info",
  };
}

export async function runDev(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("dev", io, USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const format = str(values, "output") ?? "table";
    const options = clusterOptions(values, "./data/dev");
    io.err(`starting ${options.nodes} nodes under ${options.dataDir} ...`);
    const cluster = await LocalCluster.start(options);
    const st = await cluster.waitForLeader();
    if (format === "json") {
      io.out(
        JSON.stringify({
          event: "ready",
          leaderId: st.leaderId,
          endpoints: cluster.endpoints,
          nodes: cluster.nodes.map(({ process: _p, ...n }) => n),
        }),
      );
    } else {
      io.out(describeCluster(cluster, st.leaderId));
      io.out("\nTry: raftq status --endpoints " + cluster.endpoints.join(","));
      io.out("Ctrl-C stops the cluster (data stays in " + cluster.dataDir + ").");
    }
    const crashed = new AbortController();
    for (const n of cluster.nodes) {
      n.process?.once("exit", (code, signal) => {
        if (!crashed.signal.aborted) io.err(`${n.id} exited (${signal ?? `code ${code}`}); see ${n.logFile}`);
      });
    }
    await untilStopped(io.signal);
    crashed.abort();
    io.err("stopping the cluster ...");
    await cluster.stop();
    io.err("stopped");
    return EXIT_OK;
  });
}

/**
 * `raftq start` (what `npm start` runs): a local 3-node cluster under ./data,
 * an in-process demo worker that logs each job, a few demo jobs, and
 * pointers to what to look at next. Runs until Ctrl-C.
 */
import { RaftqClient } from "../../client/client.js";
import { Worker } from "../../client/worker.js";
import { parse, str } from "../args.js";
import { EXIT_OK, UsageError } from "../exit-codes.js";
import { processIo, untilStopped, type CliIo } from "../io.js";
import { LocalCluster } from "../local-cluster.js";
import { runCommand } from "../run-command.js";
import { clusterOptions, describeCluster } from "./dev.js";

const USAGE = `Usage: raftq start [--data-dir ./data] [--nodes 3] [--base-port 7701] [--base-http-port 9101]
                   [--demo-jobs 5] [--log-level info]

The quickest look at raftq: starts a local cluster (like \`raftq dev\`), a demo
worker on queue "demo" that logs each job, submits --demo-jobs demo jobs, and
keeps running until Ctrl-C.`;

const OPTIONS = {
  "data-dir": { type: "string" },
  nodes: { type: "string" },
  "base-port": { type: "string" },
  "base-http-port": { type: "string" },
  "log-level": { type: "string" },
  "demo-jobs": { type: "string" },
} as const;

export const DEMO_QUEUE = "demo";

export async function runStart(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("start", io, USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const demoJobs = Number(str(values, "demo-jobs") ?? "5");
    if (!Number.isInteger(demoJobs) || demoJobs < 0 || demoJobs > 1_000) {
      throw new UsageError("--demo-jobs wants an integer in 0-1000");
    }
    const options = clusterOptions(values, "./data");
    io.out(`starting a ${options.nodes}-node raftq cluster under ${options.dataDir} ...`);
    const cluster = await LocalCluster.start(options);
    const client = new RaftqClient({ endpoints: cluster.endpoints });
    const worker = new Worker({
      client,
      queues: [DEMO_QUEUE],
      concurrency: 2,
      workerId: "demo-worker",
      handler: async (job) => {
        const text = job.payload.toString("utf8");
        io.out(`[demo-worker] job ${job.id} type=${job.type} attempt=${job.attempt} payload=${text}`);
        await new Promise((r) => setTimeout(r, 200));
        return `done: ${text}`;
      },
    });
    try {
      const st = await cluster.waitForLeader();
      io.out(describeCluster(cluster, st.leaderId));
      await worker.start();
      io.out(`\ndemo worker ${worker.workerId} is taking jobs from queue "${DEMO_QUEUE}"`);
      if (demoJobs > 0) {
        const submitted = await client.submitMany(
          Array.from({ length: demoJobs }, (_, i) => ({
            queue: DEMO_QUEUE,
            type: i % 2 === 0 ? "email" : "thumbnail",
            payload: JSON.stringify({ n: i + 1 }),
          })),
        );
        io.out(`submitted ${submitted.length} demo jobs: ${submitted.map((s) => s.jobId).join(", ")}`);
      }
      const eps = cluster.endpoints.join(",");
      io.out(
        [
          "",
          "Next:",
          `  npm run -s raftq -- status --endpoints ${eps}`,
          `  npm run -s raftq -- submit --endpoints ${eps} --queue ${DEMO_QUEUE} --type hello --payload '{"hi":1}'`,
          `  npm run -s raftq -- jobs list --endpoints ${eps} --queue ${DEMO_QUEUE}`,
          "  npx tsx examples/producer.ts   and   npx tsx examples/worker.ts",
          `  metrics: ${cluster.nodes.map((n) => n.metricsUrl).join("  ")}`,
          "",
          "Ctrl-C stops everything (data stays in " + cluster.dataDir + ").",
        ].join("\n"),
      );
      await untilStopped(io.signal);
      io.out("stopping ...");
    } finally {
      await worker.close({ drain: false }).catch(() => undefined);
      client.close();
      await cluster.stop();
    }
    io.out("stopped");
    return EXIT_OK;
  });
}

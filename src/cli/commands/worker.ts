/** `raftq worker`: a demo worker that runs a shell command per job. */
import { Worker } from "../../client/worker.js";
import { COMMON_HELP, endpoints, int, output, parse, str } from "../args.js";
import { EXIT_OK, UsageError } from "../exit-codes.js";
import { processIo, untilStopped, type CliIo } from "../io.js";
import { runCommand } from "../run-command.js";
import { runShellJob } from "../shell-job.js";

const USAGE = `Usage: raftq worker --queue q [--queue q2 ...] [--concurrency n] [--worker-id id] -- <shell command>

Runs <shell command> once per job: the payload on stdin; RAFTQ_JOB_ID,
RAFTQ_JOB_QUEUE, RAFTQ_JOB_TYPE, RAFTQ_JOB_ATTEMPT, RAFTQ_JOB_TOKEN,
RAFTQ_JOB_LEASE_DEADLINE_MS and RAFTQ_WORKER_ID in its environment.
Exit 0 completes the job with stdout as its result; any other exit fails the
attempt (retried with backoff). A revoked job's command gets SIGTERM.
Ctrl-C finishes running jobs and leaves; a second Ctrl-C aborts them.
-o json prints one JSON line per finished job.

${COMMON_HELP}`;

const OPTIONS = {
  queue: { type: "string", multiple: true },
  concurrency: { type: "string" },
  "worker-id": { type: "string" },
} as const;

export async function runWorker(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("worker", io, USAGE, async () => {
    const { values, rest } = parse(args, OPTIONS);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    const format = output(values);
    const queues = (values["queue"] as string[] | undefined) ?? [];
    if (queues.length === 0) throw new UsageError("--queue is required");
    if (rest.length === 0) throw new UsageError("give the command to run after --");
    const command = rest.join(" ");
    const concurrency = int(values, "concurrency", 1, 10_000) ?? 1;
    const workerId = str(values, "worker-id");
    const worker: Worker = new Worker({
      endpoints: endpoints(values, io),
      queues,
      concurrency,
      ...(workerId !== undefined ? { workerId } : {}),
      handler: async (job) => {
        const t0 = Date.now();
        try {
          const result = await runShellJob(command, job, worker.workerId);
          emit({
            jobId: job.id,
            type: job.type,
            attempt: job.attempt,
            outcome: "completed",
            ms: Date.now() - t0,
          });
          return result;
        } catch (e) {
          const error = e instanceof Error ? e.message : String(e);
          emit({
            jobId: job.id,
            type: job.type,
            attempt: job.attempt,
            outcome: "failed",
            error,
            ms: Date.now() - t0,
          });
          throw e;
        }
      },
    });
    const emit = (ev: Record<string, unknown>): void => {
      if (format === "json") io.out(JSON.stringify(ev));
      else {
        const what = ev["outcome"] === "completed" ? "completed" : `failed (${String(ev["error"])})`;
        io.out(
          `job ${String(ev["jobId"])} [${String(ev["type"])}] attempt ${String(ev["attempt"])}: ${what} in ${String(ev["ms"])} ms`,
        );
      }
    };
    await worker.start();
    io.err(
      `worker ${worker.workerId} on queue(s) ${queues.join(", ")}, concurrency ${concurrency}; Ctrl-C to stop`,
    );
    await untilStopped(io.signal);
    io.err("draining: finishing running jobs (Ctrl-C again to abort them)");
    const again = new AbortController();
    const second = untilStopped(again.signal).then((how) => {
      if (how !== "abort") void worker.close({ drain: false });
    });
    await worker.close({ drain: true });
    again.abort();
    await second;
    io.err(`worker ${worker.workerId} stopped`);
    return EXIT_OK;
  });
}

/** `raftq jobs list|get|cancel|retry`. */
import type { Job } from "../../client/types.js";
import { JOB_STATES, type JobState } from "../../client/types.js";
import { COMMON_HELP, int, output, parse, str } from "../args.js";
import { withClient } from "../connect.js";
import { EXIT_OK, UsageError } from "../exit-codes.js";
import { processIo, type CliIo } from "../io.js";
import { displayBytes, json, keyValues, table, time } from "../output.js";
import { runCommand } from "../run-command.js";

const USAGE = `Usage:
  raftq jobs list [--state s] [--queue q] [--limit n] [--page-token t | --all] [--stale]
  raftq jobs get <job-id> [--stale]
  raftq jobs cancel <job-id> [--reason text]
  raftq jobs retry <job-id>

  states: ${JOB_STATES.join(", ")}
  --limit  jobs per page, 1-1000 (default 100); --all fetches every page
  --stale  answer from the node's applied state at once (default: a linearizable read,
           which reflects every write acknowledged before the command)

${COMMON_HELP}`;

const OPTIONS = {
  state: { type: "string" },
  queue: { type: "string" },
  limit: { type: "string" },
  "page-token": { type: "string" },
  all: { type: "boolean" },
  stale: { type: "boolean" },
  reason: { type: "string" },
} as const;

/** A job for JSON output: payload and result as text (or base64:...). */
export function jobJson(j: Job): Record<string, unknown> {
  return { ...j, payload: displayBytes(j.payload), result: displayBytes(j.result) };
}

function jobsTable(jobs: readonly Job[]): string {
  return table(
    ["ID", "QUEUE", "TYPE", "STATE", "ATTEMPTS", "PRIORITY", "SUBMITTED", "WORKER", "LAST ERROR"],
    jobs.map((j) => [
      j.id,
      j.queue,
      j.type,
      j.state,
      `${j.attempts}/${j.maxAttempts}`,
      String(j.priority),
      time(j.submittedAtMs),
      j.workerId || "-",
      j.lastError.length > 40 ? j.lastError.slice(0, 39) + "…" : j.lastError,
    ]),
  );
}

function jobDetails(j: Job): string {
  return keyValues([
    ["id", j.id],
    ["queue", j.queue],
    ["type", j.type],
    ["state", j.state],
    ["priority", String(j.priority)],
    ["attempts", `${j.attempts} of ${j.maxAttempts}`],
    ["lease", `${j.leaseMs} ms`],
    ["run at", time(j.runAtMs)],
    ["submitted", time(j.submittedAtMs)],
    ["finished", time(j.finishedAtMs)],
    ["idempotency key", j.idempotencyKey || "-"],
    ["worker", j.workerId || "-"],
    ["token", String(j.token)],
    ["lease deadline", time(j.leaseDeadlineMs)],
    ["last error", j.lastError || "-"],
    ["payload", displayBytes(j.payload)],
    ["result", displayBytes(j.result)],
  ]);
}

function oneId(positionals: string[], sub: string): string {
  const id = positionals[1];
  if (id === undefined || positionals.length > 2)
    throw new UsageError(`jobs ${sub} wants exactly one job id`);
  return id;
}

export async function runJobs(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("jobs", io, USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    const format = output(values);
    const sub = positionals[0];
    switch (sub) {
      case "list": {
        const stateArg = str(values, "state");
        if (stateArg !== undefined && !JOB_STATES.includes(stateArg as JobState)) {
          throw new UsageError(`--state: ${JSON.stringify(stateArg)} is not one of ${JOB_STATES.join(", ")}`);
        }
        const filter = {
          ...(stateArg !== undefined ? { state: stateArg as JobState } : {}),
          ...(str(values, "queue") !== undefined ? { queue: str(values, "queue")! } : {}),
          pageSize: int(values, "limit", 1, 1_000) ?? 100,
          linearizable: values["stale"] !== true,
        };
        const { jobs, nextPageToken } = await withClient(values, io, async (c) => {
          if (values["all"]) {
            const all: Job[] = [];
            for await (const j of c.list(filter)) all.push(j);
            return { jobs: all, nextPageToken: "" };
          }
          return c.listPage({ ...filter, pageToken: str(values, "page-token") ?? "" });
        });
        if (format === "json") io.out(json({ jobs: jobs.map(jobJson), nextPageToken }));
        else {
          io.out(jobsTable(jobs));
          io.out(
            `${jobs.length} job(s)` +
              (nextPageToken ? `; more with --page-token ${nextPageToken} (or --all)` : ""),
          );
        }
        return EXIT_OK;
      }
      case "get": {
        const id = oneId(positionals, sub);
        const job = await withClient(values, io, (c) =>
          c.get(id, { linearizable: values["stale"] !== true }),
        );
        io.out(format === "json" ? json(jobJson(job)) : jobDetails(job));
        return EXIT_OK;
      }
      case "cancel": {
        const id = oneId(positionals, sub);
        const cancelled = await withClient(values, io, (c) => c.cancel(id, str(values, "reason") ?? ""));
        if (format === "json") io.out(json({ jobId: id, cancelled }));
        else io.out(cancelled ? `cancelled job ${id}` : `job ${id} was already cancelled`);
        return EXIT_OK;
      }
      case "retry": {
        const id = oneId(positionals, sub);
        await withClient(values, io, (c) => c.retry(id));
        io.out(format === "json" ? json({ jobId: id, retried: true }) : `job ${id} is pending again`);
        return EXIT_OK;
      }
      default:
        throw new UsageError(
          sub === undefined ? "give a subcommand" : `unknown subcommand ${JSON.stringify(sub)}`,
        );
    }
  });
}

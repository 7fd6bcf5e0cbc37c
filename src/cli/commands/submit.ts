/** `raftq submit`: submit one job. */
import { readFileSync } from "node:fs";
import type { JobInput } from "../../client/types.js";
import { COMMON_HELP, int, output, parse, requireStr, str } from "../args.js";
import { withClient } from "../connect.js";
import { EXIT_OK, UsageError } from "../exit-codes.js";
import { processIo, type CliIo } from "../io.js";
import { json } from "../output.js";
import { runCommand } from "../run-command.js";

const USAGE = `Usage: raftq submit --queue q --type t [--payload '...' | --payload-file f]
                    [--priority n] [--max-attempts n] [--lease-ms n] [--run-at time]
                    [--idempotency-key k]

  --run-at   an ISO-8601 time, ms since the epoch, or a delay like +30s, +5m, +2h

${COMMON_HELP}`;

const OPTIONS = {
  queue: { type: "string" },
  type: { type: "string" },
  payload: { type: "string" },
  "payload-file": { type: "string" },
  priority: { type: "string" },
  "max-attempts": { type: "string" },
  "lease-ms": { type: "string" },
  "run-at": { type: "string" },
  "idempotency-key": { type: "string" },
} as const;

/** "+30s" / "+5m" / "+2h" / "+500ms", an ISO time, or ms since the epoch -> ms since the epoch. */
export function parseRunAt(value: string, nowMs = Date.now()): number {
  const rel = /^\+([0-9]+)(ms|s|m|h)$/.exec(value);
  if (rel !== null) {
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[rel[2] as "ms" | "s" | "m" | "h"];
    return nowMs + Number(rel[1]) * unit;
  }
  if (/^[0-9]+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new UsageError(`--run-at: ${JSON.stringify(value)} is not a time (ISO-8601, ms, or +30s)`);
  return t;
}

export async function runSubmit(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("submit", io, USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const format = output(values);
    const payloadFile = str(values, "payload-file");
    if (payloadFile !== undefined && str(values, "payload") !== undefined) {
      throw new UsageError("give --payload or --payload-file, not both");
    }
    const job: JobInput = {
      queue: requireStr(values, "queue"),
      type: requireStr(values, "type"),
      payload: payloadFile !== undefined ? readFileSync(payloadFile) : (str(values, "payload") ?? ""),
    };
    const priority = int(values, "priority", -2_147_483_648, 2_147_483_647);
    if (priority !== undefined) job.priority = priority;
    const maxAttempts = int(values, "max-attempts", 1);
    if (maxAttempts !== undefined) job.maxAttempts = maxAttempts;
    const leaseMs = int(values, "lease-ms", 1);
    if (leaseMs !== undefined) job.leaseMs = leaseMs;
    const runAt = str(values, "run-at");
    if (runAt !== undefined) job.runAt = parseRunAt(runAt);
    const key = str(values, "idempotency-key");
    if (key !== undefined) job.idempotencyKey = key;
    const res = await withClient(values, io, (c) => c.submit(job));
    if (format === "json") io.out(json(res));
    else
      io.out(
        `${res.duplicate ? "already submitted" : "submitted"} job ${res.jobId} (idempotency key ${res.idempotencyKey})`,
      );
    return EXIT_OK;
  });
}

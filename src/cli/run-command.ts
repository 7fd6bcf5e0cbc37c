/**
 * Runs a command body and turns what it throws into a message, a hint and an
 * exit code: usage errors 2; UNAVAILABLE, DEADLINE_EXCEEDED and
 * RESOURCE_EXHAUSTED 3; any other failure 1.
 */
import { RaftqError } from "../client/errors.js";
import { EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError } from "./exit-codes.js";
import type { CliIo } from "./io.js";

function hint(e: RaftqError): string {
  switch (e.code) {
    case "UNAVAILABLE":
      return "is the cluster running and are --endpoints (or RAFTQ_ENDPOINTS) right? `raftq dev` starts a local cluster";
    case "DEADLINE_EXCEEDED":
      return "the cluster did not answer in time: has it lost quorum? check `raftq status`, or raise --timeout-ms";
    case "RESOURCE_EXHAUSTED":
      return "the leader's proposal queue is full; retry in a moment";
    case "NOT_FOUND":
      return "check the id (`raftq jobs list`, `raftq members list`)";
    case "INVALID_ARGUMENT":
      return "the cluster rejected the input; fix the value the message names";
    case "FAILED_PRECONDITION":
      return "the request does not fit the current state; check it with `raftq jobs get` or `raftq status`";
    default:
      return "";
  }
}

export function exitCodeOf(e: RaftqError): number {
  return e.code === "UNAVAILABLE" || e.code === "DEADLINE_EXCEEDED" || e.code === "RESOURCE_EXHAUSTED"
    ? EXIT_UNAVAILABLE
    : EXIT_FAILED;
}

/** Print `e` as "raftq <command>: error: ..." plus a hint line; return the exit code. */
export function reportError(command: string, e: unknown, io: CliIo, usage?: string): number {
  if (e instanceof UsageError) {
    io.err(`raftq ${command}: ${e.message}`);
    if (usage !== undefined) io.err(usage);
    return EXIT_USAGE;
  }
  if (e instanceof RaftqError) {
    const where = e.endpoint !== null ? ` (${e.endpoint})` : "";
    const reason = e.reason !== null ? ` [${e.reason}]` : "";
    io.err(`raftq ${command}: error: ${e.code}${reason}: ${e.message}${where}`);
    const h = hint(e);
    if (h !== "") io.err(`hint: ${h}`);
    return exitCodeOf(e);
  }
  io.err(`raftq ${command}: error: ${e instanceof Error ? e.message : String(e)}`);
  return EXIT_FAILED;
}

/** Run `body`; errors become messages and exit codes. */
export async function runCommand(
  command: string,
  io: CliIo,
  usage: string,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    return reportError(command, e, io, usage);
  }
}

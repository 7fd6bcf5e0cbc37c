/**
 * `raftq step-down`: a preStop hook. If the node at --endpoint leads, hand
 * leadership to another voter and wait until another leads; otherwise exit 0
 * at once.
 */
import { RaftqClient } from "../../client/client.js";
import { RaftqError } from "../../client/errors.js";
import { COMMON_HELP, int, output, parse, str } from "../args.js";
import { EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE, UsageError } from "../exit-codes.js";
import { processIo, type CliIo } from "../io.js";
import { json } from "../output.js";
import { exitCodeOf, runCommand } from "../run-command.js";

const USAGE = `Usage: raftq step-down [--endpoint host:port] [--timeout-ms n]

If the node at --endpoint (default 127.0.0.1:7700) is the leader, transfers
leadership to the most caught-up other voter and waits (up to --timeout-ms,
default 20000) until another member leads. Exits 0 at once when the node does
not lead or is the only voter. Exit codes: 0 done or nothing to do, 1 transfer refused,
3 node unreachable or timed out.

${COMMON_HELP}`;

const OPTIONS = { endpoint: { type: "string" } } as const;

const POLL_MS = 100;

export async function runStepDown(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("step-down", io, USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const format = output(values);
    const endpoint = str(values, "endpoint") ?? "127.0.0.1:7700";
    const timeoutMs = int(values, "timeout-ms", 1) ?? 20_000;
    const deadline = Date.now() + timeoutMs;
    const client = new RaftqClient({ endpoints: [endpoint] });
    const say = (result: Record<string, unknown>, text: string): void =>
      io.out(format === "json" ? json(result) : text);
    try {
      let lastError: RaftqError | null = null;
      while (Date.now() < deadline) {
        const remaining = deadline - Date.now();
        try {
          const res = await client.transferLeadership({ onlyIfLeader: true, endpoint, timeoutMs: remaining });
          if (!res.transferred) {
            say(
              { endpoint, stepped: false, leaderId: res.leaderId },
              `not the leader (leader: ${res.leaderId || "none"}); nothing to do`,
            );
            return EXIT_OK;
          }
          // Confirm from the node's own view that someone else leads now.
          for (;;) {
            const st = await client.clusterStatus({
              local: true,
              endpoint,
              timeoutMs: Math.max(1, deadline - Date.now()),
            });
            if (st.leaderId !== "" && st.leaderId !== st.answeredBy) {
              say(
                { endpoint, stepped: true, leaderId: st.leaderId },
                `stepped down; ${st.leaderId} leads now`,
              );
              return EXIT_OK;
            }
            if (Date.now() + POLL_MS >= deadline) break;
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
        } catch (e) {
          if (!(e instanceof RaftqError)) throw e;
          lastError = e;
          if (e.reason === "NO_OTHER_VOTER") {
            // A one-voter cluster: nobody to hand over to, and nothing a preStop hook can do.
            say({ endpoint, stepped: false, leaderId: "" }, "no other voter to lead; nothing to do");
            return EXIT_OK;
          }
          // Unreachable node: nothing to hand over from here. Refusals (e.g. no other voter) are final.
          if (e.code === "UNAVAILABLE" && e.reason === null) throw e;
          if (exitCodeOf(e) === EXIT_FAILED) throw e;
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      }
      io.err(
        `raftq step-down: leadership did not move within ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ""}`,
      );
      return EXIT_UNAVAILABLE;
    } finally {
      client.close();
    }
  });
}

/** `raftq members list|add|promote|remove|transfer-leader`. */
import type { Member } from "../../client/types.js";
import { COMMON_HELP, output, parse } from "../args.js";
import { withClient } from "../connect.js";
import { EXIT_OK, UsageError } from "../exit-codes.js";
import { processIo, type CliIo } from "../io.js";
import { json, table } from "../output.js";
import { runCommand } from "../run-command.js";

const USAGE = `Usage:
  raftq members list
  raftq members add <id> <host:port>        add a learner (start the new node with --join first)
  raftq members promote <id>                make a caught-up learner a voter
  raftq members remove <id>                 remove a voter or learner
  raftq members transfer-leader [<to-id>]   hand leadership over (default: the most caught-up voter)

${COMMON_HELP}`;

function membersTable(members: readonly Member[], leaderId: string): string {
  return table(
    ["ID", "ADDRESS", "ROLE", "VOTER", "MATCH", "ALIVE", "LAST CONTACT", "LEADER"],
    members.map((m) => [
      m.id,
      m.address,
      m.role,
      String(m.voter),
      String(m.matchIndex),
      String(m.isAlive),
      `${m.lastContactMs} ms`,
      m.id === leaderId ? "*" : "",
    ]),
  );
}

function args(positionals: string[], count: number, sub: string, what: string): string[] {
  const rest = positionals.slice(1);
  if (rest.length !== count) throw new UsageError(`members ${sub} wants ${what}`);
  return rest;
}

export async function runMembers(argv: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("members", io, USAGE, async () => {
    const { values, positionals } = parse(argv);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    const format = output(values);
    const sub = positionals[0];
    return withClient(values, io, async (c) => {
      switch (sub) {
        case "list": {
          args(positionals, 0, sub, "no arguments");
          const st = await c.clusterStatus();
          io.out(
            format === "json"
              ? json({ leaderId: st.leaderId, members: st.members })
              : membersTable(st.members, st.leaderId),
          );
          return EXIT_OK;
        }
        case "add":
        case "promote":
        case "remove": {
          const [id, address] =
            sub === "add" ? args(positionals, 2, sub, "<id> <host:port>") : args(positionals, 1, sub, "<id>");
          const change =
            sub === "add"
              ? await c.addLearner(id!, address!)
              : sub === "promote"
                ? await c.promote(id!)
                : await c.remove(id!);
          if (format === "json") io.out(json(change));
          else {
            const verb = { add: "added learner", promote: "promoted", remove: "removed" }[sub];
            io.out(`${verb} ${id} at index ${change.index}`);
            io.out(membersTable(change.members, c.connections.leader ?? ""));
          }
          return EXIT_OK;
        }
        case "transfer-leader": {
          const to = positionals.length > 1 ? args(positionals, 1, sub, "at most one <to-id>")[0]! : "";
          const res = await c.transferLeadership({ toId: to });
          if (format === "json") io.out(json(res));
          else
            io.out(
              res.transferred ? `leadership moved to ${res.leaderId}` : `nothing done; ${res.leaderId} leads`,
            );
          return EXIT_OK;
        }
        default:
          throw new UsageError(
            sub === undefined ? "give a subcommand" : `unknown subcommand ${JSON.stringify(sub)}`,
          );
      }
    });
  });
}

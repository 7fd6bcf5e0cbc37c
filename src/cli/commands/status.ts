/** `raftq status`: every member like `etcdctl endpoint status`, plus queues and workers. */
import type { ClusterStatus } from "../../client/types.js";
import { COMMON_HELP, output, parse } from "../args.js";
import { withClient } from "../connect.js";
import { EXIT_OK, EXIT_UNAVAILABLE } from "../exit-codes.js";
import { processIo, type CliIo } from "../io.js";
import { json, table } from "../output.js";
import { runCommand } from "../run-command.js";

const USAGE = `Usage: raftq status [-o table|json] [--endpoints ...]

Shows every member (id, address, role, term, commit and applied index, alive,
leader mark), then jobs by queue and state. Exit code 3 when no leader is known.

${COMMON_HELP}`;

export function statusTable(st: ClusterStatus): string {
  const members = table(
    ["ID", "ADDRESS", "ROLE", "VOTER", "TERM", "COMMIT", "APPLIED", "MATCH", "ALIVE", "LEADER"],
    st.members.map((m) => [
      m.id,
      m.address,
      m.role,
      String(m.voter),
      String(m.term),
      String(m.commitIndex),
      String(m.appliedIndex),
      String(m.matchIndex),
      String(m.isAlive),
      m.id === st.leaderId ? "*" : "",
    ]),
  );
  const lines = [
    `cluster ${st.clusterId}  leader ${st.leaderId || "(none)"}  term ${st.term}  commit ${st.commitIndex}  answered by ${st.answeredBy}`,
    members,
    `workers: ${st.liveWorkers} live, ${st.registeredWorkers} registered`,
  ];
  if (st.queues.length > 0) {
    lines.push(
      table(
        ["QUEUE", "PENDING", "SCHEDULED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"],
        st.queues.map((q) => [
          q.queue,
          String(q.pending),
          String(q.scheduled),
          String(q.running),
          String(q.completed),
          String(q.failed),
          String(q.cancelled),
        ]),
      ),
    );
  }
  return lines.join("\n");
}

export async function runStatus(args: string[], io: CliIo = processIo): Promise<number> {
  return runCommand("status", io, USAGE, async () => {
    const { values } = parse(args);
    if (values["help"]) {
      io.out(USAGE);
      return EXIT_OK;
    }
    const format = output(values);
    const st = await withClient(values, io, (c) => c.clusterStatus());
    io.out(format === "json" ? json(st) : statusTable(st));
    if (st.leaderId === "") {
      io.err("raftq status: no leader is known: the cluster cannot take writes right now");
      return EXIT_UNAVAILABLE;
    }
    return EXIT_OK;
  });
}

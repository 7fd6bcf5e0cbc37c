#!/usr/bin/env node
/**
 * `raftq`: one binary, many commands. `node` runs a server and `operator` the
 * Kubernetes operator; the rest talk to a running cluster.
 */
type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  node: { summary: "run a raftq server", load: async () => (await import("./node-command.js")).runNode },
  operator: {
    summary: "run the Kubernetes operator",
    load: async () => (await import("./operator-command.js")).runOperator,
  },
  start: {
    summary: "local 3-node cluster, demo worker and demo jobs (npm start)",
    load: async () => (await import("./commands/start.js")).runStart,
  },
  dev: {
    summary: "local 3-node cluster with RocksDB under ./data",
    load: async () => (await import("./commands/dev.js")).runDev,
  },
  status: {
    summary: "members, leader, queues and workers of a cluster",
    load: async () => (await import("./commands/status.js")).runStatus,
  },
  submit: { summary: "submit a job", load: async () => (await import("./commands/submit.js")).runSubmit },
  jobs: {
    summary: "list, get, cancel or retry jobs",
    load: async () => (await import("./commands/jobs.js")).runJobs,
  },
  members: {
    summary: "add, promote, remove members; transfer leadership",
    load: async () => (await import("./commands/members.js")).runMembers,
  },
  worker: {
    summary: "a demo worker that runs a shell command per job",
    load: async () => (await import("./commands/worker.js")).runWorker,
  },
  "step-down": {
    summary: "hand this node's leadership to another member (preStop hook)",
    load: async () => (await import("./commands/step-down.js")).runStepDown,
  },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`);
  return [
    "Usage: raftq <command> [flags]",
    "",
    "Commands:",
    ...rows,
    "",
    "raftq <command> --help for its flags.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    console.error(`raftq: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return (await cmd.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  },
);

// The ceiling of the wire: the same SubmitJob / SubmitJobs load as cluster-submit.ts, from
// the same load-generator processes, against a JobService that does nothing (one process,
// raftq's gRPC server and proto definitions, answers at once; bench/lib/null-job-service.ts).
// What it reaches is what gRPC, HTTP/2 and protobuf in Node allow on this machine with these
// clients: no raftq node, whatever its Raft and storage cost, can answer faster than this.
// Run: npx tsx bench/wire-floor.ts [--quick]
// Settings: BENCH_SECONDS (measure window, default 10; quick 2).
import { fork } from "node:child_process";
import { join } from "node:path";
import { trackChild } from "./lib/cluster.js";
import { machineLine } from "./lib/procstat.js";
import { printRows, type Row } from "./lib/report.js";
import { isMain } from "./lib/standalone.js";
import { harnessWithoutSourceMaps } from "./lib/build.js";
import { measureLoad, submitCases, type SubmitTarget } from "./cluster-submit.js";

const NULL_SERVICE = join(import.meta.dirname, "lib/null-job-service.ts");

export interface FloorOptions {
  quick: boolean;
  seconds?: number;
  inFlight?: number[];
  batchInFlight?: number[];
  /** Load before the first measured window (npm run bench passes bench/warm-up.ts's). */
  warm?: (t: SubmitTarget) => Promise<void>;
}

export async function runWireFloor(o: FloorOptions): Promise<Row[]> {
  const seconds = o.seconds ?? Number(process.env.BENCH_SECONDS ?? (o.quick ? 2 : 10));
  const warmupMs = o.quick ? 300 : 1500;
  const server = fork(NULL_SERVICE, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  trackChild(server);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once("message", (m: { port: number }) => resolve(m.port));
      server.once("exit", (code) =>
        reject(new Error(`null JobService exited with ${code} before listening`)),
      );
    });
    const target = {
      addresses: [`127.0.0.1:${port}`],
      pids: new Map([["null", server.pid ?? null]]),
      describe: "a JobService that does nothing (one process)",
    };
    await o.warm?.(target);
    const rows: Row[] = [];
    const cases = [
      ...(o.inFlight ?? submitCases(o.quick).inFlight).map((n) => ({ n, batch: 0 })),
      ...(o.batchInFlight ?? submitCases(o.quick).batchInFlight).map((n) => ({ n, batch: 100 })),
    ];
    for (const { n, batch } of cases) {
      const r = await measureLoad(target, {
        group: "floor",
        name: batch === 0 ? `null SubmitJob ${n} in flight` : `null SubmitJobs x100, ${n} in flight`,
        inFlight: n,
        batch,
        seconds,
        warmupMs,
        tag: `f${batch}-${n}`,
      });
      rows.push(r);
      console.error(printRows([r]));
    }
    return rows;
  } finally {
    const exited = server.exitCode !== null || server.signalCode !== null;
    if (server.connected) server.disconnect(); // the service exits when its parent lets go
    if (!exited) await new Promise<void>((r) => server.once("exit", () => r()));
  }
}

if (isMain(import.meta.url)) {
  harnessWithoutSourceMaps();
  console.log(machineLine());
  console.log(printRows(await runWireFloor({ quick: process.argv.includes("--quick") })));
}

// `npm run chaos`: long chaos runs against real node processes.
//   npm run chaos -- [--seed N] [--duration SECONDS] [--runs K] [--keep] [--overlap] [--faults a,b]
// --overlap: process and disk faults and link faults at the same time (two nemeses).
// --faults: only these faults (names in test/chaos/lib/nemesis.ts, e.g. kill,isolate,replace-member).
// Each run prints its seed; a failing run keeps its history and node logs and prints how to replay it.
import { FAULTS, type Fault } from "./lib/nemesis.js";
import { runChaos } from "./lib/run.js";

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const runs = Number(arg("--runs") ?? 1);
const durationS = Number(arg("--duration") ?? 300);
const firstSeed = arg("--seed") !== undefined ? Number(arg("--seed")) : Math.floor(Math.random() * 2 ** 31);
const faultsArg = arg("--faults");
const faults = faultsArg?.split(",").filter((f) => f !== "");
const unknown = faults?.filter((f) => !(FAULTS as readonly string[]).includes(f)) ?? [];
if (faults?.length === 0 || unknown.length > 0) {
  console.error(
    `--faults: ${unknown.length > 0 ? `unknown fault(s) ${unknown.join(", ")}` : "none named"}; known: ${FAULTS.join(", ")}`,
  );
  process.exit(2);
}
let failed = 0;
for (let i = 0; i < runs; i++) {
  const seed = firstSeed + i;
  const overlap = argv.includes("--overlap");
  console.log(
    `chaos run ${i + 1}/${runs}: seed ${seed}, ${durationS} s of faults${overlap ? ", overlapping (process and link faults at once)" : ""}`,
  );
  const t0 = Date.now();
  const r = await runChaos({
    seed,
    durationMs: durationS * 1000,
    keep: argv.includes("--keep"),
    overlap,
    ...(faults !== undefined && { faults: faults as Fault[] }),
  });
  console.log(
    `  stats: ${JSON.stringify(r.stats)}; snapshots installed from a leader: ${r.snapshotsInstalled}; disk faults: ${r.diskFaults.failed} failed a node (${r.diskFaults.midTerm} of them a leader mid-term), ${r.diskFaults.notReached} not reached; stalled leader disks: ${r.diskFaults.leaderStalls}, after ${r.diskFaults.leaderStallsMoved} of them another node led; members replaced: ${r.memberReplacements.done} (${r.memberReplacements.abandoned} removal(s) given up)`,
  );
  for (const w of r.warnings) console.log(`  warning: ${w}`);
  if (r.ok) console.log(`  PASS in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  else {
    failed++;
    console.log(`  FAIL: ${r.violations.length} violation(s)`);
    for (const v of r.violations.slice(0, 30)) console.log(`    - ${v}`);
    console.log(`  history and logs: ${r.dir}\n  replay: ${r.replay}`);
  }
}
console.log(`${runs - failed}/${runs} runs passed`);
process.exit(failed > 0 ? 1 : 0);

/**
 * Long simulation campaigns: `npm run sim -- --seeds 100000` runs many seeds
 * and prints seeds run, events simulated and violations found.
 * `npm run sim -- --seed 123 --verbose` replays one seed with its trace.
 * `--jobs` runs the job queue state machine as the application (slower).
 */
import { JobsApp, JOBS_SNAPSHOT_CHUNK_BYTES } from "./jobs-app.js";
import { runSeed } from "./run-seed.js";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const single = flag("seed");
const verbose = process.argv.includes("--verbose");
const first = Number(flag("from") ?? 1);
const count = single !== undefined ? 1 : Number(flag("seeds") ?? 1000);
const start = single !== undefined ? Number(single) : first;
const faultTicks = Number(flag("ticks") ?? 1500);
const jobs = process.argv.includes("--jobs");
const appOptions = jobs ? { app: () => new JobsApp(), snapshotChunkBytes: JOBS_SNAPSHOT_CHUNK_BYTES } : {};

const t0 = performance.now();
let events = 0;
let violations = 0;
let committed = 0;
for (let seed = start; seed < start + count; seed++) {
  const r = runSeed({ seed, faultTicks, ...appOptions });
  events += r.events;
  committed += r.committed;
  if (!r.ok) {
    violations++;
    console.log(`seed ${seed} (${r.nodes} nodes) FAILED: ${r.error}`);
    console.log(`  replay: npm run sim -- --seed ${seed} --verbose${jobs ? " --jobs" : ""}`);
    if (verbose) console.log(r.trace);
  } else if (verbose) {
    console.log(
      `seed ${seed} ok: ${r.nodes} nodes, ${r.ticks} ticks, ${r.events} events, commit ${r.committed}`,
    );
  }
  if ((seed - start + 1) % 1000 === 0) {
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`  ... ${seed - start + 1} seeds, ${events} events, ${violations} violations, ${s} s`);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(
  `seeds run: ${count}, events simulated: ${events}, entries committed: ${committed}, violations: ${violations} (${secs.toFixed(1)} s)`,
);
process.exitCode = violations > 0 ? 1 : 0;

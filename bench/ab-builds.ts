// A/B of two (or more) builds of raftq on this noisy machine: SubmitJob rate and latency,
// fresh 3-node cluster per build and round, builds alternating (A B, B A, A B, ...) so a
// slow minute hits both. Prints each window and a summary; asserts nothing.
//
// Build each side first into dist/<name> (dist/ is ignored by git), from the repo root:
//   npx tsc -p tsconfig.build.json --outDir dist/ab-new            # the working tree
//   git worktree add --detach /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/
//   (cd /tmp/old && npx tsc -p tsconfig.build.json --outDir "$OLDPWD/dist/ab-old")
// Run: BUILDS=ab-old,ab-new ROUNDS=3 SECS=8 INFLIGHT=1,256 npx tsx bench/ab-builds.ts
// A build may name node flags after a colon, to compare flags on one build:
//   BUILDS="ab-new,ab-new:--max-semi-space-size=64" npx tsx bench/ab-builds.ts
// INFLIGHT entries are SubmitJob calls in flight, or `<calls>x<jobs>` for SubmitJobs batches (16x100).
import { join } from "node:path";
import { BenchCluster, REPO_ROOT } from "./lib/cluster.js";
import { measureSubmit } from "./cluster-submit.js";
import { harnessWithoutSourceMaps } from "./lib/build.js";

const builds = (process.env.BUILDS ?? "ab-old,ab-new").split(",");
/** "name:flag flag" -> the dist dir and the node flags. */
const parseBuild = (spec: string): { dir: string; nodeArgs: string[] } => {
  const [dir, flags] = spec.split(/:(.*)/s);
  return { dir: dir!, nodeArgs: (flags ?? "").split(" ").filter((f) => f !== "") };
};
const rounds = Number(process.env.ROUNDS ?? 3);
const seconds = Number(process.env.SECS ?? 6);
const cases = (process.env.INFLIGHT ?? "1,256").split(",").map((c) => {
  const [calls, jobs] = c.split("x").map(Number);
  return { inFlight: calls!, batch: jobs ?? 0, label: jobs === undefined ? `${calls}` : `${calls} x${jobs}` };
});

harnessWithoutSourceMaps();
const rates = new Map<string, number[]>();
for (let round = 1; round <= rounds; round++) {
  for (const build of round % 2 === 1 ? builds : [...builds].reverse()) {
    const { dir, nodeArgs } = parseBuild(build);
    const c = await BenchCluster.start({
      entry: "built",
      builtMain: join(REPO_ROOT, "dist", dir, "src/cli/main.js"),
      nodeArgs,
    });
    try {
      const leader = await c.waitForLeader();
      for (const { inFlight, batch, label } of cases) {
        const r = await measureSubmit(c, leader, {
          group: "ab",
          name: `${build} ${label}`,
          inFlight,
          batch,
          seconds,
          warmupMs: 1000,
          tag: `ab${inFlight}-${batch}`,
        });
        const key = `${build}, ${label} in flight`;
        rates.set(key, [...(rates.get(key) ?? []), Math.round(r.rate ?? 0)]);
        console.log(
          `round ${round} ${key}: ${Math.round(r.rate ?? 0)}/s p50 ${r.p50?.toFixed(2)} ms p99 ${r.p99?.toFixed(1)} ms`,
          `cpu ${JSON.stringify(r.cpu)} errors ${JSON.stringify(r.errors)} load ${r.load}`,
        );
      }
    } finally {
      await c.stop();
    }
  }
}
for (const [key, v] of rates) {
  const mean = Math.round(v.reduce((a, b) => a + b, 0) / v.length);
  console.log(`${key}: ${v.join(" / ")} per s, mean ${mean}`);
}

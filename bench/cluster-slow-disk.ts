// A slow disk, the gray failure etcd's operators know best: SubmitJob at 16 in flight while the
// leader's disk, one follower's or both followers' take BENCH_SLOW_DISK_MS longer per synced write
// (fault injection: RAFTQ_FAULT_STORAGE_FILE, docs/storage.md). A leader sends its appends before
// its own write and counts its followers' writes towards the commit, so a slow leader disk or one
// slow follower should cost little; two slow followers hold every commit. Prints rows; asserts nothing.
// Run: npx tsx bench/cluster-slow-disk.ts [--quick]
// Settings: BENCH_SECONDS (window, default 10; quick 2), BENCH_SLOW_DISK_MS (default 50).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureSubmit } from "./cluster-submit.js";
import { buildProduct, harnessWithoutSourceMaps } from "./lib/build.js";
import { BenchCluster } from "./lib/cluster.js";
import { isMain } from "./lib/standalone.js";
import { machineLine } from "./lib/procstat.js";
import { printRows, type Row } from "./lib/report.js";
import { warmCluster } from "./warm-up.js";
import { FAULT_FILE_ENV, setDiskFault } from "../src/storage/index.js";

const IN_FLIGHT = 16;

/** Which disks are slow in a window: none, the leader's, one follower's, both followers'. */
type Slow = "none" | "leader" | "one follower" | "both followers";

export async function runSlowDisk(o: { quick: boolean }): Promise<Row[]> {
  const seconds = Number(process.env.BENCH_SECONDS ?? (o.quick ? 2 : 10));
  const delayMs = Number(process.env.BENCH_SLOW_DISK_MS ?? 50);
  if (!(Number.isInteger(delayMs) && delayMs > 0))
    throw new Error(`BENCH_SLOW_DISK_MS must be a positive integer`);
  const baseDir = await mkdtemp(join(tmpdir(), "raftq-bench-slow-disk-"));
  const faultFile = (id: string): string => join(baseDir, `${id}.disk-fault`);
  // stop() removes baseDir; a cluster that did not start leaves it to us.
  const c = await BenchCluster.start({
    entry: "built",
    baseDir,
    nodeEnv: (id) => ({ [FAULT_FILE_ENV]: faultFile(id) }),
  }).catch(async (err: unknown) => {
    await rm(baseDir, { recursive: true, force: true });
    throw err;
  });
  const rows: Row[] = [];
  try {
    await c.waitForLeader();
    await warmCluster(c, o.quick);
    // Healthy first and last: the two bracket the machine's drift over the section.
    const cases: Slow[] = o.quick
      ? ["none", "leader", "both followers"]
      : ["none", "leader", "one follower", "both followers", "none"];
    for (const slow of cases) {
      const leader = await c.waitForLeader();
      const followers = c.nodes.map((n) => n.id).filter((id) => id !== leader);
      const slowIds =
        slow === "leader"
          ? [leader]
          : slow === "one follower"
            ? followers.slice(0, 1)
            : slow === "none"
              ? []
              : followers;
      await Promise.all(slowIds.map((id) => setDiskFault(faultFile(id), { delayMs })));
      try {
        const r = await measureSubmit(c, leader, {
          group: "slow-disk",
          name: `SubmitJob ${IN_FLIGHT} in flight, ${slow === "none" ? "healthy disks" : `${slow}: disk +${delayMs} ms per write`}`,
          inFlight: IN_FLIGHT,
          batch: 0,
          seconds,
          warmupMs: o.quick ? 300 : 1000,
          tag: `slow-${rows.length}`,
        });
        r.extra.slow_disks = slowIds.length === 0 ? "none" : slowIds.join("+");
        rows.push(r);
        console.error(printRows([r]));
      } finally {
        await Promise.all(slowIds.map((id) => rm(faultFile(id), { force: true })));
      }
    }
  } finally {
    await c.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) {
  console.log(machineLine());
  harnessWithoutSourceMaps();
  buildProduct();
  console.log(printRows(await runSlowDisk({ quick: process.argv.includes("--quick") })));
}

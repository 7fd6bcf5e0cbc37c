/**
 * Running one bench/cluster-*.ts section on its own (`npx tsx bench/cluster-e2e.ts [--quick]`):
 * the product built (bench/lib/build.ts), a fresh 3-node cluster, the section, its rows, the cluster stopped.
 */
import { buildProduct, harnessWithoutSourceMaps } from "./build.js";
import { BenchCluster } from "./cluster.js";
import { machineLine } from "./procstat.js";
import { printRows, type Row } from "./report.js";

export type Section = (c: BenchCluster, o: { quick: boolean }) => Promise<Row[]>;

/** True when `moduleUrl` (import.meta.url) is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  return moduleUrl === `file://${process.argv[1]}`;
}

export async function runStandalone(section: Section): Promise<void> {
  const quick = process.argv.includes("--quick");
  console.log(machineLine());
  harnessWithoutSourceMaps();
  buildProduct();
  const c = await BenchCluster.start({ entry: "built" });
  try {
    await c.waitForLeader();
    console.log(printRows(await section(c, { quick })));
  } finally {
    await c.stop();
  }
}

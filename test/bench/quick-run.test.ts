// `npm run bench -- --quick` is the benchmark's smoke run for CI (issue 6): it must run
// every cluster section end to end and write its JSON, or the benchmark rots unseen
// between the long runs. Nothing here is about speed: the assertions are that each
// section measured something, that no job was lost on the way to the workers, and that
// every kill of the leader was followed by an acknowledged write.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { etcdAvailable } from "../../bench/compare-etcd.js";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** The sections every machine can run: they need only the repo (the etcd ones are the second test). */
const SECTIONS = ["submit", "e2e", "failover", "scale", "slow-disk", "floor"];
const RUN_LIMIT_MS = 600_000;
/** The sections that need etcd run only where it is installed (Debian's etcd-server; .ci/run installs it when it can). */
const ETCD_ON_PATH = etcdAvailable() !== null;

interface BenchRow {
  group: string;
  name: string;
  rate: number | null;
  extra: Record<string, number | string>;
}
interface BenchFile {
  quick: boolean;
  rows: BenchRow[];
}

let dir = "";
let pid: number | undefined;

afterAll(async () => {
  // The bench stops its own nodes; if it is still running (timeout), end its whole process group.
  if (pid !== undefined) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

async function runQuickBench(
  out: string,
  sections = SECTIONS,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/run.ts", "--quick", "--only", sections.join(","), "--out", out],
    { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  pid = child.pid;
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const code = await new Promise<number | null>((res) => child.once("exit", (c) => res(c)));
  pid = undefined;
  return { code, stdout, stderr };
}

describe("npm run bench -- --quick", () => {
  it(
    "runs every cluster section, writes the JSON, and loses no job",
    async () => {
      dir = await mkdtemp(join(tmpdir(), "raftq-bench-quick-"));
      const out = join(dir, "bench.json");
      const { code, stdout, stderr } = await runQuickBench(out);
      expect(code, `bench exited ${code}; stderr tail:\n${stderr}`).toBe(0);
      expect(stdout).toContain("== goals (reported, never asserted)");

      const file = JSON.parse(await readFile(out, "utf8")) as BenchFile;
      expect(file.quick).toBe(true);
      const group = (g: string): BenchRow[] => file.rows.filter((r) => r.group === g);
      for (const g of SECTIONS) expect(group(g).length, `rows of section ${g}`).toBeGreaterThan(0);

      for (const r of [...group("submit"), ...group("floor")]) {
        expect(r.rate, r.name).toBeGreaterThan(0);
        expect(Number(r.extra.jobs), r.name).toBeGreaterThan(0);
      }
      const windows = [...group("submit"), ...group("scale").filter((x) => x.name.startsWith("SubmitJob"))];
      for (const r of windows) {
        // Read from every node's /metrics before and after the window.
        expect(Number.isInteger(r.extra.snapshots) && Number(r.extra.snapshots) >= 0, r.name).toBe(true);
        if (Number(r.extra.snapshots) > 0)
          expect(Number(r.extra.snapshot_seconds), r.name).toBeGreaterThan(0);
        // Every window writes, replicates and commits: each mean is read (a wrong metric name
        // would leave it out) and is a time.
        for (const field of ["leader_changes", "event_loop_stalls"])
          expect(Number.isInteger(r.extra[field]) && Number(r.extra[field]) >= 0, `${r.name}: ${field}`).toBe(
            true,
          );
        for (const field of ["fsync_ms", "round_trip_ms", "commit_ms"])
          expect(Number(r.extra[field]), `${r.name}: ${field}`).toBeGreaterThan(0);
      }
      // Thousands of entries over these windows, a snapshot per 1,000 per node: a metric read
      // under a wrong name would sum to 0 everywhere.
      expect(windows.reduce((sum, r) => sum + Number(r.extra.snapshots), 0)).toBeGreaterThan(0);
      for (const r of group("e2e")) {
        expect(Number(r.extra.submitted), r.name).toBeGreaterThan(0);
        expect(r.extra.completed, r.name).toBe(r.extra.submitted);
        expect(r.extra.completedByWorkers, r.name).toBe(r.extra.submitted);
      }
      const [failover] = group("failover");
      const samples = String(failover!.extra.samples).split(",").map(Number);
      expect(samples.length).toBe(3); // --quick kills the leader 3 times
      for (const s of samples) expect(s).toBeGreaterThan(0);

      // The slow-disk windows ran with the named nodes' disks slowed (each row says which), and
      // every window still committed writes.
      expect(group("slow-disk").map((r) => r.extra.slow_disks === "none")).toEqual([true, false, false]);
      for (const r of group("slow-disk")) expect(r.rate, r.name).toBeGreaterThan(0);

      const scale = (prefix: string): BenchRow | undefined =>
        group("scale").find((r) => r.name.startsWith(prefix));
      expect(Number(scale("heap per pending job")?.extra.n1_bytes_per_job)).toBeGreaterThan(0);
      const wiped = scale("wiped follower");
      expect(Number(wiped?.extra.snapshots_installed)).toBeGreaterThanOrEqual(1);
      expect(Number(wiped?.extra.caught_up_ms)).toBeGreaterThan(0);
    },
    RUN_LIMIT_MS,
  );

  it.runIf(ETCD_ON_PATH)(
    "measures etcd the same way, and raftq next to etcd in alternating windows, and reports the verdicts",
    async () => {
      dir = await mkdtemp(join(tmpdir(), "raftq-bench-quick-"));
      const out = join(dir, "etcd.json");
      const { code, stdout, stderr } = await runQuickBench(out, ["etcd", "interleaved"]);
      expect(code, `bench exited ${code}; stderr tail:\n${stderr}`).toBe(0);
      const file = JSON.parse(await readFile(out, "utf8")) as BenchFile;
      // The etcd section: Puts at the quick levels (1 and 16 in flight), then 3 kills of its leader.
      const etcd = file.rows.filter((r) => r.group === "etcd");
      const puts = etcd.filter((r) => / Put \d+ in flight$/.test(r.name));
      expect(puts.map((r) => r.name.replace(/^etcd \S+ /, ""))).toEqual([
        "Put 1 in flight",
        "Put 16 in flight",
      ]);
      for (const r of puts) expect(r.rate, r.name).toBeGreaterThan(0);
      const kills = etcd.find((r) => r.name.includes("kill -9 leader"));
      const samples = String(kills?.extra.samples).split(",").map(Number);
      expect(samples.length).toBe(3);
      for (const ms of samples) expect(ms).toBeGreaterThan(0);

      const rows = file.rows.filter((r) => r.group === "interleaved");
      expect(rows.map((r) => r.name.split(" ")[0])).toEqual(["raftq", "etcd"]);
      for (const r of rows) {
        expect(r.rate, r.name).toBeGreaterThan(0);
        expect(r.name, r.name).toMatch(/, 1 in flight, interleaved$/); // --quick: 1 in flight only
        expect(r.extra.windows, r.name).toBe(1); // --quick: one round, one window each
      }
      expect(Number(rows[0]!.extra.p50_vs_etcd)).toBeGreaterThan(0);
      expect(Number(rows[0]!.extra.rate_vs_etcd)).toBeGreaterThan(0);
      // raftq's windows are read from its nodes' metrics, etcd's are not.
      for (const field of ["leader_changes", "event_loop_stalls"]) {
        expect(Number.isInteger(rows[0]!.extra[field]), field).toBe(true);
        expect(rows[1]!.extra[field], field).toBeUndefined();
      }
      expect(stdout).toMatch(
        /latency @1 in flight below etcd's \(median p50 of alternating windows\)\s+(met|NOT met)/,
      );
    },
    RUN_LIMIT_MS,
  );
});

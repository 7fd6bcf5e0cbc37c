/** Every client-side CLI command against a real local 3-node cluster, output parsed and checked. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  runJobs,
  runMembers,
  runStatus,
  runStepDown,
  runSubmit,
  runWorker,
} from "../../src/cli/commands/index.js";
import { LocalCluster } from "../../src/cli/local-cluster.js";
import { freePort } from "../../src/cli/ports.js";
import { capture, parseTable, until } from "./capture.js";

let cluster: LocalCluster;
let dir: string;
let env: NodeJS.ProcessEnv;

async function run(
  cmd: (args: string[], io: ReturnType<typeof capture>["io"]) => Promise<number>,
  args: string[],
) {
  const c = capture(env);
  const code = await cmd(args, c.io);
  return { code, out: c.stdout(), err: c.stderr() };
}

async function runJson<T>(cmd: Parameters<typeof run>[0], args: string[]): Promise<T> {
  const r = await run(cmd, [...args, "-o", "json"]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
}

describe("raftq CLI against a local cluster", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "raftq-cli-"));
    cluster = await LocalCluster.start({ dataDir: dir, basePort: 0, baseHttpPort: 0, logLevel: "warn" });
    env = { RAFTQ_ENDPOINTS: cluster.endpoints.join(",") };
  });
  afterAll(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("status: a table with every member and one leader mark, and -o json", async () => {
    const r = await run(runStatus, []);
    expect(r.code, r.err).toBe(0);
    const rows = parseTable(r.out);
    expect(rows[0]).toEqual([
      "ID",
      "ADDRESS",
      "ROLE",
      "VOTER",
      "TERM",
      "COMMIT",
      "APPLIED",
      "MATCH",
      "ALIVE",
      "LEADER",
    ]);
    const members = rows.slice(1).filter((row) => /^n[0-9]$/.test(row[0]!));
    expect(members.map((m) => m[0]).sort()).toEqual(["n1", "n2", "n3"]);
    expect(members.filter((m) => m[9] === "*")).toHaveLength(1);
    expect(members.find((m) => m[9] === "*")![2]).toBe("leader");
    expect(members.every((m) => m[1]!.startsWith("127.0.0.1:"))).toBe(true);

    const st = await runJson<{ leaderId: string; members: { id: string; role: string; isAlive: boolean }[] }>(
      runStatus,
      [],
    );
    expect(["n1", "n2", "n3"]).toContain(st.leaderId);
    expect(st.members.find((m) => m.id === st.leaderId)!.role).toBe("leader");
  });

  it("submit, then jobs get / list / cancel / retry", async () => {
    const sub = await runJson<{ jobId: string; duplicate: boolean; idempotencyKey: string }>(runSubmit, [
      "--queue",
      "cli",
      "--type",
      "t",
      "--payload",
      '{"a":1}',
      "--priority",
      "3",
      "--max-attempts",
      "2",
      "--run-at",
      "+1h",
      "--idempotency-key",
      "cli-key-1",
    ]);
    expect(sub.duplicate).toBe(false);
    expect(sub.idempotencyKey).toBe("cli-key-1");
    const again = await run(runSubmit, ["--queue", "cli", "--type", "t", "--idempotency-key", "cli-key-1"]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`^already submitted job ${sub.jobId} `));

    const job = await runJson<{ id: string; state: string; payload: string; priority: number }>(runJobs, [
      "get",
      sub.jobId,
    ]);
    expect(job).toMatchObject({ id: sub.jobId, state: "scheduled", payload: '{"a":1}', priority: 3 });
    const getTable = await run(runJobs, ["get", sub.jobId]);
    expect(getTable.out).toMatch(/^state:\s+scheduled$/m);

    const list = await runJson<{ jobs: { id: string }[] }>(runJobs, ["list", "--queue", "cli", "--all"]);
    expect(list.jobs.map((j) => j.id)).toContain(sub.jobId);
    const listTable = await run(runJobs, ["list", "--queue", "cli", "--state", "scheduled"]);
    const rows = parseTable(listTable.out);
    expect(rows[0]![0]).toBe("ID");
    expect(rows.slice(1).map((r) => r[0])).toContain(sub.jobId);
    const stale = await runJson<{ jobs: { id: string }[] }>(runJobs, ["list", "--queue", "cli", "--stale"]);
    expect(stale.jobs.map((j) => j.id)).toContain(sub.jobId);

    const retry = await run(runJobs, ["retry", sub.jobId]);
    expect(retry.code).toBe(1);
    expect(retry.err).toMatch(/FAILED_PRECONDITION/);
    expect(retry.err).toMatch(/^hint: /m);

    const cancel = await runJson<{ cancelled: boolean }>(runJobs, ["cancel", sub.jobId, "--reason", "test"]);
    expect(cancel.cancelled).toBe(true);
    const cancel2 = await run(runJobs, ["cancel", sub.jobId]);
    expect(cancel2.out).toMatch(/already cancelled/);

    const missing = await run(runJobs, ["get", "no-such-job"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/NOT_FOUND/);
  });

  it("worker runs a shell command per job: payload on stdin, stdout as result, exit code as outcome", async () => {
    const w = capture(env);
    const done = runWorker(
      [
        "--queue",
        "sh",
        "--concurrency",
        "2",
        "-o",
        "json",
        "--",
        'if [ "$RAFTQ_JOB_TYPE" = bad ]; then echo oops >&2; exit 3; fi; cat; printf " %s" "$RAFTQ_JOB_ID"',
      ],
      w.io,
    );
    const ok = await runJson<{ jobId: string }>(runSubmit, [
      "--queue",
      "sh",
      "--type",
      "good",
      "--payload",
      "hello",
    ]);
    const bad = await runJson<{ jobId: string }>(runSubmit, [
      "--queue",
      "sh",
      "--type",
      "bad",
      "--max-attempts",
      "1",
    ]);
    await until(
      async () => {
        const j = await runJson<{ state: string }>(runJobs, ["get", ok.jobId]);
        const b = await runJson<{ state: string }>(runJobs, ["get", bad.jobId]);
        return j.state === "completed" && b.state === "failed";
      },
      20_000,
      "jobs finished",
    );
    const job = await runJson<{ result: string; attempts: number }>(runJobs, ["get", ok.jobId]);
    expect(job.result).toBe(`hello ${ok.jobId}`);
    const failed = await runJson<{ lastError: string }>(runJobs, ["get", bad.jobId]);
    expect(failed.lastError).toMatch(/exit code 3: oops/);
    w.stop();
    expect(await done).toBe(0);
    const events = w
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { jobId: string; outcome: string });
    expect(events).toContainEqual(expect.objectContaining({ jobId: ok.jobId, outcome: "completed" }));
    expect(events).toContainEqual(expect.objectContaining({ jobId: bad.jobId, outcome: "failed" }));
  });

  it("members list / transfer-leader, and step-down on a follower and on the leader", async () => {
    const list = await run(runMembers, ["list"]);
    expect(list.code, list.err).toBe(0);
    const rows = parseTable(list.out).slice(1);
    expect(rows).toHaveLength(3);
    const before = await runJson<{ leaderId: string; members: { id: string; address: string }[] }>(
      runMembers,
      ["list"],
    );
    const target = before.members.find((m) => m.id !== before.leaderId)!;
    const t = await runJson<{ leaderId: string; transferred: boolean }>(runMembers, [
      "transfer-leader",
      target.id,
    ]);
    expect(t).toEqual({ leaderId: target.id, transferred: true });

    const follower = before.members.find((m) => m.id !== target.id)!;
    const idle = await runJson<{ stepped: boolean }>(runStepDown, [
      "--endpoint",
      follower.address,
      "--timeout-ms",
      "10000",
    ]);
    expect(idle.stepped).toBe(false);

    const leaderAddress = cluster.node(target.id).address;
    const stepped = await runJson<{ stepped: boolean; leaderId: string }>(runStepDown, [
      "--endpoint",
      leaderAddress,
      "--timeout-ms",
      "20000",
    ]);
    expect(stepped.stepped).toBe(true);
    expect(stepped.leaderId).not.toBe(target.id);
    const after = await runJson<{ leaderId: string }>(runStatus, []);
    expect(after.leaderId).not.toBe(target.id);
  });

  it("usage errors exit 2; an unreachable cluster exits 3 with a hint", async () => {
    expect((await run(runStatus, ["--bogus"])).code).toBe(2);
    const noQueue = await run(runSubmit, ["--type", "t"]);
    expect(noQueue.code).toBe(2);
    expect(noQueue.err).toMatch(/--queue is required/);
    expect((await run(runJobs, ["frobnicate"])).code).toBe(2);
    expect((await run(runStatus, ["-o", "yaml"])).code).toBe(2);
    const port = await freePort();
    const down = await run(runStatus, ["--endpoints", `127.0.0.1:${port}`, "--timeout-ms", "600"]);
    expect(down.code).toBe(3);
    expect(down.err).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
    expect(down.err).toMatch(/^hint: /m);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobSpec, ProcCluster, sleep } from "./harness.js";

/** Three real node processes with RocksDB: elections, replication, status and input validation. */
describe("a three-node cluster of real processes", () => {
  let c: ProcCluster;
  beforeAll(async () => {
    c = await ProcCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  it("elects a leader, and a job submitted through any node is committed and visible on all", async () => {
    const leader = await c.waitForLeader();
    const ids: string[] = [];
    for (const n of c.nodes) {
      const r = await c.call<{ jobId: string; duplicate: boolean }>(n.id, "JobService", "SubmitJob", {
        job: jobSpec("visible", `via-${n.id}`),
      });
      expect(r.duplicate).toBe(false);
      ids.push(r.jobId);
    }
    expect(new Set(ids).size).toBe(3);
    // Linearizable reads on every node (followers run ReadIndex through the leader).
    for (const n of c.nodes) {
      for (const id of ids) {
        const job = await c.call<{ id: string; queue: string; state: string }>(n.id, "JobService", "GetJob", {
          jobId: id,
          linearizable: true,
        });
        expect(job.queue).toBe("visible");
        expect(job.state).toBe("JOB_STATE_PENDING");
      }
    }
    const st = await c.call<{ leaderId: string; members: { id: string; role: string; isAlive: boolean }[] }>(
      c.nodes[1]!.id,
      "ClusterService",
      "GetClusterStatus",
      {},
    );
    expect(st.leaderId).toBe(leader);
    expect(st.members.map((m) => m.role).sort()).toEqual([
      "MEMBER_ROLE_FOLLOWER",
      "MEMBER_ROLE_FOLLOWER",
      "MEMBER_ROLE_LEADER",
    ]);
    expect(st.members.every((m) => m.isAlive)).toBe(true);
  });

  it("a retried submit with the same idempotency key returns the same job", async () => {
    const a = await c.call<{ jobId: string; duplicate: boolean }>("n1", "JobService", "SubmitJob", {
      job: jobSpec("idem", "same-key"),
    });
    const b = await c.call<{ jobId: string; duplicate: boolean }>("n2", "JobService", "SubmitJob", {
      job: jobSpec("idem", "same-key"),
    });
    expect(b.jobId).toBe(a.jobId);
    expect(b.duplicate).toBe(true);
  });

  it("answers malformed, oversized and out-of-range requests with the documented errors and changes nothing", async () => {
    const before = await c.call<{ jobs: unknown[] }>("n1", "JobService", "ListJobs", { limit: 1000 });
    const expectCode = async (p: Promise<unknown>, code: number, text: RegExp) => {
      const e = (await p.then(
        () => null,
        (err: unknown) => err,
      )) as { code: number; details: string } | null;
      expect(e, "the call should have failed").not.toBeNull();
      expect(e!.code).toBe(code);
      expect(e!.details).toMatch(text);
    };
    const INVALID = 3;
    const NOT_FOUND = 5;
    await expectCode(
      c.call("n2", "JobService", "SubmitJob", { job: { queue: "", type: "t" } }),
      INVALID,
      /queue/,
    );
    await expectCode(
      c.call("n2", "JobService", "SubmitJob", {
        job: { queue: "q", type: "t", payload: Buffer.alloc(2 * 1024 * 1024) },
      }),
      INVALID,
      /payload.*limit/,
    );
    await expectCode(
      c.call("n3", "JobService", "SubmitJob", { job: { queue: "q", type: "t", priority: 2_000_000_000 } }),
      INVALID,
      /priority/,
    );
    await expectCode(
      c.call("n1", "JobService", "SubmitJobs", { jobs: [jobSpec("q", "ok-1"), { queue: "", type: "t" }] }),
      INVALID,
      /jobs\[1\]/,
    );
    await expectCode(c.call("n1", "JobService", "ListJobs", { limit: 5000 }), INVALID, /limit/);
    await expectCode(c.call("n1", "JobService", "GetJob", { jobId: "999999" }), NOT_FOUND, /999999/);
    await expectCode(c.call("n2", "JobService", "CancelJob", { jobId: "999999" }), NOT_FOUND, /999999/);
    await expectCode(
      c.call("n2", "WorkerService", "RegisterWorker", { workerId: "w", queues: ["q"], concurrency: 0 }),
      INVALID,
      /concurrency/,
    );
    await expectCode(
      c.call("n1", "AdminService", "AddLearner", { id: "x y", address: "nowhere" }),
      INVALID,
      /id/,
    );
    const after = await c.call<{ jobs: unknown[] }>("n1", "JobService", "ListJobs", { limit: 1000 });
    expect(after.jobs.length).toBe(before.jobs.length);
  });

  it("GetClusterStatus marks a stopped node not alive within about 3 s, and alive again once it is back", async () => {
    const leader = await c.waitForLeader();
    const victim = c.nodes.find((n) => n.id !== leader)!.id;
    await c.kill(victim);
    const t0 = Date.now();
    let deadAfterMs = -1;
    let deadRole = "";
    while (Date.now() - t0 < 8000) {
      const st = await c.call<{ members: { id: string; isAlive: boolean; role: string }[] }>(
        leader,
        "ClusterService",
        "GetClusterStatus",
        {},
      );
      const m = st.members.find((x) => x.id === victim);
      if (m?.isAlive === false) {
        deadAfterMs = Date.now() - t0;
        deadRole = m.role;
        break;
      }
      await sleep(100);
    }
    expect(deadAfterMs).toBeGreaterThan(2000); // not before the 3 s window...
    expect(deadAfterMs).toBeLessThan(6000); // ...and soon after it
    expect(deadRole).toBe("MEMBER_ROLE_UNSPECIFIED"); // it did not answer: its role is not known
    await c.startNode(victim);
    let alive = false;
    for (let i = 0; i < 100 && !alive; i++) {
      const st = await c.call<{ members: { id: string; isAlive: boolean }[] }>(
        leader,
        "ClusterService",
        "GetClusterStatus",
        {},
      );
      alive = st.members.find((m) => m.id === victim)?.isAlive === true;
      if (!alive) await sleep(100);
    }
    expect(alive).toBe(true);
  });

  it("serves /metrics, /livez and /readyz", async () => {
    const n = c.nodes[0]!;
    const live = await fetch(`http://127.0.0.1:${n.httpPort}/livez`);
    expect(live.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${n.httpPort}/readyz`);
    expect(ready.status).toBe(200);
    await sleep(1100); // metrics refresh every second
    expect(await c.metric(n.id, "raftq_raft_commit_index")).toBeGreaterThan(0);
    expect(await c.metric(n.id, "raftq_raft_term")).toBeGreaterThan(0);
  });
});

import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { RaftqClient, RaftqError } from "../../src/client/index.js";
import { FakeCluster } from "./fake-server.js";

let cluster: FakeCluster;
let client: RaftqClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await cluster.stop();
});

describe("RaftqClient against a fake cluster", () => {
  it("follows the leader: a follower's raftq-leader-id sends writes straight to the leader", async () => {
    cluster = await FakeCluster.start(3);
    cluster.leaderId = "n1";
    client = new RaftqClient({ endpoints: [cluster.address("n2"), cluster.address("n3")] });
    const first = await client.submit({ queue: "q", type: "t", payload: "a" });
    expect(first.jobId).toMatch(/^job-/);
    const submits = cluster.callsTo("SubmitJob");
    expect(submits.map((c) => c.node)).toEqual(["n2", "n1"]);
    await client.submit({ queue: "q", type: "t" });
    await client.submit({ queue: "q", type: "t" });
    expect(
      cluster
        .callsTo("SubmitJob")
        .slice(2)
        .map((c) => c.node),
    ).toEqual(["n1", "n1"]);

    // Leadership moves: the old leader names the new one, and the client follows.
    cluster.leaderId = "n3";
    await client.submit({ queue: "q", type: "t" });
    expect(
      cluster
        .callsTo("SubmitJob")
        .slice(4)
        .map((c) => c.node),
    ).toEqual(["n1", "n3"]);
  });

  it("backs off and retries on RESOURCE_EXHAUSTED, then succeeds", async () => {
    cluster = await FakeCluster.start(1);
    let rejections = 3;
    cluster.intercept = (c) =>
      c.method === "SubmitJob" && rejections-- > 0
        ? {
            code: grpc.status.RESOURCE_EXHAUSTED,
            details: "full",
            metadata: { "raftq-reason": "PROPOSAL_QUEUE_FULL" },
          }
        : undefined;
    client = new RaftqClient({ endpoints: cluster.endpoints, backoff: { initialMs: 20, maxMs: 200 } });
    const t0 = Date.now();
    const res = await client.submit({ queue: "q", type: "t" });
    const elapsedMs = Date.now() - t0;
    expect(res.duplicate).toBe(false);
    expect(cluster.callsTo("SubmitJob")).toHaveLength(4);
    // Equal jitter: at least half of 20 + 40 + 80 ms.
    expect(elapsedMs).toBeGreaterThanOrEqual(70);
  });

  it("gives up on RESOURCE_EXHAUSTED at the caller's deadline with a typed error", async () => {
    cluster = await FakeCluster.start(1);
    cluster.intercept = (c) =>
      c.method === "SubmitJob"
        ? {
            code: grpc.status.RESOURCE_EXHAUSTED,
            details: "full",
            metadata: { "raftq-reason": "PROPOSAL_QUEUE_FULL" },
          }
        : undefined;
    client = new RaftqClient({ endpoints: cluster.endpoints, backoff: { initialMs: 20, maxMs: 50 } });
    const t0 = Date.now();
    const err = await client.submit({ queue: "q", type: "t" }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(RaftqError);
    const e = err as RaftqError;
    expect(e.code).toBe("RESOURCE_EXHAUSTED");
    expect(e.reason).toBe("PROPOSAL_QUEUE_FULL");
    expect(e.attempts).toBeGreaterThan(2);
  });

  it("retries a submit after DEADLINE_EXCEEDED with the same idempotency key: one job only", async () => {
    cluster = await FakeCluster.start(1);
    let slow = true;
    cluster.intercept = (c) => {
      if (c.method === "SubmitJob" && slow) {
        slow = false;
        return { delayMs: 300 };
      }
      return undefined;
    };
    client = new RaftqClient({
      endpoints: cluster.endpoints,
      attemptTimeoutMs: 100,
      backoff: { initialMs: 600 },
    });
    const res = await client.submit({ queue: "q", type: "t" }, { timeoutMs: 3_000 });
    const keys = cluster
      .callsTo("SubmitJob")
      .map((c) => (c.request as { job: { idempotencyKey: string } }).job.idempotencyKey);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toBe(res.idempotencyKey);
    expect(res.duplicate).toBe(true);
    expect(cluster.jobs.size).toBe(1);
  });

  it("does not retry INVALID_ARGUMENT, nor a non-idempotent write after DEADLINE_EXCEEDED", async () => {
    cluster = await FakeCluster.start(1);
    client = new RaftqClient({ endpoints: cluster.endpoints });
    const bad = (await client.submit({ queue: "", type: "t" }).catch((e: unknown) => e)) as RaftqError;
    expect(bad.code).toBe("INVALID_ARGUMENT");
    expect(bad.attempts).toBe(1);
    cluster.intercept = (c) =>
      c.method === "RetryJob" ? { code: grpc.status.DEADLINE_EXCEEDED } : undefined;
    const late = (await client.retry("job-1").catch((e: unknown) => e)) as RaftqError;
    expect(late.code).toBe("DEADLINE_EXCEEDED");
    expect(cluster.callsTo("RetryJob")).toHaveLength(1);
  });

  it("moves on to another node when one does not answer", async () => {
    cluster = await FakeCluster.start(2);
    cluster.leaderId = "n2";
    await cluster.killNode("n1");
    client = new RaftqClient({ endpoints: cluster.endpoints, backoff: { initialMs: 10 } });
    const res = await client.submit({ queue: "q", type: "t" }, { timeoutMs: 5_000 });
    expect(res.jobId).toBeTruthy();
    expect(cluster.callsTo("SubmitJob").every((c) => c.node === "n2")).toBe(true);
  });

  it("submits batches, gets, lists page by page, cancels and retries", async () => {
    cluster = await FakeCluster.start(1);
    cluster.autoAssign = false;
    client = new RaftqClient({ endpoints: cluster.endpoints });
    const results = await client.submitMany(
      Array.from({ length: 7 }, (_, i) => ({ queue: i % 2 ? "odd" : "even", type: "t", payload: `p${i}` })),
    );
    expect(results).toHaveLength(7);
    expect(new Set(results.map((r) => r.idempotencyKey)).size).toBe(7);
    const job = await client.get(results[0]!.jobId);
    expect(job.state).toBe("pending");
    expect(job.payload.toString()).toBe("p0");

    const all = [];
    for await (const j of client.list({ pageSize: 3 })) all.push(j.id);
    expect(all).toHaveLength(7);
    expect(cluster.callsTo("ListJobs")).toHaveLength(3);
    const evens = [];
    for await (const page of client.pages({ queue: "even", pageSize: 10, linearizable: true }))
      evens.push(...page);
    expect(evens).toHaveLength(4);
    // Each page asks for its own read round; plain listings do not.
    const flags = cluster
      .callsTo("ListJobs")
      .map((c) => (c.request as { linearizable: boolean }).linearizable);
    expect(flags).toEqual([false, false, false, true]);

    expect(await client.cancel(results[1]!.jobId)).toBe(true);
    expect(await client.cancel(results[1]!.jobId)).toBe(false);
    cluster.jobs.get(results[2]!.jobId)!.state = "JOB_STATE_FAILED";
    await client.retry(results[2]!.jobId);
    expect((await client.get(results[2]!.jobId)).state).toBe("pending");
    const missing = (await client.get("nope").catch((e: unknown) => e)) as RaftqError;
    expect(missing).toBeInstanceOf(RaftqError);
    expect(missing.code).toBe("NOT_FOUND");
  });

  it("reports cluster status and runs admin calls on the leader", async () => {
    cluster = await FakeCluster.start(3);
    cluster.leaderId = "n2";
    client = new RaftqClient({ endpoints: [cluster.address("n1")] });
    const st = await client.clusterStatus();
    expect(st.leaderId).toBe("n2");
    expect(st.members.map((m) => m.role)).toEqual(["follower", "leader", "follower"]);
    expect((await client.addLearner("n4", "127.0.0.1:1")).index).toBe(10);
    expect((await client.promote("n4")).index).toBe(11);
    expect((await client.remove("n4")).index).toBe(12);
    expect(cluster.callsTo("PromoteMember").map((c) => c.node)).toEqual(["n2"]);
    const t = await client.transferLeadership({ toId: "n3" });
    expect(t).toEqual({ leaderId: "n3", transferred: true });
  });
});

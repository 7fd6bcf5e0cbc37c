/**
 * The SDK against three real `raftq node` processes (RocksDB in temp dirs,
 * free ports): backoff on RESOURCE_EXHAUSTED, idempotent submits, stale
 * tokens, and leader failover while a worker is mid-stream.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalCluster } from "../../src/cli/local-cluster.js";
import { RaftqClient, RaftqError, Worker } from "../../src/client/index.js";
import type { WireAssignmentEvent } from "../../src/client/wire.js";
import { until } from "../cli/capture.js";

let cluster: LocalCluster;
let dir: string;

describe("SDK against a real 3-node cluster", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "raftq-sdk-"));
    cluster = await LocalCluster.start({
      dataDir: dir,
      basePort: 0,
      baseHttpPort: 0,
      logLevel: "warn",
      nodeArgs: ["--max-pending-proposals", "4"],
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("backs off on RESOURCE_EXHAUSTED (a 4-proposal queue) and still submits every job once", async () => {
    const retries: string[] = [];
    const client = new RaftqClient({
      endpoints: cluster.endpoints,
      timeoutMs: 30_000,
      backoff: { initialMs: 10, maxMs: 300 },
      onRetry: ({ error }) => retries.push(error.code),
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          client.submit({ queue: "burst", type: "t", payload: String(i) }),
        ),
      );
      expect(new Set(results.map((r) => r.jobId)).size).toBe(120);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      expect(retries).toContain("RESOURCE_EXHAUSTED");
      // A linearizable list reflects every acknowledged submit, whichever node answers
      // (a default list reads the node's applied state, which may lag: docs/sdk.md).
      let count = 0;
      for await (const _ of client.list({ queue: "burst", pageSize: 1000, linearizable: true })) count++;
      expect(count).toBe(120);
    } finally {
      client.close();
    }
  });

  it("idempotent submits: the same key, retried or raced, makes one job", async () => {
    const client = new RaftqClient({ endpoints: cluster.endpoints, timeoutMs: 20_000 });
    try {
      const same = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.submit({ queue: "idem", type: "t", idempotencyKey: "order-42" }),
        ),
      );
      expect(new Set(same.map((r) => r.jobId)).size).toBe(1);
      expect(same.filter((r) => !r.duplicate).length).toBeLessThanOrEqual(1);
      const later = await client.submit({ queue: "idem", type: "t", idempotencyKey: "order-42" });
      expect(later).toMatchObject({ jobId: same[0]!.jobId, duplicate: true });
      const job = await client.get(later.jobId, { linearizable: true });
      expect(job.idempotencyKey).toBe("order-42");
    } finally {
      client.close();
    }
  });

  it("a result carrying the token of an expired lease is rejected (STALE_TOKEN)", async () => {
    const client = new RaftqClient({ endpoints: cluster.endpoints, timeoutMs: 20_000 });
    const conn = client.connections;
    const workerId = "stale-worker";
    const leader = { target: "leader", idempotent: true } as const;
    const tokens: number[] = [];
    await conn.call(
      "WorkerService",
      "RegisterWorker",
      { workerId, queues: ["stale"], concurrency: 1 },
      leader,
    );
    const stream = conn.stream<WireAssignmentEvent>(
      "WorkerService",
      "StreamAssignments",
      { workerId },
      cluster.endpoints[0]!,
    );
    stream.on("data", (ev: WireAssignmentEvent) => {
      if (ev.assigned) tokens.push(ev.assigned.token);
    });
    stream.on("error", () => undefined);
    const beat = setInterval(
      () => void conn.call("WorkerService", "Heartbeat", { workerId }, leader).catch(() => undefined),
      200,
    );
    try {
      const { jobId } = await client.submit({ queue: "stale", type: "t", leaseMs: 1_000 });
      // First assignment, then the lease runs out and the job is assigned again with a new token.
      await until(() => new Set(tokens).size >= 2, 15_000, "reassignment after lease expiry");
      const [oldToken, newToken] = [...new Set(tokens)];
      const update = (token: number) => ({
        update: { jobId, workerId, token, completed: { result: Buffer.from("x") } },
      });
      const stale = await conn
        .call("WorkerService", "UpdateJobStatus", update(oldToken!), leader)
        .catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(RaftqError);
      expect((stale as RaftqError).code).toBe("FAILED_PRECONDITION");
      expect((stale as RaftqError).reason).toBe("STALE_TOKEN");
      await conn.call("WorkerService", "UpdateJobStatus", update(newToken!), leader);
      expect((await client.get(jobId, { linearizable: true })).state).toBe("completed");
    } finally {
      clearInterval(beat);
      stream.cancel();
      await conn.call("WorkerService", "DeregisterWorker", { workerId }, leader).catch(() => undefined);
      client.close();
    }
  });

  it("leader failover while a worker is mid-stream: the worker carries on and no job is lost", async () => {
    const client = new RaftqClient({ endpoints: cluster.endpoints, timeoutMs: 30_000 });
    const runs = new Map<string, number[]>();
    const worker = new Worker({
      endpoints: cluster.endpoints,
      queues: ["failover"],
      concurrency: 4,
      workerId: "failover-worker",
      reconnectBackoff: { initialMs: 50, maxMs: 500 },
      timeoutMs: 30_000,
      handler: async (job) => {
        runs.set(job.id, [...(runs.get(job.id) ?? []), job.token]);
        await new Promise((r) => setTimeout(r, 30));
        return `ok ${job.id}`;
      },
    });
    try {
      await worker.start();
      const first = await client.submitMany(
        Array.from({ length: 30 }, (_, i) => ({ queue: "failover", type: "t", payload: `${i}` })),
      );
      await until(() => worker.stats().completed >= 10, 20_000, "some jobs done");
      const { leaderId } = await client.clusterStatus();
      await cluster.killNode(leaderId);
      const second = await client.submitMany(
        Array.from({ length: 30 }, (_, i) => ({ queue: "failover", type: "t", payload: `b${i}` })),
      );
      const ids = [...first, ...second].map((r) => r.jobId);
      await until(
        async () => {
          let done = 0;
          for await (const j of client.list({ queue: "failover", state: "completed", pageSize: 1000 }))
            if (ids.includes(j.id)) done++;
          return done === ids.length;
        },
        30_000,
        "every job completed",
      );
      const newLeader = await client.clusterStatus();
      expect(newLeader.leaderId).not.toBe(leaderId);
      for (const id of ids) {
        const tokens = runs.get(id) ?? [];
        expect(tokens.length, `job ${id} ran`).toBeGreaterThanOrEqual(1);
        // A job runs again only under a new token (its lease expired); never twice under one token.
        expect(new Set(tokens).size, `job ${id} tokens ${tokens.join(",")}`).toBe(tokens.length);
      }
      const job = await client.get(ids[0]!, { linearizable: true });
      expect(job.result.toString()).toBe(`ok ${ids[0]}`);
      // The killed node restarts from its RocksDB data and rejoins.
      cluster.startNode(leaderId);
      await until(
        async () => (await client.clusterStatus()).members.find((m) => m.id === leaderId)?.isAlive === true,
        20_000,
        "restarted node alive",
      );
    } finally {
      await worker.close({ drain: false });
      client.close();
    }
  });
  it("a worker whose node freezes (no reset, nothing answers) moves its stream to another node", async () => {
    const worker = new Worker({
      endpoints: cluster.endpoints,
      queues: ["freeze"],
      concurrency: 2,
      workerId: "freeze-worker",
      reconnectBackoff: { initialMs: 50, maxMs: 300 },
      attemptTimeoutMs: 1_000,
      // Short pings so the test is quick; the default notices a frozen node in ~15 s.
      keepaliveTimeMs: 1_000,
      keepaliveTimeoutMs: 1_000,
      timeoutMs: 30_000,
      handler: async (job) => `ok ${job.id}`,
    });
    let frozenPid: number | undefined;
    let client: RaftqClient | null = null;
    try {
      await worker.start();
      client = new RaftqClient({ endpoints: cluster.endpoints, timeoutMs: 30_000 });
      // One job through the stream first: the stream is then established, not still connecting.
      await client.submit({ queue: "freeze", type: "warm-up" });
      await until(() => worker.stats().completed >= 1, 20_000, "warm-up job done");
      client.close();
      const frozenAddress = worker.stats().streamAddress!;
      const frozen = cluster.nodes.find((n) => n.address === frozenAddress)!;
      frozenPid = frozen.process!.pid!;
      process.kill(frozenPid, "SIGSTOP");
      client = new RaftqClient({
        endpoints: cluster.endpoints.filter((e) => e !== frozenAddress),
        timeoutMs: 30_000,
      });
      const submitted = await client.submitMany(
        Array.from({ length: 5 }, (_, i) => ({
          queue: "freeze",
          type: "t",
          payload: `${i}`,
          leaseMs: 3_000,
        })),
      );
      const ids = submitted.map((r) => r.jobId);
      await until(
        async () => {
          let done = 0;
          for await (const j of client!.list({ queue: "freeze", state: "completed", pageSize: 100 }))
            if (ids.includes(j.id)) done++;
          return done === ids.length;
        },
        30_000,
        "every job completed by the worker after it left the frozen node",
      );
      expect(worker.stats().reconnects).toBeGreaterThanOrEqual(1);
      expect(worker.stats().streamAddress).not.toBe(frozenAddress);
    } finally {
      if (frozenPid !== undefined) process.kill(frozenPid, "SIGCONT");
      await worker.close({ drain: false });
      client?.close();
    }
  });
  it("a worker that starts while a node is frozen does not wait on it: its stream opens elsewhere", async () => {
    let client: RaftqClient | null = new RaftqClient({ endpoints: cluster.endpoints, timeoutMs: 30_000 });
    const { leaderId } = await client.clusterStatus();
    client.close();
    // Freeze a follower (the cluster keeps its leader) and list it first, so the worker dials it first.
    const frozen = cluster.nodes.find((n) => n.id !== leaderId)!;
    const others = cluster.endpoints.filter((e) => e !== frozen.address);
    const frozenPid = frozen.process!.pid!;
    process.kill(frozenPid, "SIGSTOP");
    const worker = new Worker({
      endpoints: [frozen.address, ...others],
      queues: ["frozen-at-start"],
      workerId: "frozen-at-start-worker",
      reconnectBackoff: { initialMs: 50, maxMs: 300 },
      attemptTimeoutMs: 1_000,
      streamOpenTimeoutMs: 1_000,
      timeoutMs: 30_000,
      handler: async (job) => `ok ${job.id}`,
    });
    client = null;
    try {
      const t0 = Date.now();
      await worker.start();
      client = new RaftqClient({ endpoints: others, timeoutMs: 30_000 });
      const { jobId } = await client.submit({ queue: "frozen-at-start", type: "t" });
      // grpc-js alone would hold the stream on the frozen node for its 20 s connect timeout.
      await until(async () => (await client!.get(jobId)).state === "completed", 10_000, "the job completed");
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(worker.stats().streamAddress).not.toBe(frozen.address);
    } finally {
      process.kill(frozenPid, "SIGCONT");
      await worker.close({ drain: false });
      client?.close();
    }
  });
  it("an idle assignment stream counts as open (the node answers with headers at once): no reconnects", async () => {
    const worker = new Worker({
      endpoints: cluster.endpoints,
      queues: ["idle-stream"],
      workerId: "idle-stream-worker",
      streamOpenTimeoutMs: 200,
      handler: async () => "never called",
    });
    try {
      await worker.start();
      await new Promise((r) => setTimeout(r, 1_500)); // seven open timeouts, and no job to carry data
      expect(worker.stats().reconnects).toBe(0);
      expect(worker.stats().streamAddress).not.toBeNull();
    } finally {
      await worker.close({ drain: false });
    }
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { NonRetryableError, Worker, type WorkerJob } from "../../src/client/index.js";
import { RaftqClient } from "../../src/client/index.js";
import { FakeCluster } from "./fake-server.js";

let cluster: FakeCluster;
const toClose: { close(): unknown }[] = [];

afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
  await cluster.stop();
});

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function states(): string[] {
  return [...cluster.jobs.values()].map((j) => j.state);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function setup(
  handler: (j: WorkerJob) => Promise<string | void>,
  opts: { concurrency?: number; nodes?: number; batchSize?: number } = {},
) {
  cluster = await FakeCluster.start(opts.nodes ?? 1);
  const client = new RaftqClient({ endpoints: cluster.endpoints, backoff: { initialMs: 10, maxMs: 50 } });
  const worker = new Worker({
    client,
    queues: ["q"],
    concurrency: opts.concurrency ?? 1,
    handler,
    workerId: "w1",
    reports: { batchSize: opts.batchSize ?? 64, flushIntervalMs: 5 },
    reconnectBackoff: { initialMs: 10, maxMs: 50 },
  });
  toClose.push({ close: () => worker.close({ drain: false }) }, client);
  await worker.start();
  return { client, worker };
}

describe("Worker against a fake cluster", () => {
  it("runs at most `concurrency` jobs at once even when the server over-assigns", async () => {
    let now = 0;
    let max = 0;
    const { client } = await setup(
      async () => {
        max = Math.max(max, ++now);
        await new Promise((r) => setTimeout(r, 20));
        now--;
        return "ok";
      },
      { concurrency: 2 },
    );
    cluster.ignoreConcurrency = true;
    await client.submitMany(Array.from({ length: 8 }, () => ({ queue: "q", type: "t" })));
    await until(() => states().every((s) => s === "JOB_STATE_COMPLETED"));
    expect(max).toBe(2);
    expect([...cluster.jobs.values()][0]!.result.toString()).toBe("ok");
  });

  it("batches outcome reports", async () => {
    const { client, worker } = await setup(async () => undefined, { concurrency: 50, batchSize: 16 });
    await client.submitMany(Array.from({ length: 50 }, () => ({ queue: "q", type: "t" })));
    await until(() => states().filter((s) => s === "JOB_STATE_COMPLETED").length === 50);
    expect(cluster.reportBatches.reduce((a, b) => a + b, 0)).toBe(50);
    expect(Math.max(...cluster.reportBatches)).toBeLessThanOrEqual(16);
    expect(cluster.reportBatches.length).toBeLessThan(25);
    expect(cluster.callsTo("UpdateJobStatus")).toHaveLength(0);
    await until(() => worker.stats().completed === 50);
  });

  it("reports handler errors as retryable, NonRetryableError as final", async () => {
    const { client } = await setup(async (j) => {
      if (j.payload.toString() === "fatal") throw new NonRetryableError("bad input");
      throw new Error("flaky");
    });
    const [a, b] = await client.submitMany([
      { queue: "q", type: "t", payload: "fatal" },
      { queue: "q", type: "t", payload: "flaky", maxAttempts: 2 },
    ]);
    await until(() => states().every((s) => s === "JOB_STATE_FAILED"));
    expect(cluster.jobs.get(a!.jobId)!.attempts).toBe(1);
    expect(cluster.jobs.get(a!.jobId)!.lastError).toBe("bad input");
    expect(cluster.jobs.get(b!.jobId)!.attempts).toBe(2);
  });

  it("does not run a job twice when the stream resends it, and runs the newer token after a requeue", async () => {
    const gate = deferred();
    const runs: string[] = [];
    const { client } = await setup(async (j) => {
      runs.push(`${j.id}:${j.token}`);
      await gate.promise;
    });
    const { jobId } = await client.submit({ queue: "q", type: "t" });
    await until(() => runs.length === 1);
    cluster.resendHeld("w1");
    cluster.resendHeld("w1");
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toHaveLength(1);
    // Lease lost and reassigned to the same worker with a new token: the new attempt runs; the old one is stale.
    const job = cluster.jobs.get(jobId)!;
    cluster.requeue(job);
    cluster.assign(job, "w1");
    await until(() => runs.length === 2);
    gate.resolve();
    await until(() => job.state === "JOB_STATE_COMPLETED");
    expect(runs[0]).not.toBe(runs[1]);
  });

  it("asks for batched assignments and runs each job of a batch once, in order", async () => {
    const runs: string[] = [];
    const { client } = await setup(
      async (j) => {
        runs.push(j.id);
      },
      { concurrency: 4 },
    );
    cluster.autoAssign = false;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.submit({ queue: "q", type: "t" })).jobId);
    const jobs = ids.map((id) => cluster.jobs.get(id)!);
    // The third event repeats the first assignment (same job, same token): not run again.
    cluster.assignBatch(jobs.slice(0, 2), "w1");
    cluster.assignBatch([jobs[2]!], "w1", [
      { assigned: { job: jobs[0]!, token: jobs[0]!.token, attempt: 1, leaseDeadlineMs: 0 } },
    ]);
    await until(() => jobs.every((j) => j.state === "JOB_STATE_COMPLETED"));
    expect(runs).toEqual(ids);
    const open = cluster.calls.find((c) => c.method === "StreamAssignments");
    expect(open?.request).toMatchObject({ workerId: "w1", maxEventsPerMessage: 1000 });
  });

  it("refuses a maxEventsPerMessage outside 1-1000", () => {
    for (const maxEventsPerMessage of [0, 1001, 2.5])
      expect(
        () =>
          new Worker({
            endpoints: ["127.0.0.1:1"],
            queues: ["q"],
            handler: async () => undefined,
            maxEventsPerMessage,
          }),
      ).toThrow(/maxEventsPerMessage .* is not in 1-1000/);
  });

  it("aborts a revoked job through its AbortSignal and does not report it", async () => {
    let aborted = false;
    const { client } = await setup(
      (j) =>
        new Promise<void>((_, reject) =>
          j.signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("aborted"));
          }),
        ),
    );
    const { jobId } = await client.submit({ queue: "q", type: "t" });
    await until(() => cluster.jobs.get(jobId)!.state === "JOB_STATE_RUNNING");
    await new Promise((r) => setTimeout(r, 20));
    expect(await client.cancel(jobId)).toBe(true);
    await until(() => aborted);
    await new Promise((r) => setTimeout(r, 30));
    expect(cluster.reportBatches).toHaveLength(0);
  });

  it("close({ drain: true }) finishes running jobs, reports them, then deregisters", async () => {
    const gate = deferred();
    const { client, worker } = await setup(async () => {
      await gate.promise;
      return "done";
    });
    const { jobId } = await client.submit({ queue: "q", type: "t" });
    await until(() => worker.stats().running === 1);
    const closed = worker.close({ drain: true });
    await new Promise((r) => setTimeout(r, 30));
    expect(cluster.callsTo("DeregisterWorker")).toHaveLength(0);
    gate.resolve();
    await closed;
    expect(cluster.jobs.get(jobId)!.state).toBe("JOB_STATE_COMPLETED");
    const order = cluster.calls
      .map((c) => c.method)
      .filter((m) => m === "BatchUpdateJobStatus" || m === "DeregisterWorker");
    expect(order).toEqual(["BatchUpdateJobStatus", "DeregisterWorker"]);
  });

  it("close({ drain: false }) aborts running jobs and deregisters so they are requeued", async () => {
    let signal: AbortSignal | undefined;
    const { client, worker } = await setup(
      (j) =>
        new Promise<void>((_, reject) => {
          signal = j.signal;
          j.signal.addEventListener("abort", () => reject(new Error("stop")));
        }),
    );
    const { jobId } = await client.submit({ queue: "q", type: "t" });
    await until(() => worker.stats().running === 1);
    await worker.close({ drain: false });
    expect(signal?.aborted).toBe(true);
    expect(cluster.reportBatches).toHaveLength(0);
    expect(cluster.callsTo("DeregisterWorker")).toHaveLength(1);
    expect(cluster.jobs.get(jobId)!.state).toBe("JOB_STATE_PENDING");
  });

  it("registers again when a heartbeat says the cluster forgot it", async () => {
    await setup(async () => undefined);
    expect(cluster.callsTo("RegisterWorker")).toHaveLength(1);
    cluster.workers.delete("w1");
    await until(() => cluster.callsTo("RegisterWorker").length === 2);
    expect(cluster.workers.has("w1")).toBe(true);
  });

  it("moves its stream to another node when its node dies, and carries on", async () => {
    const done: string[] = [];
    const { client, worker } = await setup(
      async (j) => {
        done.push(j.id);
      },
      { nodes: 2 },
    );
    await until(() => cluster.callsTo("StreamAssignments").length === 1);
    const streamNode = cluster.callsTo("StreamAssignments")[0]!.node;
    const other = streamNode === "n1" ? "n2" : "n1";
    cluster.leaderId = other;
    await cluster.killNode(streamNode);
    await until(() => cluster.callsTo("StreamAssignments").some((c) => c.node === other));
    await client.submit({ queue: "q", type: "t" });
    await until(() => done.length === 1);
    expect(worker.stats().reconnects).toBeGreaterThanOrEqual(1);
  });
});

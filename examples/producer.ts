/**
 * Submits jobs to a running raftq cluster (`npm start` starts one on
 * 127.0.0.1:7701-7703), waits for them to finish, and prints their results.
 *
 *   npx tsx examples/producer.ts [count]
 *
 * RAFTQ_ENDPOINTS=host:port,... overrides the endpoints.
 */
import { RaftqClient, RaftqError, type Job } from "../src/client/index.js";

const endpoints = (process.env["RAFTQ_ENDPOINTS"] ?? "127.0.0.1:7701,127.0.0.1:7702,127.0.0.1:7703").split(
  ",",
);
const count = Number(process.argv[2] ?? "5");
const queue = "examples";

const client = new RaftqClient({ endpoints, timeoutMs: 10_000 });

try {
  // One job with an explicit idempotency key: running this script twice does not submit it twice.
  const once = await client.submit({
    queue,
    type: "report",
    payload: JSON.stringify({ day: new Date().toISOString().slice(0, 10) }),
    idempotencyKey: `daily-report-${new Date().toISOString().slice(0, 10)}`,
  });
  console.log(`daily report: job ${once.jobId}${once.duplicate ? " (already submitted today)" : ""}`);

  // A batch in one Raft entry: all or none.
  const batch = await client.submitMany(
    Array.from({ length: count }, (_, i) => ({
      queue,
      type: "resize",
      payload: JSON.stringify({ image: `photo-${i + 1}.jpg`, width: 320 }),
      priority: i === 0 ? 10 : 0,
      maxAttempts: 3,
    })),
  );
  console.log(`submitted ${batch.length} resize jobs`);

  // Wait until every job has finished (a worker must be running: examples/worker.ts).
  const ids = [once.jobId, ...batch.map((b) => b.jobId)];
  const deadline = Date.now() + 60_000;
  const finished = new Map<string, Job>();
  while (finished.size < ids.length && Date.now() < deadline) {
    for (const id of ids) {
      if (finished.has(id)) continue;
      const job = await client.get(id, { linearizable: true });
      if (job.state === "completed" || job.state === "failed" || job.state === "cancelled")
        finished.set(id, job);
    }
    if (finished.size < ids.length) await new Promise((r) => setTimeout(r, 250));
  }
  for (const id of ids) {
    const job = finished.get(id);
    if (job === undefined) console.log(`${id}: not finished yet (is examples/worker.ts running?)`);
    else
      console.log(
        `${id}: ${job.state} after ${job.attempts} attempt(s): ${job.result.toString() || job.lastError}`,
      );
  }
} catch (e) {
  if (e instanceof RaftqError) {
    console.error(`raftq: ${e.code}${e.reason ? ` [${e.reason}]` : ""}: ${e.message}`);
    console.error("is the cluster running? `npm start` starts one on 127.0.0.1:7701-7703");
    process.exitCode = e.code === "UNAVAILABLE" || e.code === "DEADLINE_EXCEEDED" ? 3 : 1;
  } else throw e;
} finally {
  client.close();
}

/**
 * A worker for the jobs examples/producer.ts submits: takes jobs from queue
 * "examples", four at a time, until Ctrl-C (which finishes running jobs
 * first; a second Ctrl-C aborts them and hands them back).
 *
 *   npx tsx examples/worker.ts
 *
 * RAFTQ_ENDPOINTS=host:port,... overrides the endpoints (default: `npm start`'s 127.0.0.1:7701-7703).
 */
import { NonRetryableError, Worker, type WorkerJob } from "../src/client/index.js";

const endpoints = (process.env["RAFTQ_ENDPOINTS"] ?? "127.0.0.1:7701,127.0.0.1:7702,127.0.0.1:7703").split(
  ",",
);

async function handle(job: WorkerJob): Promise<string> {
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(job.payload.toString("utf8")) as Record<string, unknown>;
  } catch {
    // Retrying will not fix a bad payload: dead-letter the job at once.
    throw new NonRetryableError("payload is not JSON");
  }
  switch (job.type) {
    case "resize": {
      // Pretend work that stops early when the job is revoked (cancelled or lease lost).
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 300);
        job.signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(new Error("revoked"));
        });
      });
      if (Math.random() < 0.2) throw new Error("transient failure (retried with backoff)");
      return JSON.stringify({ image: input["image"], thumbnail: `thumb-${String(input["image"])}` });
    }
    case "report":
      return `report for ${String(input["day"])}`;
    default:
      throw new NonRetryableError(`unknown job type ${job.type}`);
  }
}

const worker = new Worker({
  endpoints,
  queues: ["examples"],
  concurrency: 4,
  handler: async (job) => {
    console.log(`-> ${job.id} ${job.type} attempt ${job.attempt}`);
    const result = await handle(job);
    console.log(`<- ${job.id} done`);
    return result;
  },
});

await worker.start();
console.log(`worker ${worker.workerId} is running; Ctrl-C to stop`);

let stopping = false;
const stop = (): void => {
  if (stopping) {
    console.log("aborting running jobs");
    void worker.close({ drain: false });
    return;
  }
  stopping = true;
  console.log("finishing running jobs, then leaving (Ctrl-C again to abort)");
  void worker.close({ drain: true }).then(() => {
    console.log("stopped", worker.stats());
  });
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

/**
 * Runs one job as a shell command: the payload on stdin, the job's facts in
 * RAFTQ_* environment variables. Exit 0 completes the job with stdout as its
 * result; any other exit fails it retryably (stderr's tail is the error).
 */
import { spawn } from "node:child_process";
import type { WorkerJob } from "../client/worker.js";

/** Most bytes of stdout kept as the result (the cluster's result limit is 1 MiB). */
export const MAX_RESULT_BYTES = 1024 * 1024;
/** Most bytes of stderr kept for the error message. */
const MAX_ERROR_BYTES = 2_000;
/** How long a child has after SIGTERM (on revocation) before SIGKILL, in ms. */
const KILL_GRACE_MS = 2_000;

export function jobEnv(job: WorkerJob, workerId: string): Record<string, string> {
  return {
    RAFTQ_JOB_ID: job.id,
    RAFTQ_JOB_QUEUE: job.queue,
    RAFTQ_JOB_TYPE: job.type,
    RAFTQ_JOB_ATTEMPT: String(job.attempt),
    RAFTQ_JOB_TOKEN: String(job.token),
    RAFTQ_JOB_LEASE_DEADLINE_MS: String(job.leaseDeadlineMs),
    RAFTQ_WORKER_ID: workerId,
  };
}

export function runShellJob(command: string, job: WorkerJob, workerId: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      env: { ...process.env, ...jobEnv(job, workerId) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errText = "";
    child.stdout.on("data", (d: Buffer) => {
      if (outBytes < MAX_RESULT_BYTES) out.push(d.subarray(0, MAX_RESULT_BYTES - outBytes));
      outBytes += d.length;
    });
    child.stderr.on("data", (d: Buffer) => {
      errText = (errText + d.toString("utf8")).slice(-MAX_ERROR_BYTES);
    });
    child.stdin.on("error", () => undefined); // The command may not read its stdin.
    child.stdin.end(job.payload);
    let killTimer: NodeJS.Timeout | null = null;
    const onAbort = (): void => {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    };
    job.signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => reject(e));
    child.on("close", (code, signal) => {
      job.signal.removeEventListener("abort", onAbort);
      if (killTimer !== null) clearTimeout(killTimer);
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const why = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
        reject(new Error(errText.trim() !== "" ? `${why}: ${errText.trim()}` : why));
      }
    });
  });
}

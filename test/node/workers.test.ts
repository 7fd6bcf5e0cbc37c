import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobSpec, ProcCluster, sleep } from "./harness.js";

interface AssignmentEvent {
  assigned?: { job: { id: string; workerId: string }; token: number; attempt: number } | null;
  revoked?: { jobId: string; reason: string } | null;
  batch?: { events: AssignmentEvent[] } | null;
}

/** Workers on different nodes, liveness, requeue and the assignment token. */
describe("workers", () => {
  let c: ProcCluster;
  beforeAll(async () => {
    c = await ProcCluster.start({ size: 3, extraArgs: ["--liveness-window-ms", "2000"] });
  });
  afterAll(async () => {
    await c?.stopAll();
  });

  function stream(
    nodeId: string,
    workerId: string,
    maxEventsPerMessage = 0,
  ): { events: AssignmentEvent[]; call: grpc.ClientReadableStream<AssignmentEvent> } {
    const client = c.client(nodeId, "WorkerService") as unknown as {
      StreamAssignments(req: unknown): grpc.ClientReadableStream<AssignmentEvent>;
    };
    const call = client.StreamAssignments({ workerId, maxEventsPerMessage });
    const events: AssignmentEvent[] = [];
    call.on("data", (e: AssignmentEvent) => events.push(e));
    call.on("error", () => undefined);
    return { events, call };
  }

  it("delivers each worker only its own assignments, on whichever node it is connected to", async () => {
    const leader = await c.waitForLeader();
    const [a, b] = c.nodes.filter((n) => n.id !== leader).map((n) => n.id) as [string, string];
    await c.call(a, "WorkerService", "RegisterWorker", { workerId: "wa", queues: ["work"], concurrency: 4 });
    await c.call(b, "WorkerService", "RegisterWorker", { workerId: "wb", queues: ["work"], concurrency: 4 });
    const sa = stream(a, "wa");
    const sb = stream(b, "wb");
    const beat = setInterval(() => {
      void c.call(a, "WorkerService", "Heartbeat", { workerId: "wa" }).catch(() => undefined);
      void c.call(b, "WorkerService", "Heartbeat", { workerId: "wb" }).catch(() => undefined);
    }, 200);
    try {
      for (let i = 0; i < 6; i++)
        await c.call(leader, "JobService", "SubmitJob", { job: jobSpec("work", `j${i}`) });
      for (let i = 0; i < 100 && sa.events.length + sb.events.length < 6; i++) await sleep(50);
      const got = (s: { events: AssignmentEvent[] }) =>
        s.events.filter((e) => e.assigned).map((e) => e.assigned!);
      expect(got(sa).length + got(sb).length).toBe(6);
      expect(got(sa).every((x) => x.job.workerId === "wa")).toBe(true);
      expect(got(sb).every((x) => x.job.workerId === "wb")).toBe(true);
      // Least-loaded: the six jobs spread over both workers.
      expect(got(sa).length).toBeGreaterThanOrEqual(2);
      expect(got(sb).length).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(beat);
      sa.call.cancel();
      sb.call.cancel();
    }
  });

  it("sends the jobs one entry assigns as one batch to a stream that asked for batches, and one by one otherwise", async () => {
    const leader = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    for (const workerId of ["batched", "single"])
      await c.call(leader, "WorkerService", "RegisterWorker", {
        workerId,
        queues: [workerId],
        concurrency: 50,
      });
    const batched = stream(follower, "batched", 1000);
    const single = stream(follower, "single");
    try {
      await sleep(200); // both streams attached
      for (const queue of ["batched", "single"])
        await c.call(leader, "JobService", "SubmitJobs", {
          jobs: Array.from({ length: 20 }, (_, i) => jobSpec(queue, `${queue}-${i}`)),
        });
      const ids = (s: { events: AssignmentEvent[] }): string[] =>
        s.events
          .flatMap((e) => e.batch?.events ?? [e])
          .flatMap((e) => (e.assigned ? [e.assigned.job.id] : []));
      for (let i = 0; i < 100 && (ids(batched).length < 20 || ids(single).length < 20); i++) await sleep(50);
      expect(new Set(ids(batched)).size).toBe(20);
      expect(new Set(ids(single)).size).toBe(20);
      // The 20 jobs were submitted in one entry and assigned in one: fewer messages than jobs.
      expect(batched.events.some((e) => (e.batch?.events.length ?? 0) > 1)).toBe(true);
      expect(batched.events.length).toBeLessThan(20);
      expect(batched.events.flatMap((e) => e.batch?.events ?? []).every((e) => e.assigned || e.revoked)).toBe(
        true,
      );
      expect(single.events.every((e) => !e.batch && e.assigned)).toBe(true);
      expect(single.events).toHaveLength(20);
    } finally {
      batched.call.cancel();
      single.call.cancel();
    }
  });

  it("refuses a stream asking for more than 1000 events per message, with INVALID_ARGUMENT", async () => {
    const leader = await c.waitForLeader();
    const s = stream(leader, "greedy", 1001);
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      s.call.on("error", (e: grpc.ServiceError) => resolve(e)),
    );
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/max_events_per_message: 1001 is above the limit of 1000/);
  });

  it("requeues a silent worker's jobs to another worker and rejects its late report by the token", async () => {
    const leader = await c.waitForLeader();
    await c.call(leader, "WorkerService", "RegisterWorker", {
      workerId: "silent",
      queues: ["lost"],
      concurrency: 2,
    });
    const silent = stream(leader, "silent");
    await c.call(leader, "JobService", "SubmitJob", {
      job: { ...jobSpec("lost", "lost-1"), backoffInitialMs: 100, backoffMaxMs: 200 },
    });
    for (let i = 0; i < 100 && silent.events.length === 0; i++) await sleep(50);
    const first = silent.events[0]?.assigned;
    expect(first).toBeTruthy();
    silent.call.cancel();
    // A healthy worker joins; "silent" never heartbeats again.
    await c.call(leader, "WorkerService", "RegisterWorker", {
      workerId: "healthy",
      queues: ["lost"],
      concurrency: 2,
    });
    const healthy = stream(leader, "healthy");
    const beat = setInterval(() => {
      void c.call(leader, "WorkerService", "Heartbeat", { workerId: "healthy" }).catch(() => undefined);
    }, 200);
    try {
      for (let i = 0; i < 200 && !healthy.events.some((e) => e.assigned?.job.id === first!.job.id); i++)
        await sleep(50);
      const second = healthy.events.find((e) => e.assigned?.job.id === first!.job.id)?.assigned;
      expect(second, "the job should move to the healthy worker").toBeTruthy();
      expect(second!.token).not.toBe(first!.token);
      expect(second!.attempt).toBe(2);
      // The silent worker's late report carries the old token: rejected, nothing changes.
      const late = await c
        .call(leader, "WorkerService", "UpdateJobStatus", {
          update: {
            jobId: first!.job.id,
            workerId: "silent",
            token: first!.token,
            completed: { result: Buffer.from("late") },
          },
        })
        .then(
          () => null,
          (e: grpc.ServiceError) => e,
        );
      expect(late?.code).toBe(grpc.status.FAILED_PRECONDITION);
      const job = await c.call<{ state: string }>(leader, "JobService", "GetJob", { jobId: first!.job.id });
      expect(job.state).toBe("JOB_STATE_RUNNING");
      // The current holder's report is accepted.
      await c.call(leader, "WorkerService", "UpdateJobStatus", {
        update: {
          jobId: first!.job.id,
          workerId: "healthy",
          token: second!.token,
          completed: { result: Buffer.from("ok") },
        },
      });
      const done = await c.call<{ state: string; result: Buffer }>(leader, "JobService", "GetJob", {
        jobId: first!.job.id,
      });
      expect(done.state).toBe("JOB_STATE_COMPLETED");
      expect(done.result.toString()).toBe("ok");
    } finally {
      clearInterval(beat);
      healthy.call.cancel();
    }
  });
});

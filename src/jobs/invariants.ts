/**
 * The invariants of the job state, checked in full (O(jobs)): by the
 * property-based tests after every command, and after a snapshot restore.
 */
import { assert } from "./assert.js";
import type { JobHeap } from "./job-heap.js";
import { isFinished, JOB_STATE_COUNT, JobState } from "./job-state.js";
import type { JobRecord } from "./records.js";
import type { JobQueueState } from "./state.js";

export function checkInvariants(state: JobQueueState): void {
  const counts = new Array<number>(JOB_STATE_COUNT).fill(0);
  const queueCounts = new Map<string, number[]>();
  const queueJobs = new Map<string, number>();
  let payloadBytes = 0;
  let resultBytes = 0;
  let previousId = 0;

  for (const [id, job] of state.jobs) {
    assert(job.id === id, () => `job stored under id ${id} has id ${job.id}`);
    assert(id > previousId, () => `job ids out of order: ${id} after ${previousId}`);
    assert(id < state.nextJobId, () => `job id ${id} not below the id counter ${state.nextJobId}`);
    assert(job.token < state.nextToken, () => `job ${id} token ${job.token} not below ${state.nextToken}`);
    previousId = id;
    assert(state.queueRecords.get(job.queue.name) === job.queue, () => `job ${id} refers to a dropped queue`);
    if (job.state !== JobState.Pending) {
      const heap = state.heapOf(job.state);
      assert(heap.items[job.heapIndex] === job, () => `job ${id} (state ${job.state}) is not in its index`);
    }
    assert(job.readySeq < state.nextReadySeq, () => `job ${id} ready stamp not below the counter`);
    counts[job.state]!++;
    const perQueue = queueCounts.get(job.queue.name) ?? new Array<number>(JOB_STATE_COUNT).fill(0);
    perQueue[job.state]!++;
    queueCounts.set(job.queue.name, perQueue);
    queueJobs.set(job.queue.name, (queueJobs.get(job.queue.name) ?? 0) + 1);
    payloadBytes += job.payloadLength;
    if (job.result !== null) resultBytes += job.result.length;
    assert(job.attempts <= job.options.maxAttempts, () => `job ${id} made ${job.attempts} attempts`);

    if (job.state === JobState.Running) {
      const worker = state.workerRecords.get(job.workerId ?? "");
      assert(worker?.running.has(job), () => `running job ${id} is not in its worker ${job.workerId}'s set`);
      assert(job.heapKey === job.leaseDeadlineMs, () => `running job ${id} sorted by a stale deadline`);
    } else if (job.state === JobState.Pending) {
      assert(job.heapIndex === -1, () => `pending job ${id} claims a heap position`);
      assert(job.workerId === null, () => `pending job ${id} still names worker ${job.workerId}`);
    } else if (job.state === JobState.Scheduled) {
      assert(job.heapKey === job.runAtMs, () => `scheduled job ${id} sorted by a stale run-at`);
      assert(job.workerId === null, () => `scheduled job ${id} still names worker ${job.workerId}`);
    } else {
      assert(isFinished(job.state), () => `job ${id} has unknown state ${job.state}`);
      assert(job.heapKey === job.finishedAtMs, () => `finished job ${id} sorted by a stale time`);
    }
  }

  // Every job in exactly one index: each index holds only jobs of its states, and sizes add up.
  const checkIndex = (heap: JobHeap, states: readonly JobState[], what: string): number => {
    heap.verify();
    for (const job of heap.items) {
      assert(states.includes(job.state), () => `${what} holds job ${job.id} in state ${job.state}`);
      assert(state.jobs.get(job.id) === job, () => `${what} holds dropped job ${job.id}`);
    }
    return heap.size;
  };
  let indexed = checkIndex(state.scheduled, [JobState.Scheduled], "the scheduled index");
  indexed += checkIndex(state.leases, [JobState.Running], "the lease index");
  indexed += checkIndex(
    state.finished,
    [JobState.Completed, JobState.Failed, JobState.Cancelled],
    "the finished index",
  );
  const pendingSeen = new Set<JobRecord>();
  for (const queue of state.queueRecords.values()) {
    queue.ready.verify();
    for (const job of queue.ready.inOrder()) {
      assert(
        job.state === JobState.Pending,
        () => `${queue.name}'s ready line holds job ${job.id} in state ${job.state}`,
      );
      assert(
        job.queue === queue && state.jobs.get(job.id) === job,
        () => `job ${job.id} in the wrong ready queue`,
      );
      pendingSeen.add(job);
    }
    indexed += queue.ready.size;
  }
  assert(
    pendingSeen.size === counts[JobState.Pending],
    () => "a pending job is in no ready queue, or in two",
  );
  assert(indexed === state.jobs.size, () => `${indexed} index entries for ${state.jobs.size} jobs`);

  // Counts by state equal the jobs.
  for (let s = 0; s < JOB_STATE_COUNT; s++) {
    assert(
      state.countsByState[s] === counts[s],
      () => `count of state ${s} is ${state.countsByState[s]}, not ${counts[s]}`,
    );
  }
  for (const queue of state.queueRecords.values()) {
    const expected = queueCounts.get(queue.name) ?? new Array<number>(JOB_STATE_COUNT).fill(0);
    for (let s = 0; s < JOB_STATE_COUNT; s++) {
      assert(
        queue.countsByState[s] === expected[s],
        () => `queue ${queue.name} count of state ${s} is wrong`,
      );
    }
    assert(
      queue.jobCount === (queueJobs.get(queue.name) ?? 0),
      () => `queue ${queue.name} job count is wrong`,
    );
    assert(queue.jobCount > 0 || queue.workers.size > 0, () => `queue ${queue.name} is unused but kept`);
  }
  assert(state.payloadBytes === payloadBytes, () => `payload bytes ${state.payloadBytes} != ${payloadBytes}`);
  assert(state.resultBytes === resultBytes, () => `result bytes ${state.resultBytes} != ${resultBytes}`);

  // Workers: never above capacity, no job on two workers, running sets match the jobs.
  let running = 0;
  for (const [id, worker] of state.workerRecords) {
    assert(worker.id === id, () => `worker stored under ${id} has id ${worker.id}`);
    assert(
      worker.running.size <= worker.concurrency,
      () => `worker ${id} runs ${worker.running.size} jobs, above its concurrency ${worker.concurrency}`,
    );
    for (const job of worker.running) {
      assert(
        job.state === JobState.Running && job.workerId === id,
        () => `worker ${id} holds job ${job.id} wrongly`,
      );
    }
    for (const queue of worker.queues) {
      assert(queue.workers.has(worker), () => `queue ${queue.name} does not list its worker ${id}`);
      assert(state.queueRecords.get(queue.name) === queue, () => `worker ${id} serves a dropped queue`);
    }
    running += worker.running.size;
  }
  for (const queue of state.queueRecords.values()) {
    for (const worker of queue.workers) {
      assert(state.workerRecords.get(worker.id) === worker, () => `queue ${queue.name} lists a gone worker`);
      assert(worker.queues.includes(queue), () => `queue ${queue.name} lists worker ${worker.id} wrongly`);
    }
  }
  assert(
    running === counts[JobState.Running],
    () => `${running} jobs on workers, ${counts[JobState.Running]} running`,
  );

  assert(state.workerRecords.size <= state.limits.maxWorkers, "too many workers");
  assert(state.queueRecords.size <= state.limits.maxQueues, "too many queues");
  assert(state.jobs.size <= state.limits.maxJobs, "too many jobs");
  assert(state.idempotencyKeys.size <= state.limits.maxIdempotencyKeys, "too many idempotency keys");
  for (const [key, entry] of state.idempotencyKeys) {
    assert(entry.jobId < state.nextJobId, () => `idempotency key ${key} names a future job ${entry.jobId}`);
  }
}

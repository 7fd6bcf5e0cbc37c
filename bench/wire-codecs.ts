// raftq's own codecs for the hottest messages against proto-loader's generic path, per message,
// on one core: SubmitJobs x100 requests decoded and their answers encoded (the leader, per call),
// AssignmentEvents encoded (every node streaming to workers, one per job assigned, or a batch of
// 100), and BatchUpdateJobStatus x100 requests decoded and answered (the leader, per call).
// Run: npx tsx bench/wire-codecs.ts   Settings: BENCH_ROUNDS (5).
import type * as grpc from "@grpc/grpc-js";
import { jobServiceDefinition, workerServiceDefinition } from "../src/api/server.js";
import { loadRaftqProto } from "../src/wire/proto.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const { pkg } = loadRaftqProto();
const generic = {
  jobs: pkg.JobService.service as grpc.ServiceDefinition,
  workers: pkg.WorkerService.service as grpc.ServiceDefinition,
};
const ours = { jobs: jobServiceDefinition(), workers: workerServiceDefinition() };

const payload = Buffer.alloc(128, 7);
const batch = generic.jobs.SubmitJobs!.requestSerialize({
  jobs: Array.from({ length: 100 }, (_, i) => ({
    queue: "bench",
    type: "noop",
    payload,
    idempotencyKey: `k${i}`,
  })),
});
const answer = {
  results: Array.from({ length: 100 }, (_, i) => ({ jobId: String(1_000_000 + i), duplicate: false })),
};
const assignment = {
  assigned: {
    job: {
      id: "1234567",
      queue: "bench",
      type: "noop",
      payload,
      priority: 0,
      maxAttempts: 25,
      leaseMs: 300_000,
      runAtMs: 0,
      idempotencyKey: "",
      submittedAtMs: 1_764_000_000_000,
      attempts: 1,
      state: "JOB_STATE_RUNNING",
      workerId: "w-1",
      token: 98765,
      leaseDeadlineMs: 1_764_000_300_000,
      lastError: "",
      result: Buffer.alloc(0),
      finishedAtMs: 0,
    },
    token: 98765,
    attempt: 1,
    leaseDeadlineMs: 1_764_000_300_000,
  },
};

const assignments = { batch: { events: Array.from({ length: 100 }, () => assignment) } };
const reports = generic.workers.BatchUpdateJobStatus!.requestSerialize({
  updates: Array.from({ length: 100 }, (_, i) => ({
    jobId: String(1_000_000 + i),
    workerId: "w-1",
    token: 98765 + i,
    completed: { result: Buffer.alloc(0) },
  })),
});
const reportAnswer = {
  results: Array.from({ length: 100 }, (_, i) => ({
    jobId: String(1_000_000 + i),
    ok: true,
    code: "",
    reason: "",
    message: "",
  })),
};

/** Microseconds of CPU per call of `fn`, best of ROUNDS rounds of `n` calls. */
function usPerCall(n: number, fn: () => unknown): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const cpu = process.cpuUsage(c0);
    best = Math.min(best, (cpu.user + cpu.system) / n);
  }
  return best;
}

const cases: [
  string,
  number,
  (d: { jobs: grpc.ServiceDefinition; workers: grpc.ServiceDefinition }) => unknown,
][] = [
  ["SubmitJobs x100 request, decode", 3_000, (d) => d.jobs.SubmitJobs!.requestDeserialize(batch)],
  ["SubmitJobs x100 answer, encode", 3_000, (d) => d.jobs.SubmitJobs!.responseSerialize(answer)],
  [
    "AssignmentEvent (128-byte payload), encode",
    50_000,
    (d) => d.workers.StreamAssignments!.responseSerialize(assignment),
  ],
  [
    "AssignmentEvent batch of 100, encode",
    1_000,
    (d) => d.workers.StreamAssignments!.responseSerialize(assignments),
  ],
  [
    "BatchUpdateJobStatus x100 request, decode",
    3_000,
    (d) => d.workers.BatchUpdateJobStatus!.requestDeserialize(reports),
  ],
  [
    "BatchUpdateJobStatus x100 answer, encode",
    3_000,
    (d) => d.workers.BatchUpdateJobStatus!.responseSerialize(reportAnswer),
  ],
];
console.log(`wire codecs, best of ${ROUNDS} rounds, CPU per message, node ${process.version}`);
for (const [name, n, fn] of cases) {
  const a = usPerCall(n, () => fn(generic));
  const b = usPerCall(n, () => fn(ours));
  console.log(
    `${name.padEnd(44)} proto-loader ${a.toFixed(2).padStart(7)} us   raftq ${b.toFixed(2).padStart(7)} us   (${(a / b).toFixed(1)}x)`,
  );
}

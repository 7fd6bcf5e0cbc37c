import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, encodeCommand, serialize, type JobCommand } from "../../src/jobs/index.js";
import { JobMachine } from "../../src/node/job-machine.js";
import { WorkerHub, type WorkerSink, type WorkerStreamEvent } from "../../src/node/worker-hub.js";

/** A sink that records what it was given, and where each flush fell. */
class RecordingSink implements WorkerSink {
  readonly log: string[] = [];
  write(ev: WorkerStreamEvent): boolean {
    this.log.push(ev.kind === "assigned" ? `assigned ${ev.job.id}` : `revoked ${ev.jobId} ${ev.reason}`);
    return true;
  }
  flush(): void {
    this.log.push("flush");
  }
}

function machineWith(...commands: JobCommand[]): { machine: JobMachine; apply: (c: JobCommand) => void } {
  const machine = new JobMachine(DEFAULT_LIMITS);
  let index = 0;
  const apply = (c: JobCommand): void => void machine.apply(++index, encodeCommand(c));
  commands.forEach(apply);
  return { machine, apply };
}

const nowMs = 1_764_000_000_000;
const register = (workerId: string): JobCommand => ({
  kind: "RegisterWorker",
  nowMs,
  workerId,
  queues: ["q"],
  concurrency: 10,
});
const submit = (n: number): JobCommand => ({
  kind: "SubmitJobBatch",
  nowMs,
  jobs: Array.from({ length: n }, () => ({ queue: "q", type: "t", payload: new Uint8Array(4) })),
});

describe("WorkerHub: what a worker's stream is given, and when it may send", () => {
  it("flushes once after each applied entry, with that entry's events for this worker only", () => {
    const { machine, apply } = machineWith(register("a"), register("b"), submit(3));
    const hub = new WorkerHub(machine);
    const a = new RecordingSink();
    const b = new RecordingSink();
    hub.attach("a", a);
    hub.attach("b", b);
    a.log.length = 0;
    b.log.length = 0;
    apply({
      kind: "AssignJobs",
      nowMs,
      assignments: [
        { jobId: "1", workerId: "a" },
        { jobId: "2", workerId: "a" },
        { jobId: "3", workerId: "b" },
      ],
    });
    expect(a.log).toEqual(["assigned 1", "assigned 2", "flush"]);
    expect(b.log).toEqual(["assigned 3", "flush"]);
    // An entry with nothing for "b" does not flush it.
    apply({ kind: "CancelJob", nowMs, jobId: "1", reason: "not needed" });
    expect(a.log.slice(3)).toEqual(["revoked 1 cancelled", "flush"]);
    expect(b.log).toHaveLength(2);
  });

  it("gives a stream the jobs its worker holds when it attaches, then flushes", () => {
    const { machine } = machineWith(register("a"), submit(2), {
      kind: "AssignJobs",
      nowMs,
      assignments: [
        { jobId: "1", workerId: "a" },
        { jobId: "2", workerId: "a" },
      ],
    });
    const sink = new RecordingSink();
    new WorkerHub(machine).attach("a", sink);
    expect(sink.log).toEqual(["assigned 1", "assigned 2", "flush"]);
  });

  it("after a snapshot replaces the state, resends what each worker holds and flushes", () => {
    const source = machineWith(register("a"), submit(2), {
      kind: "AssignJobs",
      nowMs,
      assignments: [{ jobId: "2", workerId: "a" }],
    });
    const { machine } = machineWith(register("a"));
    const sink = new RecordingSink();
    new WorkerHub(machine).attach("a", sink);
    expect(sink.log).toEqual(["flush"]);
    machine.restore(serialize(source.machine.state), 3);
    expect(sink.log).toEqual(["flush", "assigned 2", "flush"]);
  });
});

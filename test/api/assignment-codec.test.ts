import type * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Prng } from "../sim/prng.js";
import { workerServiceDefinition } from "../../src/api/server.js";
import {
  encodeAssignmentEvent,
  type WireAssignmentEvent,
  type WireSingleEvent,
} from "../../src/wire/assignment-codec.js";
import { loadRaftqProto } from "../../src/wire/proto.js";
import type { WireJob } from "../../src/wire/raftq-v1.js";

/** proto-loader's own serializers: the reference the encoder must agree with. */
const stream = (loadRaftqProto().pkg.WorkerService.service as grpc.ServiceDefinition).StreamAssignments!;

const STATES = ["JOB_STATE_UNSPECIFIED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_CANCELLED"];
const TEXTS = ["", "q", "emails", "ünïcödé", "😀 job", "x".repeat(200)];

function randomJob(random: Prng): WireJob {
  const pick = <T>(xs: readonly T[]): T => random.pick(xs);
  const u64 = (): number =>
    pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 32 - 1, 2 ** 32, 1_764_000_000_000, 2 ** 53 - 1]);
  const bytes = (): Buffer =>
    Buffer.from(Array.from({ length: pick([0, 1, 128, 300]) }, () => random.next() * 256));
  return {
    id: String(Math.floor(random.next() * 1e9)),
    queue: pick(TEXTS),
    type: pick(TEXTS),
    payload: bytes(),
    priority: pick([0, 1, -1, 1_000_000, -1_000_000, 2 ** 31 - 1, -(2 ** 31)]),
    maxAttempts: pick([0, 1, 25, 2 ** 32 - 1]),
    leaseMs: u64(),
    runAtMs: u64(),
    idempotencyKey: pick(TEXTS),
    submittedAtMs: u64(),
    attempts: pick([0, 1, 7]),
    state: pick(STATES),
    workerId: pick(TEXTS),
    token: u64(),
    leaseDeadlineMs: u64(),
    lastError: pick(TEXTS),
    result: bytes(),
    finishedAtMs: u64(),
  };
}

/** An assignment (80%) or a revocation of `revokedId`. */
function randomEvent(random: Prng, revokedId: string): WireSingleEvent {
  return random.next() < 0.8
    ? {
        assigned: {
          job: randomJob(random),
          token: Math.floor(random.next() * 2 ** 40),
          attempt: Math.floor(random.next() * 30),
          leaseDeadlineMs: 1_764_000_000_000 + Math.floor(random.next() * 1e6),
        },
      }
    : {
        revoked: {
          jobId: revokedId,
          token: Math.floor(random.next() * 1e6),
          reason: random.pick(["", "cancelled"]),
        },
      };
}

describe("assignment encoder (checked against proto-loader)", () => {
  it("gives bytes proto-loader decodes to the same assignments and revocations", () => {
    const random = new Prng(5);
    for (let round = 0; round < 500; round++) {
      const ev = randomEvent(random, String(round));
      const ours = encodeAssignmentEvent(ev);
      const decoded = stream.responseDeserialize(ours) as Record<string, unknown>;
      const reference = stream.responseDeserialize(stream.responseSerialize(ev)) as Record<string, unknown>;
      expect(decoded).toEqual(reference);
      expect(decoded.event).toBe("assigned" in ev ? "assigned" : "revoked");
    }
  });

  it("lays a batch out as AssignmentBatch: proto-loader reads back the same events, in order", () => {
    const random = new Prng(11);
    for (let round = 0; round < 100; round++) {
      const events = Array.from({ length: 1 + Math.floor(random.next() * 40) }, (_, k) =>
        randomEvent(random, `r${round}-${k}`),
      );
      const ev: WireAssignmentEvent = { batch: { events } };
      const decoded = stream.responseDeserialize(encodeAssignmentEvent(ev)) as {
        event: string;
        batch: { events: { event: string }[] };
      };
      const reference = stream.responseDeserialize(stream.responseSerialize(ev));
      expect(decoded).toEqual(reference);
      expect(decoded.event).toBe("batch");
      expect(decoded.batch.events.map((e) => e.event)).toEqual(
        events.map((e) => ("assigned" in e ? "assigned" : "revoked")),
      );
    }
  });

  it("keeps an all-default job an assignment (the embedded message is always written)", () => {
    const job: WireJob = {
      id: "",
      queue: "",
      type: "",
      payload: Buffer.alloc(0),
      priority: 0,
      maxAttempts: 0,
      leaseMs: 0,
      runAtMs: 0,
      idempotencyKey: "",
      submittedAtMs: 0,
      attempts: 0,
      state: "JOB_STATE_UNSPECIFIED",
      workerId: "",
      token: 0,
      leaseDeadlineMs: 0,
      lastError: "",
      result: Buffer.alloc(0),
      finishedAtMs: 0,
    };
    const decoded = stream.responseDeserialize(
      encodeAssignmentEvent({ assigned: { job, token: 0, attempt: 0, leaseDeadlineMs: 0 } }),
    ) as { event: string; assigned: { job: WireJob } };
    expect(decoded.event).toBe("assigned");
    expect(decoded.assigned.job).toEqual(job);
  });

  it("refuses values the wire cannot carry instead of sending wrong ones", () => {
    const job = { ...randomJob(new Prng(1)), state: "JOB_STATE_SLEEPING" };
    expect(() =>
      encodeAssignmentEvent({ assigned: { job, token: 1, attempt: 1, leaseDeadlineMs: 1 } }),
    ).toThrow(/not a raftq.v1.JobState/);
    const ok = randomJob(new Prng(2));
    expect(() =>
      encodeAssignmentEvent({ assigned: { job: ok, token: -1, attempt: 1, leaseDeadlineMs: 1 } }),
    ).toThrow(/unsigned safe integer/);
    expect(() =>
      encodeAssignmentEvent({ assigned: { job: ok, token: 2 ** 64, attempt: 1, leaseDeadlineMs: 1 } }),
    ).toThrow(/unsigned safe integer/);
  });

  it("is what the server registers for StreamAssignments", () => {
    expect(workerServiceDefinition().StreamAssignments!.responseSerialize).toBe(encodeAssignmentEvent);
  });
});

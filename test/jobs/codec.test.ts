import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CodecError, decodeCommand, encodeCommand, type JobCommand } from "../../src/jobs/index.js";
import { bytes } from "./harness.js";

const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const text = fc.string({ maxLength: 20 });
const seed = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const payload = fc.uint8Array({ maxLength: 40 });
const submitSpec = fc.record(
  {
    queue: text,
    type: text,
    payload,
    priority: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    maxAttempts: fc.nat(),
    leaseMs: time,
    backoffInitialMs: time,
    backoffMaxMs: time,
    backoffMultiplier: fc.double({ noNaN: true }),
    runAtMs: time,
    idempotencyKey: text,
  },
  { requiredKeys: ["queue", "type", "payload"] },
);
const update = fc.oneof(
  fc.record({
    jobId: text,
    workerId: text,
    token: time,
    outcome: fc.constant("completed" as const),
    result: payload,
  }),
  fc.record({
    jobId: text,
    workerId: text,
    token: time,
    outcome: fc.constant("failed" as const),
    error: fc.string({ maxLength: 200 }),
    retryable: fc.boolean(),
  }),
);

export const anyCommand: fc.Arbitrary<JobCommand> = fc.oneof(
  fc.record({ kind: fc.constant("SubmitJob" as const), nowMs: time, job: submitSpec }),
  fc.record({
    kind: fc.constant("SubmitJobBatch" as const),
    nowMs: time,
    jobs: fc.array(submitSpec, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant("AssignJobs" as const),
    nowMs: time,
    assignments: fc.array(fc.record({ jobId: text, workerId: text }), { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant("RegisterWorker" as const),
    nowMs: time,
    workerId: text,
    queues: fc.array(text, { maxLength: 4 }),
    concurrency: fc.nat(),
  }),
  fc.record({
    kind: fc.constant("DeregisterWorker" as const),
    nowMs: time,
    jitterSeed: seed,
    workerId: text,
    reason: fc.constantFrom("shutdown" as const, "lost" as const),
  }),
  fc.record({ kind: fc.constant("UpdateJobStatus" as const), nowMs: time, jitterSeed: seed, update }),
  fc.record({
    kind: fc.constant("BatchUpdateJobStatus" as const),
    nowMs: time,
    jitterSeed: seed,
    updates: fc.array(update, { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("CancelJob" as const), nowMs: time, jobId: text, reason: text }),
  fc.record({
    kind: fc.constant("RequeueJobs" as const),
    nowMs: time,
    jitterSeed: seed,
    reason: fc.constantFrom("lease_expired" as const, "worker_lost" as const),
    jobs: fc.array(fc.record({ jobId: text, token: time }), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("RetryJob" as const), nowMs: time, jobId: text }),
  fc.record({ kind: fc.constant("ExpireFinished" as const), nowMs: time, maxItems: time }),
);

describe("command codec", () => {
  it("round-trips every kind of command exactly", () => {
    fc.assert(
      fc.property(anyCommand, (cmd) => {
        expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps a small submit small", () => {
    const encoded = encodeCommand({
      kind: "SubmitJob",
      nowMs: 1_700_000_000_000,
      job: { queue: "emails", type: "send", payload: bytes("x".repeat(100)) },
    });
    expect(encoded.length).toBeLessThan(130);
  });

  it("round-trips unicode strings and extreme integers", () => {
    const cmd: JobCommand = {
      kind: "SubmitJob",
      nowMs: Number.MAX_SAFE_INTEGER,
      job: { queue: "ö-queue-✓", type: "😀".repeat(40), payload: new Uint8Array(0), priority: -(2 ** 50) },
    };
    expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
  });

  it("refuses to encode numbers it cannot carry", () => {
    expect(() => encodeCommand({ kind: "ExpireFinished", nowMs: -1, maxItems: 1 })).toThrow(CodecError);
    expect(() => encodeCommand({ kind: "ExpireFinished", nowMs: 1.5, maxItems: 1 })).toThrow(
      /unsigned safe integer/,
    );
  });

  it("throws a clear CodecError on garbage, truncation and trailing bytes", () => {
    const good = encodeCommand({ kind: "CancelJob", nowMs: 5, jobId: "12", reason: "r" });
    expect(() => decodeCommand(new Uint8Array(0))).toThrow(/truncated/);
    expect(() => decodeCommand(Uint8Array.of(9, 1))).toThrow(/unsupported job command format version 9/);
    expect(() => decodeCommand(Uint8Array.of(1, 99, 0))).toThrow(/unknown job command tag 99/);
    expect(() => decodeCommand(good.subarray(0, good.length - 1))).toThrow(CodecError);
    expect(() => decodeCommand(Uint8Array.of(...good, 0))).toThrow(/unexpected bytes/);
    expect(() => decodeCommand(Uint8Array.of(1, 3, 0, 0xff, 0xff, 0xff, 0x7f))).toThrow(/impossible/);
    expect(() => decodeCommand(Uint8Array.of(1, 8, 0, 2, 0xff, 0xfe, 0))).toThrow(/invalid UTF-8/);
  });

  it("never throws anything but CodecError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        try {
          decodeCommand(Uint8Array.of(1, ...garbage));
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

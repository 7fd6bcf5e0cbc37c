import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Prng } from "../sim/prng.js";
import { createGrpcServer, jobServiceDefinition } from "../../src/api/server.js";
import { loadRaftqProto } from "../../src/wire/proto.js";
import { lengthPrefixed, onlyFieldBody, withUnknownFields } from "./protobuf-bytes.js";
import {
  decodeSubmitJobRequest,
  decodeSubmitJobsRequest,
  encodeSubmitJobResponse,
  encodeSubmitJobsResponse,
} from "../../src/wire/submit-codec.js";

/** proto-loader's own serializers: the reference the codec must agree with. */
const reference = loadRaftqProto().pkg.JobService.service as grpc.ServiceDefinition;
const submitJob = reference.SubmitJob!;
const submitJobs = reference.SubmitJobs!;

const ALPHABET = ["a", "Z", "0", "-", " ", "é", "ß", "日本", "😀", "\u0000", "\uffff"];

function randomSpec(random: Prng): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => random.pick(xs);
  const text = (): string =>
    Array.from({ length: Math.floor(random.next() * 12) }, () => pick(ALPHABET)).join("");
  const maybe = (value: () => unknown): unknown => (random.next() < 0.35 ? undefined : value());
  const uint64 = (): unknown =>
    pick([0, 1, 127, 128, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, "18446744073709551615", "9007199254740993"]);
  const spec: Record<string, unknown> = {
    queue: maybe(text),
    type: maybe(text),
    payload: maybe(() =>
      Buffer.from(Array.from({ length: Math.floor(random.next() * 300) }, () => random.next() * 256)),
    ),
    priority: maybe(() => pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), Math.floor(random.next() * 2e6) - 1e6])),
    maxAttempts: maybe(() => pick([0, 1, 25, 2 ** 32 - 1])),
    leaseMs: maybe(uint64),
    runAtMs: maybe(uint64),
    idempotencyKey: maybe(text),
    backoffInitialMs: maybe(uint64),
    backoffMaxMs: maybe(uint64),
    backoffMultiplier: maybe(() => pick([0, 1.5, 2, -0.25, 1e300, Number.NaN])),
  };
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));
}

/** A JobSpec's own bytes: SubmitJobRequest { job } minus its tag and length. */
function jobSpecBytes(spec: Record<string, unknown>): Buffer {
  return onlyFieldBody(submitJob.requestSerialize({ job: spec }));
}

describe("submit codec (checked against proto-loader)", () => {
  it("decodes SubmitJobs requests exactly as proto-loader does, unknown fields included", () => {
    const random = new Prng(7);
    for (let round = 0; round < 300; round++) {
      const specs = Array.from({ length: Math.floor(random.next() * 6) }, () => randomSpec(random));
      const plain = submitJobs.requestSerialize({ jobs: specs });
      expect(decodeSubmitJobsRequest(plain)).toEqual(submitJobs.requestDeserialize(plain));
      // The same jobs with unknown fields inside each job and around them.
      const extended = withUnknownFields(specs.map(jobSpecBytes));
      const decoded = decodeSubmitJobsRequest(extended);
      expect(decoded).toEqual(submitJobs.requestDeserialize(extended));
      expect(decoded.jobs).toHaveLength(specs.length);
    }
  });

  it("decodes SubmitJob requests as proto-loader does, an absent job as null and a repeated one replaced", () => {
    const random = new Prng(11);
    for (let round = 0; round < 300; round++) {
      const bytes = submitJob.requestSerialize({ job: randomSpec(random) });
      expect(decodeSubmitJobRequest(bytes)).toEqual(submitJob.requestDeserialize(bytes));
    }
    const empty = Buffer.alloc(0);
    expect(decodeSubmitJobRequest(empty)).toEqual(submitJob.requestDeserialize(empty));
    expect(decodeSubmitJobRequest(empty).job).toBeNull();
    const twice = Buffer.concat([
      submitJob.requestSerialize({ job: { queue: "first", priority: 3 } }),
      submitJob.requestSerialize({ job: { queue: "second" } }),
    ]);
    expect(decodeSubmitJobRequest(twice)).toEqual(submitJob.requestDeserialize(twice));
    expect(decodeSubmitJobRequest(twice).job?.queue).toBe("second");
  });

  it("encodes responses that proto-loader decodes to the same values", () => {
    const random = new Prng(3);
    for (let round = 0; round < 200; round++) {
      const results = Array.from({ length: Math.floor(random.next() * 120) }, (_, i) => ({
        jobId: random.next() < 0.1 ? "" : `${Math.floor(random.next() * 2 ** 40)}${i % 7 === 0 ? "é😀" : ""}`,
        duplicate: random.next() < 0.3,
      }));
      expect(submitJobs.responseDeserialize(encodeSubmitJobsResponse({ results }))).toEqual({ results });
      const one = results[0] ?? { jobId: "1", duplicate: true };
      expect(submitJob.responseDeserialize(encodeSubmitJobResponse(one))).toEqual(one);
    }
  });

  it("rejects malformed messages with an error instead of misreading them", () => {
    const good = submitJobs.requestSerialize({
      jobs: [{ queue: "q", type: "t", payload: Buffer.from("xyz") }],
    });
    for (let cut = 1; cut < good.length; cut++) {
      expect(() => decodeSubmitJobsRequest(good.subarray(0, cut))).toThrow(/protobuf:/);
    }
    // queue (field 1 of JobSpec) sent as a varint.
    expect(() => decodeSubmitJobsRequest(lengthPrefixed(1, Buffer.from([(1 << 3) | 0, 5])))).toThrow(
      /field queue has wire type 0/,
    );
    expect(() => decodeSubmitJobsRequest(Buffer.from([(9 << 3) | 7]))).toThrow(/invalid wire type 7/);
    expect(() => decodeSubmitJobRequest(Buffer.from(Array(11).fill(0x80)))).toThrow(/varint/);
    // A length that claims more bytes than there are.
    expect(() => decodeSubmitJobsRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]))).toThrow(
      /runs past the end/,
    );
  });

  it("is what the server registers for the two submit calls, and only those", () => {
    const def = jobServiceDefinition();
    expect(def.SubmitJob!.requestDeserialize).toBe(decodeSubmitJobRequest);
    expect(def.SubmitJobs!.responseSerialize).toBe(encodeSubmitJobsResponse);
    expect(def.GetJob!.requestDeserialize).toBe(reference.GetJob!.requestDeserialize);
    expect(def.SubmitJob!.path).toBe("/raftq.v1.JobService/SubmitJob");
  });
  it("over gRPC: a request that is not protobuf gets INTERNAL and never reaches the handler", async () => {
    const server = createGrpcServer();
    const received: unknown[] = [];
    server.addService(jobServiceDefinition(), {
      SubmitJobs: (
        call: grpc.ServerUnaryCall<{ jobs: unknown[] }, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => {
        received.push(call.request);
        cb(null, { results: call.request.jobs.map((_, i) => ({ jobId: String(i + 1), duplicate: false })) });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const send = (bytes: Buffer): Promise<{ error: grpc.ServiceError | null; reply: Buffer | undefined }> =>
      new Promise((resolve) =>
        client.makeUnaryRequest(
          "/raftq.v1.JobService/SubmitJobs",
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          (error, reply) => resolve({ error, reply }),
        ),
      );
    try {
      const bad = await send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])); // a length past the end
      expect(bad.error?.code).toBe(grpc.status.INTERNAL);
      expect(bad.error?.details).toMatch(/Error deserializing request/);
      expect(received).toHaveLength(0);
      const good = await send(submitJobs.requestSerialize({ jobs: [{ queue: "q", type: "t" }] }));
      expect(good.error).toBeNull();
      expect(submitJobs.responseDeserialize(good.reply!)).toEqual({
        results: [{ jobId: "1", duplicate: false }],
      });
      expect(received).toHaveLength(1);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

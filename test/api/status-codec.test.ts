import type * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Prng } from "../sim/prng.js";
import { workerServiceDefinition } from "../../src/api/server.js";
import { loadRaftqProto } from "../../src/wire/proto.js";
import {
  decodeBatchUpdateJobStatusRequest,
  encodeBatchUpdateJobStatusResponse,
} from "../../src/wire/status-codec.js";
import { lengthPrefixed, onlyFieldBody, withUnknownFields } from "./protobuf-bytes.js";

/** proto-loader's own serializers: the reference the codec must agree with. */
const reference = loadRaftqProto().pkg.WorkerService.service as grpc.ServiceDefinition;
const batch = reference.BatchUpdateJobStatus!;

const TEXTS = ["", "w1", "1234567", "é😀", "x".repeat(300), "\u0000"];

function randomUpdate(random: Prng): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => random.pick(xs);
  const u: Record<string, unknown> = {
    jobId: pick(TEXTS),
    workerId: pick(TEXTS),
    token: pick([0, 1, 127, 128, 2 ** 32 + 5, 2 ** 53 - 1, "18446744073709551615"]),
  };
  const outcome = random.next();
  if (outcome < 0.45)
    u.completed = {
      result: Buffer.from(Array.from({ length: pick([0, 1, 130]) }, () => random.next() * 256)),
    };
  else if (outcome < 0.9) u.failed = { error: pick(TEXTS), retryable: random.next() < 0.5 };
  // else: neither (the server rejects it with INVALID_ARGUMENT; the codec must still read it)
  return u;
}

/** One JobStatusUpdate's own bytes. */
function updateBytes(u: Record<string, unknown>): Buffer {
  return onlyFieldBody(batch.requestSerialize({ updates: [u] }));
}

describe("BatchUpdateJobStatus codec (checked against proto-loader)", () => {
  it("decodes requests exactly as proto-loader does, unknown fields included", () => {
    const random = new Prng(21);
    for (let round = 0; round < 300; round++) {
      const updates = Array.from({ length: Math.floor(random.next() * 8) }, () => randomUpdate(random));
      const plain = batch.requestSerialize({ updates });
      expect(decodeBatchUpdateJobStatusRequest(plain)).toEqual(batch.requestDeserialize(plain));
      const extended = withUnknownFields(updates.map(updateBytes));
      const decoded = decodeBatchUpdateJobStatusRequest(extended);
      expect(decoded).toEqual(batch.requestDeserialize(extended));
      expect(decoded.updates).toHaveLength(updates.length);
    }
  });

  it("reads both outcomes sent in one update, and a repeated one, as proto-loader does", () => {
    const completed = lengthPrefixed(4, lengthPrefixed(1, Buffer.from("ok")));
    const completedAgain = lengthPrefixed(4, Buffer.alloc(0));
    const failed = lengthPrefixed(
      5,
      Buffer.concat([lengthPrefixed(1, Buffer.from("boom")), Buffer.from([16, 1])]),
    );
    for (const body of [
      Buffer.concat([completed, failed]),
      Buffer.concat([failed, completed]),
      Buffer.concat([completed, completedAgain]),
    ]) {
      const bytes = lengthPrefixed(1, body);
      expect(decodeBatchUpdateJobStatusRequest(bytes)).toEqual(batch.requestDeserialize(bytes));
    }
    const empty = Buffer.alloc(0);
    expect(decodeBatchUpdateJobStatusRequest(empty)).toEqual({ updates: [] });
  });

  it("encodes answers that proto-loader decodes to the same results", () => {
    const random = new Prng(4);
    for (let round = 0; round < 200; round++) {
      const results = Array.from({ length: Math.floor(random.next() * 70) }, (_, i) => {
        const ok = random.next() < 0.7;
        return {
          jobId: `${i}${random.pick(["", "é😀"])}`,
          ok,
          code: ok ? "" : random.pick(["FAILED_PRECONDITION", "NOT_FOUND"]),
          reason: ok ? "" : random.pick(["", "STALE_TOKEN"]),
          message: ok ? "" : random.pick(["job 7 is not running", "token 3 is stale; the job holds 9 ü"]),
        };
      });
      expect(batch.responseDeserialize(encodeBatchUpdateJobStatusResponse({ results }))).toEqual({ results });
    }
  });

  it("rejects malformed requests with an error instead of misreading them", () => {
    const good = batch.requestSerialize({
      updates: [{ jobId: "7", workerId: "w", token: 3, completed: { result: Buffer.from("r") } }],
    });
    for (let cut = 1; cut < good.length; cut++)
      expect(() => decodeBatchUpdateJobStatusRequest(good.subarray(0, cut))).toThrow(/protobuf:/);
    // token (field 3) sent as bytes.
    expect(() =>
      decodeBatchUpdateJobStatusRequest(lengthPrefixed(1, lengthPrefixed(3, Buffer.from("x")))),
    ).toThrow(/field token has wire type 2/);
  });

  it("is what the server registers for BatchUpdateJobStatus, and only there", () => {
    const def = workerServiceDefinition();
    expect(def.BatchUpdateJobStatus!.requestDeserialize).toBe(decodeBatchUpdateJobStatusRequest);
    expect(def.BatchUpdateJobStatus!.responseSerialize).toBe(encodeBatchUpdateJobStatusResponse);
    expect(def.UpdateJobStatus!.requestDeserialize).toBe(reference.UpdateJobStatus!.requestDeserialize);
  });
});

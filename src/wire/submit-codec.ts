/**
 * The server's codec for the submit calls (SubmitJob, SubmitJobs): their
 * requests decoded straight from the protobuf bytes into the objects
 * proto-loader would give (PROTO_LOADER_OPTIONS: camelCase, numbers for 64-bit
 * integers, every field present with its default), their responses encoded
 * straight into bytes.
 *
 * Why: these are the hottest calls, and proto-loader's generic path (decode into
 * message instances, then toObject; fromObject, then encode) was ~5% of a
 * leader's CPU under SubmitJobs load (perf on the x100 benchmark). Everything
 * else keeps proto-loader; test/api/submit-codec.test.ts checks this codec
 * against it on random messages.
 *
 * Same results as protobufjs for every well-formed message: the last value of
 * a repeated scalar field wins, a repeated `job` field replaces the earlier one,
 * unknown fields are skipped, uint64 becomes lo + hi * 2^32 of the 64-bit
 * value, int32 the low 32 bits as signed, strings decode as Buffer#toString
 * does, and `payload` is a view of the request (as protobufjs's Buffer reader
 * gives). A malformed message throws, as protobufjs does; a known field sent
 * with the wrong wire type throws too (protobufjs would misread it).
 */
import { EMPTY_BYTES, expectWireType, ProtoReader, readRepeatedMessages } from "./protobuf-reader.js";
import {
  measure,
  ProtoWriter,
  utf8Length,
  WIRE_BYTES,
  WIRE_FIXED64,
  WIRE_VARINT,
} from "./protobuf-writer.js";
import type { WireJobSpec } from "./raftq-v1.js";

export interface SubmitJobWireResponse {
  readonly jobId: string;
  readonly duplicate: boolean;
}

/** JobSpec from bytes [pos, end) of `buf`. */
function readJobSpec(buf: Buffer, pos: number, end: number): WireJobSpec {
  const spec: WireJobSpec = {
    queue: "",
    type: "",
    payload: EMPTY_BYTES,
    priority: 0,
    maxAttempts: 0,
    leaseMs: 0,
    runAtMs: 0,
    idempotencyKey: "",
    backoffInitialMs: 0,
    backoffMaxMs: 0,
    backoffMultiplier: 0,
  };
  const r = new ProtoReader(buf, pos, end);
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        expectWireType("queue", tag, WIRE_BYTES);
        spec.queue = r.string();
        break;
      case 2:
        expectWireType("type", tag, WIRE_BYTES);
        spec.type = r.string();
        break;
      case 3: {
        expectWireType("payload", tag, WIRE_BYTES);
        const [start, stop] = r.span();
        spec.payload = buf.subarray(start, stop);
        break;
      }
      case 4:
        expectWireType("priority", tag, WIRE_VARINT);
        spec.priority = r.uint32() | 0;
        break;
      case 5:
        expectWireType("max_attempts", tag, WIRE_VARINT);
        spec.maxAttempts = r.uint32();
        break;
      case 6:
        expectWireType("lease_ms", tag, WIRE_VARINT);
        spec.leaseMs = r.uint64();
        break;
      case 7:
        expectWireType("run_at_ms", tag, WIRE_VARINT);
        spec.runAtMs = r.uint64();
        break;
      case 8:
        expectWireType("idempotency_key", tag, WIRE_BYTES);
        spec.idempotencyKey = r.string();
        break;
      case 9:
        expectWireType("backoff_initial_ms", tag, WIRE_VARINT);
        spec.backoffInitialMs = r.uint64();
        break;
      case 10:
        expectWireType("backoff_max_ms", tag, WIRE_VARINT);
        spec.backoffMaxMs = r.uint64();
        break;
      case 11:
        expectWireType("backoff_multiplier", tag, WIRE_FIXED64);
        spec.backoffMultiplier = r.double();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return spec;
}

/** SubmitJobRequest: `{ job }`, `job` null when absent (proto-loader's default for a message field). */
export function decodeSubmitJobRequest(buf: Buffer): { job: WireJobSpec | null } {
  let job: WireJobSpec | null = null;
  const r = new ProtoReader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) {
      expectWireType("job", tag, WIRE_BYTES);
      const [start, end] = r.span();
      job = readJobSpec(buf, start, end);
    } else r.skip(tag & 7);
  }
  return { job };
}

/** SubmitJobsRequest: `{ jobs }` in order. */
export function decodeSubmitJobsRequest(buf: Buffer): { jobs: WireJobSpec[] } {
  return { jobs: readRepeatedMessages(buf, 1, "jobs", readJobSpec) };
}

/** Bytes of one SubmitJobResponse's body (job_id = 1, duplicate = 2). */
function responseBodyBytes(jobIdBytes: number, duplicate: boolean): number {
  return measure.string(1, jobIdBytes) + measure.bool(2, duplicate);
}

function writeResponseBody(w: ProtoWriter, res: SubmitJobWireResponse, jobIdBytes: number): void {
  w.string(1, res.jobId, jobIdBytes);
  w.bool(2, res.duplicate);
}

export function encodeSubmitJobResponse(res: SubmitJobWireResponse): Buffer {
  const idBytes = utf8Length(res.jobId);
  const w = new ProtoWriter(Buffer.allocUnsafe(responseBodyBytes(idBytes, res.duplicate)));
  writeResponseBody(w, res, idBytes);
  return w.done("SubmitJobResponse");
}

/** SubmitJobsResponse: `results` (field 1), one embedded SubmitJobResponse each, in order. */
export function encodeSubmitJobsResponse(res: {
  readonly results: readonly SubmitJobWireResponse[];
}): Buffer {
  const idBytes = res.results.map((r) => utf8Length(r.jobId));
  const bodyBytes = res.results.map((r, i) => responseBodyBytes(idBytes[i]!, r.duplicate));
  const w = new ProtoWriter(Buffer.allocUnsafe(bodyBytes.reduce((sum, b) => sum + measure.message(1, b), 0)));
  res.results.forEach((r, i) => {
    w.message(1, bodyBytes[i]!);
    writeResponseBody(w, r, idBytes[i]!);
  });
  return w.done("SubmitJobsResponse");
}

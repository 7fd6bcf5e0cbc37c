/**
 * The server's codec for BatchUpdateJobStatus: the request decoded straight
 * from the protobuf bytes into the objects proto-loader would give
 * (PROTO_LOADER_OPTIONS: camelCase, numbers for 64-bit integers, defaults, the
 * oneof's name in `outcome`), the answer encoded straight into bytes.
 *
 * Why: every job a worker finishes comes back through this call (the SDK's
 * Worker batches up to 64 outcomes, the benchmark's workers up to 500), and
 * proto-loader's generic path for it (decode, toObject; fromObject, encode of
 * one UpdateResult per job) was ~6% of a leader's CPU in the end-to-end
 * benchmark. Same rules as submit-codec.ts: a repeated embedded message
 * replaces the earlier one (as protobufjs does), unknown fields are skipped,
 * a known field with the wrong wire type throws. test/api/status-codec.test.ts
 * checks it against proto-loader on random messages.
 */
import { EMPTY_BYTES, expectWireType, ProtoReader, readRepeatedMessages } from "./protobuf-reader.js";
import { measure, ProtoWriter, utf8Length, WIRE_BYTES, WIRE_VARINT } from "./protobuf-writer.js";
import type { WireStatusUpdate, WireUpdateResult } from "./raftq-v1.js";

/** Completed from bytes [pos, end): `result` is a view of the request, as protobufjs gives. */
function readCompleted(buf: Buffer, pos: number, end: number): { result: Buffer } {
  const completed: { result: Buffer } = { result: EMPTY_BYTES };
  const r = new ProtoReader(buf, pos, end);
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) {
      expectWireType("result", tag, WIRE_BYTES);
      const [start, stop] = r.span();
      completed.result = buf.subarray(start, stop);
    } else r.skip(tag & 7);
  }
  return completed;
}

function readFailed(buf: Buffer, pos: number, end: number): { error: string; retryable: boolean } {
  const failed = { error: "", retryable: false };
  const r = new ProtoReader(buf, pos, end);
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        expectWireType("error", tag, WIRE_BYTES);
        failed.error = r.string();
        break;
      case 2:
        expectWireType("retryable", tag, WIRE_VARINT);
        failed.retryable = r.uint32() !== 0; // protobufjs reads a bool from the low 32 bits
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return failed;
}

function readUpdate(buf: Buffer, pos: number, end: number): WireStatusUpdate {
  const u: WireStatusUpdate = { jobId: "", workerId: "", token: 0 };
  const r = new ProtoReader(buf, pos, end);
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        expectWireType("job_id", tag, WIRE_BYTES);
        u.jobId = r.string();
        break;
      case 2:
        expectWireType("worker_id", tag, WIRE_BYTES);
        u.workerId = r.string();
        break;
      case 3:
        expectWireType("token", tag, WIRE_VARINT);
        u.token = r.uint64();
        break;
      case 4: {
        expectWireType("completed", tag, WIRE_BYTES);
        const [start, stop] = r.span();
        u.completed = readCompleted(buf, start, stop);
        break;
      }
      case 5: {
        expectWireType("failed", tag, WIRE_BYTES);
        const [start, stop] = r.span();
        u.failed = readFailed(buf, start, stop);
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  // proto-loader names the oneof member it finds set, the later-declared one when both are.
  if (u.failed !== undefined) u.outcome = "failed";
  else if (u.completed !== undefined) u.outcome = "completed";
  return u;
}

/** BatchUpdateJobStatusRequest: `{ updates }` in order. */
export function decodeBatchUpdateJobStatusRequest(buf: Buffer): { updates: WireStatusUpdate[] } {
  return { updates: readRepeatedMessages(buf, 1, "updates", readUpdate) };
}

/** BatchUpdateJobStatusResponse: `results` (field 1), one embedded UpdateResult each, in order. */
export function encodeBatchUpdateJobStatusResponse(res: {
  readonly results: readonly WireUpdateResult[];
}): Buffer {
  const n = res.results.length;
  // UTF-8 lengths of each result's four strings, measured once for both passes.
  const lengths = new Array<number>(n * 4);
  const bodies = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = res.results[i]!;
    const id = (lengths[4 * i] = utf8Length(x.jobId));
    const code = (lengths[4 * i + 1] = utf8Length(x.code));
    const reason = (lengths[4 * i + 2] = utf8Length(x.reason));
    const message = (lengths[4 * i + 3] = utf8Length(x.message));
    const body =
      measure.string(1, id) +
      measure.bool(2, x.ok) +
      measure.string(3, code) +
      measure.string(4, reason) +
      measure.string(5, message);
    bodies[i] = body;
    total += measure.message(1, body);
  }
  const w = new ProtoWriter(Buffer.allocUnsafe(total));
  for (let i = 0; i < n; i++) {
    const x = res.results[i]!;
    w.message(1, bodies[i]!);
    w.string(1, x.jobId, lengths[4 * i]!);
    w.bool(2, x.ok);
    w.string(3, x.code, lengths[4 * i + 1]!);
    w.string(4, x.reason, lengths[4 * i + 2]!);
    w.string(5, x.message, lengths[4 * i + 3]!);
  }
  return w.done("BatchUpdateJobStatusResponse");
}

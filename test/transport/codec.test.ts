import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/types.js";
import {
  CodecError,
  decodeBatch,
  decodeMessage,
  encodeBatch,
  encodeMessage,
} from "../../src/transport/codec.js";
import { ALL_TYPES, anyBatch, anyMessage } from "./arbitraries.js";

const RUNS = 400;

describe("peer codec round trip", () => {
  it("covers every message type", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(anyMessage, (m) => {
        seen.add(m.type);
      }),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual([...ALL_TYPES].sort());
  });

  it("decodeMessage(encodeMessage(m)) equals m for every message type", () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("decodeBatch(encodeBatch(...)) keeps cluster id, sender and message order", () => {
    fc.assert(
      fc.property(anyBatch, ({ clusterId, from, messages }) => {
        const decoded = decodeBatch(encodeBatch(clusterId, from, messages));
        expect(decoded).toEqual({ clusterId, from, messages });
      }),
      { numRuns: RUNS },
    );
  });

  it("decodes from a Buffer slice at an odd offset, returning plain Uint8Array views (zero-copy)", () => {
    const m: Message = {
      type: "append",
      from: "a",
      to: "b",
      term: 3,
      prevIndex: 9,
      prevTerm: 2,
      commit: 8,
      entries: [{ term: 3, index: 10, type: 0, data: new Uint8Array([1, 2, 3]) }],
    };
    const encoded = encodeBatch("c1", "a", [m]);
    const pool = Buffer.alloc(encoded.length + 7);
    pool.set(encoded, 5);
    const slice = pool.subarray(5, 5 + encoded.length);
    const decoded = decodeBatch(slice);
    expect(decoded.messages).toEqual([m]);
    const data = (decoded.messages[0] as Extract<Message, { type: "append" }>).entries[0]!.data;
    expect(Object.getPrototypeOf(data)).toBe(Uint8Array.prototype);
    expect(data.buffer).toBe(pool.buffer);
  });
});

describe("peer codec rejects bad input with CodecError", () => {
  it("every strict prefix of a valid encoding throws CodecError", () => {
    fc.assert(
      fc.property(anyBatch, fc.nat(), ({ clusterId, from, messages }, cut) => {
        const bytes = encodeBatch(clusterId, from, messages);
        const prefix = bytes.subarray(0, cut % bytes.length);
        expect(() => decodeBatch(prefix)).toThrow(CodecError);
      }),
      { numRuns: RUNS },
    );
  });

  it("random bytes either decode or throw CodecError, never anything else", () => {
    const withHeader = fc.uint8Array({ maxLength: 200 }).map((b) => Uint8Array.from([0xa7, 1, 1, ...b]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), withHeader), (bytes) => {
        try {
          decodeBatch(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it("flipping a byte of a valid encoding never throws anything but CodecError", () => {
    fc.assert(
      fc.property(anyBatch, fc.nat(), fc.integer({ min: 1, max: 255 }), (b, at, xor) => {
        const bytes = encodeBatch(b.clusterId, b.from, b.messages).slice();
        const i = at % bytes.length;
        bytes[i] = bytes[i]! ^ xor;
        try {
          decodeBatch(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  const hb: Message = { type: "heartbeat", from: "a", to: "b", term: 1, commit: 0, readContext: 0 };
  const valid = encodeBatch("c", "a", [hb]);

  it.each([
    ["empty input", new Uint8Array(0), /truncated magic/],
    ["bad magic", Uint8Array.from([0x7b, ...valid.subarray(1)]), /bad magic/],
    ["future version", Uint8Array.from([0xa7, 9, ...valid.subarray(2)]), /unsupported version 9/],
    ["single message where a batch is expected", encodeMessage(hb), /expected kind 1, got 2/],
    ["trailing bytes", Uint8Array.from([...valid, 0]), /1 trailing byte/],
    [
      "unknown type tag",
      Uint8Array.from([0xa7, 1, 1, 1, 0x63, 1, 0x61, 1, 99, 0, 0]),
      /unknown message type tag 99/,
    ],
    ["huge count", Uint8Array.from([0xa7, 1, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f]), /count .* exceeds/],
    [
      "varint too long",
      Uint8Array.from([0xa7, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]),
      /longer than 8/,
    ],
    ["invalid UTF-8", Uint8Array.from([0xa7, 1, 1, 2, 0xc3, 0x28, 0, 0]), /invalid UTF-8 in clusterId/],
  ])("%s", (_name, bytes, message) => {
    expect(() => decodeBatch(bytes)).toThrow(CodecError);
    expect(() => decodeBatch(bytes)).toThrow(message);
  });

  it("refuses to encode a message whose sender differs from the batch's", () => {
    expect(() => encodeBatch("c", "x", [hb])).toThrow(/message from a in a batch from x/);
  });

  it("refuses to encode a non-integer field", () => {
    expect(() => encodeMessage({ ...hb, term: 1.5 })).toThrow(/term=1.5: not a safe integer/);
    expect(() => encodeMessage({ ...hb, commit: 2 ** 60 })).toThrow(/commit=.*not a safe integer/);
  });
});

describe("peer codec size", () => {
  it("a heartbeat batch between pod names is a few dozen bytes", () => {
    const m: Message = {
      type: "heartbeat",
      from: "raftq-0",
      to: "raftq-1",
      term: 7,
      commit: 1234,
      readContext: 0,
    };
    expect(encodeBatch("prod", "raftq-0", [m]).length).toBeLessThan(32);
  });

  it("an append of 100 x 128-byte entries costs under 10 bytes of overhead per entry", () => {
    const entries = Array.from({ length: 100 }, (_, i) => ({
      term: 5,
      index: 1_000_000 + i,
      type: 0 as const,
      data: new Uint8Array(128),
    }));
    const m: Message = {
      type: "append",
      from: "raftq-0",
      to: "raftq-1",
      term: 5,
      prevIndex: 999_999,
      prevTerm: 5,
      commit: 999_990,
      entries,
    };
    expect(encodeBatch("prod", "raftq-0", [m]).length).toBeLessThan(100 * (128 + 10));
  });
});

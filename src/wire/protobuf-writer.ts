/**
 * Writing protobuf (proto3) fields straight into a Buffer, for the hand-written
 * codecs of the hottest messages (submit-codec.ts, assignment-codec.ts).
 *
 * Messages are written in two passes over the same field list: `measure` adds
 * up sizes (nested messages need their length before their bytes), `write`
 * lays them out. A field holding its proto3 default (0, "", empty bytes,
 * false) is left out, as proto3 encoders do; decoders read it back as the
 * default either way. Numbers for 64-bit fields must be non-negative safe
 * integers (times, tokens, counts): anything else is a bug and throws.
 */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** UTF-8 bytes of `s`: what measure.string and ProtoWriter.string take. */
export function utf8Length(s: string): number {
  return s.length === 0 ? 0 : Buffer.byteLength(s, "utf8");
}

/** Bytes of an unsigned varint below 2^53. */
export function varintBytes(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function tagBytes(field: number): number {
  return varintBytes(field << 3);
}

/** A cursor writing into `buf`, which `measure` sized exactly. */
export class ProtoWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(v: number): void {
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** uint64 / uint32 field (left out when 0). */
  uint(field: number, v: number): void {
    if (v === 0) return;
    checkUnsigned(field, v);
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** int32 field: negative values are sign-extended to ten bytes, as protobuf requires. */
  int32(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    if (v > 0) return this.varint(v);
    // Two's complement over 64 bits: low word v >>> 0, high word all ones.
    this.varint64(v >>> 0, 0xffffffff);
  }

  bool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = 1;
  }

  /** string field of `byteLength` UTF-8 bytes (from measure). */
  string(field: number, s: string, byteLength: number): void {
    if (byteLength === 0) return;
    this.tag(field, WIRE_BYTES);
    this.varint(byteLength);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  bytes(field: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.tag(field, WIRE_BYTES);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The header of an embedded message of `length` bytes; its fields follow. */
  message(field: number, length: number): void {
    this.tag(field, WIRE_BYTES);
    this.varint(length);
  }

  /** The message, after checking that the fields filled exactly the measured size. */
  done(what: string): Buffer {
    if (this.pos !== this.buf.length)
      throw new Error(`${what}: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }

  private varint64(lo: number, hi: number): void {
    while (hi !== 0 || lo >= 128) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }
}

/** Sizes of the fields ProtoWriter writes, with the same rules about defaults. */
export const measure = {
  uint(field: number, v: number): number {
    if (v === 0) return 0;
    checkUnsigned(field, v);
    return tagBytes(field) + varintBytes(v);
  },
  int32(field: number, v: number): number {
    if (v === 0) return 0;
    return tagBytes(field) + (v > 0 ? varintBytes(v) : 10);
  },
  bool(field: number, v: boolean): number {
    return v ? tagBytes(field) + 1 : 0;
  },
  /** A string field whose UTF-8 form is `byteLength` bytes. */
  string(field: number, byteLength: number): number {
    return byteLength === 0 ? 0 : tagBytes(field) + varintBytes(byteLength) + byteLength;
  },
  bytes(field: number, b: Uint8Array): number {
    return b.length === 0 ? 0 : tagBytes(field) + varintBytes(b.length) + b.length;
  },
  /** An embedded message of `length` bytes (written even when empty: its presence means something). */
  message(field: number, length: number): number {
    return tagBytes(field) + varintBytes(length) + length;
  },
};

function checkUnsigned(field: number, v: number): void {
  if (!(Number.isSafeInteger(v) && v >= 0)) {
    throw new Error(`protobuf: field ${field} must be an unsigned safe integer, not ${v}`);
  }
}

/**
 * Reading protobuf (proto3) fields straight from a Buffer, for the hand-written
 * decoders of the hottest requests (submit-codec.ts, status-codec.ts). Same
 * results as protobufjs for every well-formed message (see submit-codec.ts);
 * a malformed one throws, as protobufjs does.
 */
import {
  WIRE_BYTES,
  WIRE_END_GROUP,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_START_GROUP,
  WIRE_VARINT,
} from "./protobuf-writer.js";

/** Nesting of (deprecated) groups skipped inside unknown fields; protobufjs has no bound, we do. */
const MAX_GROUP_DEPTH = 32;

/** The value of an absent bytes field (shared: decoders never write into it). */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/** A cursor over one protobuf message (or embedded message) in `buf`. */
export class ProtoReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  /** Low 32 bits of a varint (up to 10 bytes), unsigned. */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = this.byte();
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    throw new Error("protobuf: varint longer than 10 bytes");
  }

  /** A varint as an unsigned 64-bit value, as a number: lo + hi * 2^32 (protobufjs's LongBits.toNumber). */
  uint64(): number {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28; // the low 4 bits
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return (lo >>> 0) + (hi >>> 0) * 4294967296;
    }
    throw new Error("protobuf: varint longer than 10 bytes");
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Start and end of a length-delimited field's bytes. */
  span(): [number, number] {
    const length = this.uint32();
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return [start, this.pos];
  }

  string(): string {
    const [start, end] = this.span();
    return start === end ? "" : this.buf.toString("utf8", start, end);
  }

  skip(wireType: number, depth = 0): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_FIXED64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_BYTES:
        this.span();
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new Error("protobuf: groups nested too deep");
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === WIRE_END_GROUP) return;
          this.skip(tag & 7, depth + 1);
        }
      }
      case WIRE_FIXED32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new Error(`protobuf: invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  private byte(): number {
    if (this.pos >= this.end) throw new Error("protobuf: message ends inside a varint");
    return this.buf[this.pos++]!;
  }

  private need(bytes: number): void {
    if (bytes > this.end - this.pos) {
      throw new Error(`protobuf: field of ${bytes} bytes runs past the end of the message`);
    }
  }
}

export function expectWireType(field: string, tag: number, wanted: number): void {
  if ((tag & 7) !== wanted)
    throw new Error(`protobuf: field ${field} has wire type ${tag & 7}, not ${wanted}`);
}

/**
 * The repeated embedded-message field `field` (named `name` in errors) of the
 * message in `buf`, each read by `read` from its bytes [start, end); every
 * other field is skipped.
 */
export function readRepeatedMessages<T>(
  buf: Buffer,
  field: number,
  name: string,
  read: (buf: Buffer, start: number, end: number) => T,
): T[] {
  const items: T[] = [];
  const r = new ProtoReader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag >>> 3 === field) {
      expectWireType(name, tag, WIRE_BYTES);
      const [start, end] = r.span();
      items.push(read(buf, start, end));
    } else r.skip(tag & 7);
  }
  return items;
}

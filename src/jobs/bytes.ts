/**
 * Little binary writer and reader used by the command codec and snapshots.
 *
 * Unsigned integers are LEB128 varints (up to 2^53 - 1, so any safe integer
 * time or id fits), signed ones zigzag varints, strings UTF-8 with a length
 * prefix (ASCII takes a fast path: ids, queue names and types are ASCII).
 * The reader checks every bound and throws CodecError on malformed input.
 */
export class CodecError extends Error {
  override readonly name = "CodecError";
}

const TWO_POW_32 = 4294967296;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Makes a writer's buffers: a plain Uint8Array by default, shared memory for snapshots. */
export type Allocate = (bytes: number) => Uint8Array;
const allocatePlain: Allocate = (bytes) => new Uint8Array(bytes);

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(
    initialBytes = 256,
    private readonly allocate: Allocate = allocatePlain,
  ) {
    this.buffer = allocate(initialBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  /** Bytes written so far, as a fresh copy; the writer is reset for reuse. */
  take(): Uint8Array {
    const out = this.buffer.slice(0, this.length);
    this.length = 0;
    return out;
  }

  /** Bytes written so far, without copying (valid until the next write). */
  peek(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  private ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const next = this.allocate(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
  }

  f64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** An unsigned safe integer. */
  uint(value: number): void {
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && Math.floor(value) === value)) {
      throw new CodecError(`cannot encode ${value}: expected an unsigned safe integer`);
    }
    this.ensure(8);
    const buffer = this.buffer;
    let pos = this.length;
    if (value < 0x80) {
      buffer[pos++] = value;
      this.length = pos;
      return;
    }
    let low = (value % TWO_POW_32) >>> 0;
    let high = Math.floor(value / TWO_POW_32);
    while (high > 0 || low >= 0x80) {
      buffer[pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
      high = high >>> 7;
    }
    buffer[pos++] = low;
    this.length = pos;
  }

  /** A signed safe integer (zigzag). */
  int(value: number): void {
    if (!Number.isSafeInteger(value)) throw new CodecError(`cannot encode ${value}: expected a safe integer`);
    this.uint(value < 0 ? -2 * value - 1 : 2 * value);
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** Bytes as they are, without a length prefix. */
  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  bytes(value: Uint8Array): void {
    this.uint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  string(value: string): void {
    const chars = value.length;
    if (chars < 0x80) {
      this.ensure(1 + chars);
      const buffer = this.buffer;
      const start = this.length;
      let pos = start + 1;
      let ascii = true;
      for (let i = 0; i < chars; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        buffer[pos++] = c;
      }
      if (ascii) {
        buffer[start] = chars;
        this.length = pos;
        return;
      }
    }
    this.bytes(textEncoder.encode(value));
  }
}

export class ByteReader {
  /** Made on first use: most commands need no fixed-width numbers, and a DataView is not free. */
  private dataView: DataView | undefined;
  pos = 0;

  constructor(private readonly buffer: Uint8Array) {}

  private get view(): DataView {
    const buffer = this.buffer;
    return (this.dataView ??= new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  }

  get remaining(): number {
    return this.buffer.length - this.pos;
  }

  private need(count: number, what: string): void {
    if (this.pos + count > this.buffer.length) {
      throw new CodecError(`truncated input: ${what} needs ${count} bytes at offset ${this.pos}`);
    }
  }

  u8(): number {
    this.need(1, "a byte");
    return this.buffer[this.pos++]!;
  }

  u32(): number {
    this.need(4, "a 32-bit integer");
    const value = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  f64(): number {
    this.need(8, "a float");
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  uint(): number {
    const buffer = this.buffer;
    let pos = this.pos;
    const first = buffer[pos];
    if (first !== undefined && first < 0x80) {
      this.pos = pos + 1;
      return first;
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = buffer[pos++];
      if (byte === undefined) throw new CodecError(`truncated input: varint at offset ${this.pos}`);
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER)
          throw new CodecError(`varint at offset ${this.pos} is too large`);
        this.pos = pos;
        return value;
      }
      scale *= 128;
    }
    throw new CodecError(`varint at offset ${this.pos} is longer than 8 bytes`);
  }

  int(): number {
    const zigzag = this.uint();
    return zigzag % 2 === 1 ? -(zigzag + 1) / 2 : zigzag / 2;
  }

  bool(): boolean {
    const byte = this.u8();
    if (byte > 1) throw new CodecError(`invalid boolean ${byte} at offset ${this.pos - 1}`);
    return byte === 1;
  }

  /** A view into the input (no copy): valid as long as the input bytes are not reused. */
  bytes(): Uint8Array {
    const length = this.uint();
    this.need(length, "a byte string");
    const out = this.buffer.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    const length = this.uint();
    this.need(length, "a string");
    const buffer = this.buffer;
    const start = this.pos;
    const end = start + length;
    if (length <= 64) {
      let out = "";
      let i = start;
      for (; i < end; i++) {
        const c = buffer[i]!;
        if (c >= 0x80) break;
        out += String.fromCharCode(c);
      }
      if (i === end) {
        this.pos = end;
        return out;
      }
    }
    try {
      const out = textDecoder.decode(buffer.subarray(start, end));
      this.pos = end;
      return out;
    } catch {
      throw new CodecError(`invalid UTF-8 in a string at offset ${start}`);
    }
  }

  expectEnd(what: string): void {
    if (this.pos !== this.buffer.length) {
      throw new CodecError(`${this.buffer.length - this.pos} unexpected bytes after the ${what}`);
    }
  }
}

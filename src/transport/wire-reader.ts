/**
 * The reading half of the peer codec. Every read checks bounds, so garbage or
 * truncated input ends in a {@link CodecError} that says what and where,
 * never in a RangeError, a silent zero or a huge allocation.
 */

/** Thrown for any input the codec cannot decode: a corrupt or hostile peer, never a local bug. */
export class CodecError extends Error {
  override readonly name = "CodecError";
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

export class ByteReader {
  private pos = 0;
  private readonly end: number;

  constructor(private readonly buf: Uint8Array) {
    this.end = buf.length;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(what: string): never {
    throw new CodecError(`peer codec: ${what} at byte ${this.pos} of ${this.end}`);
  }

  private need(bytes: number, what: string): void {
    if (this.end - this.pos < bytes) {
      this.fail(`truncated ${what}: need ${bytes} byte(s), have ${this.end - this.pos}`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  uvarint(what: string): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let scale = 1;
    // 8 bytes carry 56 bits, enough for any safe integer (53 bits).
    for (let i = 0; i < 8; i++) {
      if (pos >= this.end) this.fail(`truncated varint (${what})`);
      const byte = buf[pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail(`varint out of range (${what})`);
        this.pos = pos;
        return result;
      }
      scale *= 0x80;
    }
    return this.fail(`varint longer than 8 bytes (${what})`);
  }

  /** The inverse of ByteWriter.int. */
  int(what: string): number {
    const first = this.u8(what);
    const sign = first & 1;
    let magnitude = (first >> 1) & 0x3f;
    if (first >= 0x80) {
      const high = this.uvarint(what);
      // 2^47 * 64 = 2^53: anything at or above would not be a safe integer.
      if (high >= 2 ** 47) this.fail(`integer out of range (${what})`);
      magnitude += high * 64;
    }
    return sign === 1 ? -magnitude - 1 : magnitude;
  }

  /** A count of items each at least `minItemBytes` long: bounded by what is left, so no huge arrays. */
  count(what: string, minItemBytes: number): number {
    const n = this.uvarint(what);
    if (n * minItemBytes > this.end - this.pos) {
      this.fail(`${what} count ${n} exceeds remaining input`);
    }
    return n;
  }

  /** Length-prefixed bytes as a view into the input (zero-copy). */
  bytes(what: string): Uint8Array {
    const n = this.uvarint(what);
    this.need(n, what);
    const start = this.pos;
    this.pos += n;
    return this.buf.subarray(start, this.pos);
  }

  string(what: string): string {
    const n = this.uvarint(what);
    this.need(n, what);
    const buf = this.buf;
    const start = this.pos;
    const stop = start + n;
    // Short ASCII (node ids, addresses): building the string by hand beats TextDecoder.
    if (n <= 64) {
      let s = "";
      let i = start;
      for (; i < stop; i++) {
        const c = buf[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === stop) {
        this.pos = stop;
        return s;
      }
    }
    try {
      const s = textDecoder.decode(buf.subarray(start, stop));
      this.pos = stop;
      return s;
    } catch {
      return this.fail(`invalid UTF-8 in ${what}`);
    }
  }
}

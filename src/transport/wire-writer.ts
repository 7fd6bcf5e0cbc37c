/**
 * A growable byte buffer with the few primitives the peer codec needs:
 * bytes, varints (zigzag for integers) and length-prefixed UTF-8 strings.
 *
 * It grows by doubling, so encoding a batch costs O(size) with a handful of
 * copies at most; callers pass a size hint so the common case copies nothing.
 */

const textEncoder = new TextEncoder();

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacityBytes: number) {
    this.buf = new Uint8Array(Math.max(64, initialCapacityBytes));
  }

  /** The bytes written so far: a view, not a copy. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extraBytes: number): void {
    const needed = this.pos + extraBytes;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  /** Unsigned LEB128 varint of a non-negative safe integer. */
  uvarint(value: number): void {
    this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    let v = value;
    if (v < 0x80) {
      buf[pos++] = v;
      this.pos = pos;
      return;
    }
    // Above 2^31 bit operations would truncate: divide instead.
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /**
   * Any safe integer, so -1 (a "none" sentinel in a few fields) costs one byte.
   * Like zigzag, but the sign sits in bit 0 of the first byte and the
   * magnitude never doubles: 2|n|+1 would not be exact above 2^52.
   * First byte: continuation bit, 6 low magnitude bits, sign; then a uvarint
   * of magnitude / 64. Negative n stores magnitude -n-1, so there is no -0.
   * A non-integer here is a bug upstream: crash.
   */
  int(value: number, field: string): void {
    if (!Number.isSafeInteger(value)) {
      throw new Error(`peer codec: cannot encode ${field}=${String(value)}: not a safe integer`);
    }
    const sign = value < 0 ? 1 : 0;
    const magnitude = sign === 1 ? -value - 1 : value;
    if (magnitude < 64) {
      this.u8((magnitude << 1) | sign);
      return;
    }
    this.u8(0x80 | ((magnitude % 64) << 1) | sign);
    this.uvarint(Math.floor(magnitude / 64));
  }

  bytes(data: Uint8Array): void {
    this.uvarint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** Length-prefixed UTF-8. Node ids and addresses are ASCII: that path avoids TextEncoder. */
  string(value: string): void {
    const n = value.length;
    this.ensure(n + 8);
    const buf = this.buf;
    const start = this.pos;
    if (n < 0x80) {
      let pos = start + 1;
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        buf[pos++] = c;
      }
      if (ascii) {
        buf[start] = n;
        this.pos = pos;
        return;
      }
    }
    const encoded = textEncoder.encode(value);
    this.bytes(encoded);
  }
}

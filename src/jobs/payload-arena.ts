/**
 * Copies job payloads out of the command bytes (so a decoded Raft entry is not
 * kept alive by its jobs) into shared chunks. A small payload in its own
 * ArrayBuffer costs ~200 bytes of bookkeeping on top of its bytes; packing
 * small payloads into 64 KiB chunks removes most of that, which is what keeps
 * a million pending jobs within the memory budget.
 *
 * The price: a chunk lives while any job in it lives. Jobs mostly finish in
 * submission order, so chunks die together; the worst case is bounded by
 * chunk size / smallest payload per live job and is accepted.
 */
const CHUNK_BYTES = 64 * 1024;
/** Payloads above this get their own buffer: sharing would waste chunk space. */
const MAX_SHARED_PAYLOAD_BYTES = 1024;

export interface PayloadSlot {
  readonly chunk: Uint8Array;
  readonly offset: number;
}

export class PayloadArena {
  private chunk = new Uint8Array(CHUNK_BYTES);
  private used = 0;

  copy(bytes: Uint8Array): PayloadSlot {
    const length = bytes.length;
    if (length > MAX_SHARED_PAYLOAD_BYTES) return { chunk: bytes.slice(), offset: 0 };
    if (this.used + length > CHUNK_BYTES) {
      this.chunk = new Uint8Array(CHUNK_BYTES);
      this.used = 0;
    }
    const offset = this.used;
    this.chunk.set(bytes, offset);
    this.used += length;
    return { chunk: this.chunk, offset };
  }
}

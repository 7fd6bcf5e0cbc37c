/**
 * Joins snapshot chunks into one array of `total` bytes; a single chunk is
 * returned as it is (no copy). The result lives in a SharedArrayBuffer: the
 * storage worker reads it where it is instead of the main thread copying tens
 * of megabytes into a message. Nothing writes to a snapshot's bytes once made.
 */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(new SharedArrayBuffer(total));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** FNV-1a, 32 bits, over bytes; continues from `previous` (start with the offset basis, the default). */
export const FNV_OFFSET_BASIS = 0x811c9dc5;

export function fnv1a32(bytes: Uint8Array, previous = FNV_OFFSET_BASIS): number {
  let hash = previous;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

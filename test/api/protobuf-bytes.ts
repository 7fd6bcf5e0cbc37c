/** Hand-made protobuf bytes for the codec tests. */

/** Unknown fields of every wire type (varint, fixed64, bytes, group, fixed32), as a newer client might send. */
// prettier-ignore
export const UNKNOWN_FIELDS = Buffer.from([
  (12 << 3) | 0, 0xff, 0xff, 0x03, // varint
  (13 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, // fixed64
  (14 << 3) | 2, 3, 0x61, 0x62, 0x63, // bytes
  (15 << 3) | 3, (1 << 3) | 0, 5, (15 << 3) | 4, // a group holding one varint
  (12 << 3) | 5, 9, 9, 9, 9, // fixed32
  0xa0, 0x01, 42, // field 20 (a two-byte tag), varint
]);

/** `body` as a length-delimited field `field` (tag, varint length, bytes). */
export function lengthPrefixed(field: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...len]), body]);
}

/** The body of a message's field 1 when that is its only field: tag (one byte) and length stripped. */
export function onlyFieldBody(message: Buffer): Buffer {
  let pos = 1;
  while (message[pos]! >= 0x80) pos++;
  return message.subarray(pos + 1);
}

/**
 * A message whose repeated field 1 holds `bodies`, with UNKNOWN_FIELDS around the items and at
 * the end of each item, as a newer client might send.
 */
export function withUnknownFields(bodies: readonly Buffer[]): Buffer {
  return Buffer.concat([
    UNKNOWN_FIELDS,
    ...bodies.map((b) => lengthPrefixed(1, Buffer.concat([b, UNKNOWN_FIELDS]))),
    UNKNOWN_FIELDS,
  ]);
}

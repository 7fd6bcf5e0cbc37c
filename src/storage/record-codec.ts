/**
 * On-disk records (see docs/storage.md): key layout and the value frame
 * [CRC32 u32 BE][payload]. The CRC covers key + payload, so a value that is
 * damaged, truncated or found under the wrong key is caught on load.
 */
import { crc32 } from "node:zlib";
import { StorageFatalError } from "./errors.js";

export const CRC_BYTES = 4;
/** Entry payload header: term u64 BE, type u8; the entry's data follows. */
export const ENTRY_HEADER_BYTES = 9;

export const FORMAT_KEY = Buffer.from("m/format");
export const META_KEY = Buffer.from("m/meta");
export const HARD_STATE_KEY = Buffer.from("m/hardstate");
export const LOG_KEY = Buffer.from("m/log");
export const SNAPSHOT_KEY = Buffer.from("m/snapshot");
/** Exclusive upper bounds of the 'l/' and 's/' key ranges ('0' follows '/'). */
export const ENTRY_KEYS_END = Buffer.from("l0");
export const CHUNK_KEYS_END = Buffer.from("s0");

export function entryKey(index: number): Buffer {
  const key = Buffer.alloc(10);
  key.write("l/", 0, "latin1");
  writeU64(key, 2, index);
  return key;
}

export function chunkKey(n: number): Buffer {
  const key = Buffer.alloc(6);
  key.write("s/", 0, "latin1");
  key.writeUInt32BE(n, 2);
  return key;
}

export function describeKey(key: Uint8Array): string {
  const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (b.length === 10 && b.toString("latin1", 0, 2) === "l/") return `l/${readU64(b, 2)}`;
  if (b.length === 6 && b.toString("latin1", 0, 2) === "s/") return `s/${b.readUInt32BE(2)}`;
  return b.toString("latin1");
}

export function entryRecordBytes(dataBytes: number): number {
  return CRC_BYTES + ENTRY_HEADER_BYTES + dataBytes;
}

/** Lays out one entry record at `offset` with a zero CRC (sealed later, off the main thread). */
export function writeEntryRecord(
  dst: Buffer,
  offset: number,
  term: number,
  type: number,
  data: Uint8Array,
): number {
  writeU64(dst, offset + CRC_BYTES, term);
  dst.writeUInt8(type, offset + CRC_BYTES + 8);
  dst.set(data, offset + CRC_BYTES + ENTRY_HEADER_BYTES);
  return offset + entryRecordBytes(data.length);
}

export function decodeEntryPayload(
  payload: Buffer,
  where: string,
): { term: number; type: number; data: Buffer } {
  if (payload.length < ENTRY_HEADER_BYTES)
    corrupt(where, `entry record is ${payload.length} bytes, too short`);
  const type = payload.readUInt8(8);
  if (type !== 0 && type !== 1) corrupt(where, `unknown entry type ${type}`);
  const term = readU64(payload, 0);
  if (!Number.isSafeInteger(term)) corrupt(where, `entry term ${term} is beyond 2^53`);
  return { term, type, data: payload.subarray(ENTRY_HEADER_BYTES) };
}

/** Writes the CRC of key + record payload into the record's first 4 bytes, in place. */
export function sealRecord(key: Buffer, record: Buffer): Buffer {
  record.writeUInt32BE(checksum(key, record.subarray(CRC_BYTES)), 0);
  return record;
}

/** Verifies a stored value and returns its payload (a view, no copy). */
export function openRecord(key: Buffer, value: Buffer, dir: string): Buffer {
  const where = `${dir} key ${describeKey(key)}`;
  if (value.length < CRC_BYTES) corrupt(where, `value is ${value.length} bytes, shorter than its checksum`);
  const payload = value.subarray(CRC_BYTES);
  const stored = value.readUInt32BE(0);
  const actual = checksum(key, payload);
  if (stored !== actual) {
    throw new StorageFatalError(
      "checksum",
      `checksum mismatch in ${where}: stored crc32 ${hex(stored)}, computed ${hex(actual)} over ${payload.length} bytes`,
    );
  }
  return payload;
}

export function jsonRecord(key: Buffer, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), "utf8");
  const record = Buffer.alloc(CRC_BYTES + json.length);
  json.copy(record, CRC_BYTES);
  return sealRecord(key, record);
}

export function readJsonRecord(key: Buffer, value: Buffer, dir: string): unknown {
  const payload = openRecord(key, value, dir);
  try {
    return JSON.parse(payload.toString("utf8"));
  } catch (err) {
    return corrupt(`${dir} key ${describeKey(key)}`, `not valid JSON (${String(err)})`);
  }
}

export function corrupt(where: string, what: string): never {
  throw new StorageFatalError("corruption", `corrupt record in ${where}: ${what}`);
}

function checksum(key: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(key));
}

function writeU64(buf: Buffer, offset: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a u64-safe integer: ${n}`);
  buf.writeUInt32BE(Math.floor(n / 2 ** 32), offset);
  buf.writeUInt32BE(n >>> 0, offset + 4);
}

/** May exceed 2^53 on corrupt input: callers check Number.isSafeInteger. */
function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 2 ** 32 + buf.readUInt32BE(offset + 4);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

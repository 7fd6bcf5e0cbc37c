/**
 * Binary codec for peer messages: the `payload` of a PeerBatch.
 *
 * Layout (docs/transport.md has the full table):
 *   header   u8 magic 0xA7, u8 version 1, u8 kind (1 = batch, 2 = single message)
 *   batch    string clusterId, string from, uvarint count, count x message
 *   single   string from, message
 *   message  u8 type tag, string to, int term, type-specific fields
 * Integers are zigzag varints, strings and byte fields are uvarint-length-prefixed.
 * `from` is written once per batch: every message in a batch must carry it.
 *
 * Decoded byte fields (entry data, snapshot data) are views into the input
 * buffer, not copies: whoever keeps an entry keeps the whole input alive.
 */

import type { Entry, Member, Message, NodeId, SnapshotMetadata } from "../raft/types.js";
import { ByteReader, CodecError } from "./wire-reader.js";
import { ByteWriter } from "./wire-writer.js";

export { CodecError };

const MAGIC = 0xa7;
const VERSION = 1;
const KIND_BATCH = 1;
const KIND_MESSAGE = 2;

/** Type tags on the wire. Append only: a tag, once used, keeps its meaning. */
const TAG = {
  vote: 1,
  preVote: 2,
  voteResp: 3,
  preVoteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  snapshotResp: 10,
  timeoutNow: 11,
  readIndex: 12,
  readIndexResp: 13,
} as const satisfies Record<Message["type"], number>;

// Smallest encodings, used to bound counts read from untrusted input.
const MIN_MESSAGE_BYTES = 3; // tag, empty `to`, term
const MIN_ENTRY_BYTES = 4; // term, index, type, empty data
const MIN_MEMBER_BYTES = 3; // empty id, empty address, role

const FLAG_A = 1;
const FLAG_B = 2;

export interface DecodedBatch {
  readonly clusterId: string;
  readonly from: NodeId;
  readonly messages: Message[];
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/** Encodes messages that all come from `from` into one payload. Throws if one does not. */
export function encodeBatch(clusterId: string, from: NodeId, msgs: readonly Message[]): Uint8Array {
  const w = new ByteWriter(64 + sizeHint(msgs));
  header(w, KIND_BATCH);
  w.string(clusterId);
  w.string(from);
  w.uvarint(msgs.length);
  for (const msg of msgs) {
    if (msg.from !== from) {
      throw new Error(`peer codec: message from ${msg.from} in a batch from ${from}`);
    }
    writeMessage(w, msg);
  }
  return w.finish();
}

export function encodeMessage(msg: Message): Uint8Array {
  const w = new ByteWriter(32 + sizeHint([msg]));
  header(w, KIND_MESSAGE);
  w.string(msg.from);
  writeMessage(w, msg);
  return w.finish();
}

function header(w: ByteWriter, kind: number): void {
  w.u8(MAGIC);
  w.u8(VERSION);
  w.u8(kind);
}

/** Bytes of payload data plus a per-item allowance, so the writer rarely grows. */
function sizeHint(msgs: readonly Message[]): number {
  let bytes = 0;
  for (const msg of msgs) {
    bytes += 48;
    if (msg.type === "append") {
      for (const e of msg.entries) bytes += e.data.length + 24;
    } else if (msg.type === "snapshot") {
      bytes += msg.data.length + 64 * msg.metadata.membership.members.length;
    }
  }
  return bytes;
}

function flags(a: boolean, b = false): number {
  return (a ? FLAG_A : 0) | (b ? FLAG_B : 0);
}

function writeMessage(w: ByteWriter, m: Message): void {
  w.u8(TAG[m.type]);
  w.string(m.to);
  w.int(m.term, "term");
  switch (m.type) {
    case "vote":
    case "preVote":
      w.int(m.lastLogIndex, "lastLogIndex");
      w.int(m.lastLogTerm, "lastLogTerm");
      w.u8(flags(m.transfer));
      return;
    case "voteResp":
    case "preVoteResp":
      w.u8(flags(m.reject));
      return;
    case "append":
      w.int(m.prevIndex, "prevIndex");
      w.int(m.prevTerm, "prevTerm");
      w.int(m.commit, "commit");
      w.uvarint(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      return;
    case "appendResp":
      w.int(m.index, "index");
      w.int(m.rejectHint, "rejectHint");
      w.int(m.hintTerm, "hintTerm");
      w.u8(flags(m.reject));
      return;
    case "heartbeat":
      w.int(m.commit, "commit");
      w.int(m.readContext, "readContext");
      return;
    case "heartbeatResp":
      w.int(m.readContext, "readContext");
      w.int(m.logEndIfBehind + 1, "logEndIfBehind"); // +1: -1 (not behind) encodes as 0
      return;
    case "snapshot":
      writeSnapshotMetadata(w, m.metadata);
      w.int(m.offset, "offset");
      w.int(m.totalBytes, "totalBytes");
      w.bytes(m.data);
      w.u8(flags(m.done));
      return;
    case "snapshotResp":
      w.int(m.snapshotIndex, "snapshotIndex");
      w.int(m.offset, "offset");
      w.u8(flags(m.reject, m.done));
      return;
    case "timeoutNow":
      return;
    case "readIndex":
      w.int(m.requestId, "requestId");
      return;
    case "readIndexResp":
      w.int(m.requestId, "requestId");
      w.int(m.index, "index");
      return;
    default:
      throw new Error(`peer codec: unknown message type ${String((m as { type: unknown }).type)}`);
  }
}

function writeEntry(w: ByteWriter, e: Entry): void {
  w.int(e.term, "entry.term");
  w.int(e.index, "entry.index");
  w.u8(e.type);
  w.bytes(e.data);
}

function writeSnapshotMetadata(w: ByteWriter, md: SnapshotMetadata): void {
  w.int(md.index, "metadata.index");
  w.int(md.term, "metadata.term");
  const members = md.membership.members;
  w.uvarint(members.length);
  for (const m of members) {
    w.string(m.id);
    w.string(m.address);
    w.u8(m.role === "voter" ? 0 : 1);
  }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

export function decodeBatch(bytes: Uint8Array): DecodedBatch {
  const r = new ByteReader(asPlainView(bytes));
  readHeader(r, KIND_BATCH);
  const clusterId = r.string("clusterId");
  const from = r.string("from");
  const n = r.count("message", MIN_MESSAGE_BYTES);
  const messages: Message[] = new Array<Message>(n);
  for (let i = 0; i < n; i++) messages[i] = readMessage(r, from);
  expectEnd(r);
  return { clusterId, from, messages };
}

export function decodeMessage(bytes: Uint8Array): Message {
  const r = new ByteReader(asPlainView(bytes));
  readHeader(r, KIND_MESSAGE);
  const from = r.string("from");
  const msg = readMessage(r, from);
  expectEnd(r);
  return msg;
}

/** A Buffer's subarray is a Buffer: view it as a plain Uint8Array so decoded data has one type. */
function asPlainView(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readHeader(r: ByteReader, kind: number): void {
  const magic = r.u8("magic");
  if (magic !== MAGIC) r.fail(`bad magic 0x${magic.toString(16)} (not a raftq peer payload)`);
  const version = r.u8("version");
  if (version !== VERSION) r.fail(`unsupported version ${version} (this node speaks ${VERSION})`);
  const k = r.u8("kind");
  if (k !== kind) r.fail(`expected kind ${kind}, got ${k}`);
}

function expectEnd(r: ByteReader): void {
  if (r.remaining !== 0) r.fail(`${r.remaining} trailing byte(s)`);
}

function readFlags(r: ByteReader, allowed: number): number {
  const f = r.u8("flags");
  if ((f & ~allowed) !== 0) r.fail(`unknown flag bits 0x${f.toString(16)}`);
  return f;
}

function readMessage(r: ByteReader, from: NodeId): Message {
  const tag = r.u8("type tag");
  const to = r.string("to");
  const term = r.int("term");
  switch (tag) {
    case TAG.vote:
    case TAG.preVote: {
      const lastLogIndex = r.int("lastLogIndex");
      const lastLogTerm = r.int("lastLogTerm");
      const transfer = (readFlags(r, FLAG_A) & FLAG_A) !== 0;
      const type = tag === TAG.vote ? "vote" : "preVote";
      return { type, from, to, term, lastLogIndex, lastLogTerm, transfer };
    }
    case TAG.voteResp:
    case TAG.preVoteResp: {
      const reject = (readFlags(r, FLAG_A) & FLAG_A) !== 0;
      const type = tag === TAG.voteResp ? "voteResp" : "preVoteResp";
      return { type, from, to, term, reject };
    }
    case TAG.append: {
      const prevIndex = r.int("prevIndex");
      const prevTerm = r.int("prevTerm");
      const commit = r.int("commit");
      const n = r.count("entry", MIN_ENTRY_BYTES);
      const entries: Entry[] = new Array<Entry>(n);
      for (let i = 0; i < n; i++) entries[i] = readEntry(r);
      return { type: "append", from, to, term, prevIndex, prevTerm, entries, commit };
    }
    case TAG.appendResp: {
      const index = r.int("index");
      const rejectHint = r.int("rejectHint");
      const hintTerm = r.int("hintTerm");
      const reject = (readFlags(r, FLAG_A) & FLAG_A) !== 0;
      return { type: "appendResp", from, to, term, reject, index, rejectHint, hintTerm };
    }
    case TAG.heartbeat: {
      const commit = r.int("commit");
      const readContext = r.int("readContext");
      return { type: "heartbeat", from, to, term, commit, readContext };
    }
    case TAG.heartbeatResp: {
      const readContext = r.int("readContext");
      const logEndIfBehind = r.int("logEndIfBehind") - 1;
      return { type: "heartbeatResp", from, to, term, readContext, logEndIfBehind };
    }
    case TAG.snapshot: {
      const metadata = readSnapshotMetadata(r);
      const offset = r.int("offset");
      const totalBytes = r.int("totalBytes");
      const data = r.bytes("snapshot data");
      const done = (readFlags(r, FLAG_A) & FLAG_A) !== 0;
      return { type: "snapshot", from, to, term, metadata, offset, totalBytes, data, done };
    }
    case TAG.snapshotResp: {
      const snapshotIndex = r.int("snapshotIndex");
      const offset = r.int("offset");
      const f = readFlags(r, FLAG_A | FLAG_B);
      const reject = (f & FLAG_A) !== 0;
      const done = (f & FLAG_B) !== 0;
      return { type: "snapshotResp", from, to, term, snapshotIndex, offset, reject, done };
    }
    case TAG.timeoutNow:
      return { type: "timeoutNow", from, to, term };
    case TAG.readIndex:
      return { type: "readIndex", from, to, term, requestId: r.int("requestId") };
    case TAG.readIndexResp: {
      const requestId = r.int("requestId");
      const index = r.int("index");
      return { type: "readIndexResp", from, to, term, requestId, index };
    }
    default:
      return r.fail(`unknown message type tag ${tag}`);
  }
}

function readEntry(r: ByteReader): Entry {
  const term = r.int("entry.term");
  const index = r.int("entry.index");
  const type = r.u8("entry.type");
  if (type !== 0 && type !== 1) r.fail(`unknown entry type ${type}`);
  const data = r.bytes("entry.data");
  return { term, index, type, data };
}

function readSnapshotMetadata(r: ByteReader): SnapshotMetadata {
  const index = r.int("metadata.index");
  const term = r.int("metadata.term");
  const n = r.count("member", MIN_MEMBER_BYTES);
  const members: Member[] = new Array<Member>(n);
  for (let i = 0; i < n; i++) {
    const id = r.string("member.id");
    const address = r.string("member.address");
    const role = r.u8("member.role");
    if (role !== 0 && role !== 1) r.fail(`unknown member role ${role}`);
    members[i] = { id, address, role: role === 0 ? "voter" : "learner" };
  }
  return { index, term, membership: { members } };
}

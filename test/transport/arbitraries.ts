// fast-check generators for every peer message type, shared by the codec tests.
import fc from "fast-check";
import type { Entry, Message, SnapshotMetadata } from "../../src/raft/types.js";

// Integers the codec must carry: small ones, -1 sentinels and the extremes of safe integers.
const int = fc.oneof(
  fc.integer({ min: -1, max: 300 }),
  fc.integer({ min: 0, max: 2 ** 32 }),
  fc.maxSafeInteger(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, 2 ** 31 - 1, 2 ** 53 - 2),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
);
// Ids are usually ASCII pod names, but anything UTF-8 must survive.
const id = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.constant(""),
);
const bytes = fc.uint8Array({ maxLength: 300 });

const entry: fc.Arbitrary<Entry> = fc.record({
  term: int,
  index: int,
  type: fc.constantFrom(0 as const, 1 as const),
  data: bytes,
});

const metadata: fc.Arbitrary<SnapshotMetadata> = fc.record({
  index: int,
  term: int,
  membership: fc.record({
    members: fc.array(
      fc.record({ id, address: id, role: fc.constantFrom("voter" as const, "learner" as const) }),
      { maxLength: 7 },
    ),
  }),
});

export function messageFrom(from: fc.Arbitrary<string>): fc.Arbitrary<Message> {
  const base = { from, to: id, term: int };
  return fc.oneof(
    fc.record({
      ...base,
      type: fc.constantFrom("vote" as const, "preVote" as const),
      lastLogIndex: int,
      lastLogTerm: int,
      transfer: fc.boolean(),
    }),
    fc.record({
      ...base,
      type: fc.constantFrom("voteResp" as const, "preVoteResp" as const),
      reject: fc.boolean(),
    }),
    fc.record({
      ...base,
      type: fc.constant("append" as const),
      prevIndex: int,
      prevTerm: int,
      entries: fc.array(entry, { maxLength: 20 }),
      commit: int,
    }),
    fc.record({
      ...base,
      type: fc.constant("appendResp" as const),
      reject: fc.boolean(),
      index: int,
      rejectHint: int,
      hintTerm: int,
    }),
    fc.record({ ...base, type: fc.constant("heartbeat" as const), commit: int, readContext: int }),
    fc.record({
      ...base,
      type: fc.constant("heartbeatResp" as const),
      readContext: int,
      logEndIfBehind: fc.integer({ min: -1, max: 1_000_000 }),
    }),
    fc.record({
      ...base,
      type: fc.constant("snapshot" as const),
      metadata,
      offset: int,
      totalBytes: int,
      data: fc.uint8Array({ maxLength: 2000 }),
      done: fc.boolean(),
    }),
    fc.record({
      ...base,
      type: fc.constant("snapshotResp" as const),
      snapshotIndex: int,
      offset: int,
      reject: fc.boolean(),
      done: fc.boolean(),
    }),
    fc.record({ ...base, type: fc.constant("timeoutNow" as const) }),
    fc.record({ ...base, type: fc.constant("readIndex" as const), requestId: int }),
    fc.record({ ...base, type: fc.constant("readIndexResp" as const), requestId: int, index: int }),
  );
}

export const anyMessage = messageFrom(id);

/** A cluster id, a sender, and messages all from that sender (as encodeBatch requires). */
export const anyBatch = fc.tuple(id, id).chain(([clusterId, from]) =>
  fc.record({
    clusterId: fc.constant(clusterId),
    from: fc.constant(from),
    messages: fc.array(messageFrom(fc.constant(from)), { maxLength: 8 }),
  }),
);

/** Every message type, so a test can check that the generators above cover them all. */
export const ALL_TYPES: readonly Message["type"][] = [
  "vote",
  "preVote",
  "voteResp",
  "preVoteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "snapshotResp",
  "timeoutNow",
  "readIndex",
  "readIndexResp",
];

/**
 * The vocabulary of the consensus core: log entries, durable state, snapshots,
 * peer messages and the Ready batch the runtime drains.
 *
 * Everything here is plain data (no classes), so it can be persisted, sent
 * over the wire and compared in tests without surprises.
 */

/** A member's id, stable for its lifetime (e.g. a StatefulSet pod name "raftq-0"). */
export type NodeId = string;

export const EntryType = {
  /** An application command (or an empty no-op a new leader appends). */
  Normal: 0,
  /** A membership change; `data` is an encoded {@link ConfChange}. */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** Term, vote and commit: what must be on disk before answering a vote or an append. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export type MemberRole = "voter" | "learner";

export interface Member {
  readonly id: NodeId;
  /** host:port of the member's peer/API endpoint, carried in the log so every node can reach it. */
  readonly address: string;
  readonly role: MemberRole;
}

/** The cluster configuration: who votes, who only learns. */
export interface Membership {
  readonly members: readonly Member[];
}

export type ConfChangeType = "addLearner" | "promote" | "remove";

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Required for addLearner. */
  readonly address?: string;
}

export interface SnapshotMetadata {
  /** Last log index the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** The configuration in effect at `index`. */
  readonly membership: Membership;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** Opaque application state (the job queue) as of `metadata.index`. */
  readonly data: Uint8Array;
}

// ---------------------------------------------------------------------------
// Peer messages
// ---------------------------------------------------------------------------

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** Sender's term (for PreVote requests: the term it *would* campaign in). */
  readonly term: number;
}

export interface VoteRequest extends MessageBase {
  readonly type: "vote" | "preVote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set when campaigning because of TimeoutNow: bypasses the leader-lease check. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: "voteResp" | "preVoteResp";
  readonly reject: boolean;
}

export interface AppendRequest extends MessageBase {
  readonly type: "append";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: "appendResp";
  readonly reject: boolean;
  /** On success: the follower's last index matching the leader. On reject: the rejected prevIndex. */
  readonly index: number;
  /** On reject: the follower's hint for where to retry (fast backtracking). */
  readonly rejectHint: number;
  /** On reject: the term of the follower's entry at rejectHint (0 if none). */
  readonly hintTerm: number;
}

export interface HeartbeatRequest extends MessageBase {
  readonly type: "heartbeat";
  /** min(leader commit, follower match): the follower never commits what it may not have. */
  readonly commit: number;
  /** ReadIndex round this heartbeat confirms leadership for (0 = none). */
  readonly readContext: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: "heartbeatResp";
  readonly readContext: number;
  /**
   * -1, or the follower's last index when the heartbeat's commit was beyond it:
   * the follower lost entries it had acknowledged (a wiped disk).
   */
  readonly logEndIfBehind: number;
}

export interface SnapshotChunk extends MessageBase {
  readonly type: "snapshot";
  readonly metadata: SnapshotMetadata;
  /** Byte offset of `data` within the whole snapshot. */
  readonly offset: number;
  readonly totalBytes: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

export interface SnapshotResponse extends MessageBase {
  readonly type: "snapshotResp";
  /** Index of the snapshot this answers. */
  readonly snapshotIndex: number;
  /** Bytes received so far (next expected offset); on reject the leader restarts at this offset. */
  readonly offset: number;
  readonly reject: boolean;
  /** True once the whole snapshot was installed. */
  readonly done: boolean;
}

export interface TimeoutNow extends MessageBase {
  readonly type: "timeoutNow";
}

/** A follower asks the leader for a read index on behalf of a local reader. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: "readIndex";
  readonly requestId: number;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: "readIndexResp";
  readonly requestId: number;
  /** Commit index safe to read at; -1 if the leader refused (not leader any more). */
  readonly index: number;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message["type"];

// ---------------------------------------------------------------------------
// Ready: what the runtime must do after tick/step/propose
// ---------------------------------------------------------------------------

export type Role = "follower" | "preCandidate" | "candidate" | "leader" | "learner";

/** A linearizable read that may now be served once `index` is applied. */
export interface ReadState {
  readonly requestId: number;
  /** -1 when the read failed (lost leadership); the caller retries elsewhere. */
  readonly index: number;
}

/** What the application can take in the next Ready (RaftCore.hasReady / ready). */
export interface ReadyOptions {
  /**
   * False while the application cannot take more committed entries (its apply
   * queue is full): the Ready then carries none, and everything else as usual
   * (entries to persist, messages, read states), so the node goes on
   * acknowledging appends and answering heartbeats while it catches up.
   * Default true.
   */
  readonly takeCommitted?: boolean;
}

export interface Ready {
  /** Set when term, vote or commit changed: persist it (synced) with `entries`. */
  readonly hardState: HardState | null;
  /**
   * Entries to append to stable storage. They replace any stored entries
   * at index >= entries[0].index (a follower truncating a conflicting tail).
   */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: persist it, restore the application from it. */
  readonly snapshot: Snapshot | null;
  /** Entries now committed, to apply in order. */
  readonly committedEntries: readonly Entry[];
  /**
   * Messages to send. Unless the runtime knows better, send them only after
   * the hardState/entries/snapshot above are durable: a vote or an append
   * acknowledgement must never precede the fsync it promises.
   * `append`/`heartbeat`/`snapshot` messages from a leader may go out before
   * (Raft thesis §10.2.1): the leader counts itself only after advance().
   */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** Stored log entries at index <= this may be deleted (compaction). 0 = nothing. */
  readonly compactedThrough: number;
  /** A locally produced snapshot to persist (from {@link RaftCore.createSnapshot}). */
  readonly localSnapshot: Snapshot | null;
}

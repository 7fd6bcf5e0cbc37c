import { assert } from "./assert.js";
import type { RaftConfig } from "./config.js";
import { RaftLog } from "./log.js";
import { isVoter } from "./membership.js";
import type { Progress } from "./progress.js";
import { ReadIndexQueue } from "./read-index.js";
import { SnapshotReceiver } from "./snapshot-receiver.js";
import type { HardState, Membership, Message, NodeId, ReadState, Ready, Role, Snapshot } from "./types.js";

/**
 * The mutable state of one Raft core, in one object. RaftCore (core.ts) is
 * the facade that holds it; the modules that implement the protocol
 * (elections, replication, snapshots, ReadIndex, Ready/advance) are plain
 * functions that take it as their first argument, `s`. They share this
 * object instead of each other's privates, so the imports go one way:
 * core.ts -> the modules -> this file.
 *
 * One class with every field set up front, so all cores have one shape and
 * property access on the hot path stays monomorphic.
 */
export class CoreState {
  readonly id: NodeId;
  readonly log = new RaftLog();
  term = 0;
  vote: NodeId | null = null;
  leader: NodeId | null = null;
  role: Role = "follower";
  membership: Membership = { members: [] };
  /** Leader only: its view of every member, itself included. */
  readonly progress = new Map<NodeId, Progress>();
  /** (Pre)candidate: the answers of the current round, true when granted. */
  readonly votes = new Map<NodeId, boolean>();
  /** Ticks since the election timer was reset (a leader: since the last CheckQuorum round). */
  electionElapsedTicks = 0;
  heartbeatElapsedTicks = 0;
  /** This term's election timeout, drawn from [electionTimeoutMinTicks, electionTimeoutMaxTicks). */
  randomizedElectionTimeoutTicks = 0;
  /** Logical clock: ticks since this core was created. */
  tickCount = 0;
  leadTransferee: NodeId | null = null;
  transferElapsedTicks = 0;
  /** Index of the latest conf change in the log; a new one waits until it is applied. */
  pendingConfIndex = 0;
  uncommittedBytes = 0;
  /** Messages to send, handed to the runtime by the next ready(). */
  outbox: Message[] = [];
  readStates: ReadState[] = [];
  readonly readIndexQueue = new ReadIndexQueue();
  /** Latest snapshot (local or installed), kept to send to followers. */
  snapshot: Snapshot | null = null;
  readonly snapshotReceiver: SnapshotReceiver;
  pendingInstall: Snapshot | null = null;
  pendingLocalSnapshot: Snapshot | null = null;
  pendingCompactedThrough = 0;
  /** Conf changes applied since the latest snapshot, to know the configuration at any applied index. */
  confHistory: { index: number; before: Membership; membership: Membership }[] = [];
  persistedHardState: HardState = { term: 0, vote: null, commit: 0 };
  /** The Ready handed out and not yet advanced. */
  outstandingReady: Ready | null = null;

  constructor(readonly config: RaftConfig) {
    this.id = config.id;
    this.snapshotReceiver = new SnapshotReceiver(config.maxSnapshotBytes);
  }

  /** A voter can campaign and vote; a learner (or a node not in the configuration) cannot. */
  promotable(): boolean {
    return isVoter(this.membership, this.id);
  }

  header<T extends Message["type"]>(type: T, to: NodeId) {
    return { type, from: this.id, to, term: this.term } as const;
  }

  send(m: Message): void {
    assert(m.to !== this.id, "a node never sends to itself");
    this.outbox.push(m);
  }
}

/** Data of the empty entries and snapshots the core makes itself (a new leader's no-op, the bootstrap snapshot). */
export const EMPTY_DATA = new Uint8Array(0);

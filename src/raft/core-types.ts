import type { Entry, HardState, Membership, NodeId, Role, Snapshot } from "./types.js";

/**
 * What RaftCore's methods take and return besides the protocol vocabulary of
 * types.ts: the state found on disk at start-up, the answers to proposals and
 * transfers, and status(). Kept apart from core.ts so the modules behind the
 * facade can return these types without importing the facade (core.ts and
 * index.ts re-export them).
 */

/** What the node had on disk at start-up (nothing at all for a brand-new node). */
export interface PersistedRaftState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

export type ProposeRejection =
  | "notLeader"
  | "transferring"
  | "tooManyUncommitted"
  | "diskBehind"
  | "confChangePending"
  | "invalidConfChange";

export type ProposeResult =
  | { readonly ok: true; readonly firstIndex: number; readonly term: number }
  | {
      readonly ok: false;
      readonly reason: ProposeRejection;
      readonly leader: NodeId | null;
      readonly detail: string;
    };

export type TransferResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface PeerStatus {
  readonly id: NodeId;
  readonly address: string;
  readonly role: "voter" | "learner";
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  /** Tick of the last response from this peer; -1 if none since this node became leader. */
  readonly lastContactTick: number;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Logical clock: ticks since this core was created. */
  readonly tick: number;
  readonly membership: Membership;
  readonly leadTransferee: NodeId | null;
  /** Leader only: one entry per member other than this node. */
  readonly peers: readonly PeerStatus[];
}

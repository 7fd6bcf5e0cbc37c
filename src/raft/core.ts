import { assert } from "./assert.js";
import { resolveConfig, type RaftConfig, type RaftConfigInput } from "./config.js";
import { RaftLog } from "./log.js";
import {
  applyConfChange,
  checkConfChange,
  decodeConfChange,
  encodeConfChange,
  findMember,
  isVoter,
  quorumSize,
  voters,
} from "./membership.js";
import { Progress } from "./progress.js";
import { ReadIndexQueue } from "./read-index.js";
import { SnapshotReceiver } from "./snapshot-receiver.js";
import { onSnapshotResponse, rewindIfSilent, snapshotChunksFor } from "./snapshot-sender.js";
import {
  EntryType,
  type AppendRequest,
  type AppendResponse,
  type ConfChange,
  type Entry,
  type HardState,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type Membership,
  type Message,
  type NodeId,
  type ReadIndexRequest,
  type ReadState,
  type Ready,
  type ReadyOptions,
  type Role,
  type Snapshot,
  type SnapshotChunk,
  type SnapshotResponse,
  type VoteRequest,
  type VoteResponse,
} from "./types.js";

/** What the node had on disk at start-up (nothing at all for a brand-new node). */
export interface PersistedRaftState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

export type ProposeRejection =
  "notLeader" | "transferring" | "tooManyUncommitted" | "confChangePending" | "invalidConfChange";

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

const EMPTY = new Uint8Array(0);

/**
 * The Raft consensus core, driven from outside (etcd's raft model): tick(),
 * step(message), propose(), admin calls; then ready() for what to persist,
 * send and apply, and advance() once done. It performs no I/O, reads no
 * clock and owns no randomness: the same inputs give the same outputs.
 */
export class RaftCore {
  readonly config: RaftConfig;
  readonly id: NodeId;
  private readonly log = new RaftLog();
  private term = 0;
  private vote: NodeId | null = null;
  private leader: NodeId | null = null;
  private role: Role = "follower";
  private membership: Membership = { members: [] };
  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private tickCount = 0;
  private leadTransferee: NodeId | null = null;
  private transferElapsed = 0;
  /** Index of the latest conf change in the log; a new one waits until it is applied. */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private readonly reads = new ReadIndexQueue();
  /** Latest snapshot (local or installed), kept to send to followers. */
  private snapshot: Snapshot | null = null;
  private readonly snapshotReceiver: SnapshotReceiver;
  private pendingInstall: Snapshot | null = null;
  private pendingLocalSnapshot: Snapshot | null = null;
  private pendingCompactedThrough = 0;
  /** Conf changes applied since the latest snapshot, to know the configuration at any applied index. */
  private confHistory: { index: number; before: Membership; membership: Membership }[] = [];
  private persistedHardState: HardState = { term: 0, vote: null, commit: 0 };
  private outstanding: Ready | null = null;

  constructor(input: RaftConfigInput, persisted?: PersistedRaftState) {
    this.config = resolveConfig(input);
    this.snapshotReceiver = new SnapshotReceiver(this.config.maxSnapshotBytes);
    this.id = this.config.id;
    const hs = persisted?.hardState ?? { term: 0, vote: null, commit: 0 };
    const hasState = persisted !== undefined && (persisted.snapshot !== null || persisted.entries.length > 0);
    if (persisted?.snapshot) {
      const snap = persisted.snapshot;
      this.snapshot = snap;
      this.membership = snap.metadata.membership;
      this.log.load(snap.metadata.index, snap.metadata.term, persisted.entries);
    } else if (hasState) {
      this.log.load(0, 0, persisted!.entries);
    } else if (this.config.initialMembers.length > 0) {
      this.bootstrap();
    }
    this.term = hs.term;
    this.vote = hs.vote;
    if (hs.commit > this.log.committed) {
      assert(hs.commit <= this.log.lastIndex(), () => `persisted commit ${hs.commit} beyond the log`);
      this.log.commitTo(hs.commit);
    }
    this.persistedHardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    // Conf changes up to the commit point are re-applied as the entries are
    // replayed; until then the snapshot's configuration stands.
    this.becomeFollower(this.term, null);
  }

  /**
   * A brand-new cluster starts from an identical snapshot on every bootstrap
   * member: index 1, term 1, the initial configuration, empty application
   * state. A node that joins later receives it (or a newer one) through
   * InstallSnapshot, so it learns the full configuration.
   */
  private bootstrap(): void {
    const ids = new Set<NodeId>();
    for (const m of this.config.initialMembers) {
      assert(!ids.has(m.id), () => `duplicate initial member ${m.id}`);
      ids.add(m.id);
    }
    const snap: Snapshot = {
      metadata: { index: 1, term: 1, membership: { members: [...this.config.initialMembers] } },
      data: EMPTY,
    };
    this.snapshot = snap;
    this.membership = snap.metadata.membership;
    this.log.restore(1, 1);
    this.pendingLocalSnapshot = snap;
  }

  // -------------------------------------------------------------------------
  // Inputs
  // -------------------------------------------------------------------------

  /** Advance logical time by one tick. */
  tick(): void {
    this.tickCount++;
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.role === "preCandidate" && this.electionElapsed % this.config.heartbeatTicks === 0) {
      // A voter still inside its leader lease ignored our PreVote; its lease
      // ends within an election timeout of the leader's last word. Ask again
      // every heartbeat instead of waiting out a whole new election timeout.
      this.sendVoteRequests("preVote", this.term + 1, false, true);
    }
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.config.preVote ? "preVote" : "vote", false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTimeoutMinTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, null);
          return;
        }
        for (const pr of this.progress.values()) if (pr.id !== this.id) pr.recentActive = false;
      }
    }
    if (this.leadTransferee !== null) {
      this.transferElapsed++;
      if (this.transferElapsed >= this.config.electionTimeoutMinTicks) this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.reads.heartbeatContext());
      this.retransmitSnapshots();
    }
  }

  /** Propose application commands (leader only). All or none are appended. */
  propose(commands: readonly Uint8Array[]): ProposeResult {
    assert(commands.length > 0, "propose() needs at least one command");
    const refusal = this.checkCanPropose(commands.length, sumBytes(commands));
    if (refusal) return refusal;
    const first = this.log.lastIndex() + 1;
    const term = this.term;
    const entries: Entry[] = new Array<Entry>(commands.length);
    for (let i = 0; i < commands.length; i++)
      entries[i] = { term, index: first + i, type: EntryType.Normal, data: commands[i]! };
    this.appendAsLeader(entries);
    return { ok: true, firstIndex: first, term: this.term };
  }

  /** Propose a membership change (leader only), one at a time. */
  proposeConfChange(cc: ConfChange): ProposeResult {
    const data = encodeConfChange(cc);
    const refusal = this.checkCanPropose(1, data.byteLength);
    if (refusal) return refusal;
    if (this.pendingConfIndex > this.log.applied) {
      return this.reject(
        "confChangePending",
        `a membership change at index ${this.pendingConfIndex} is not applied yet`,
      );
    }
    const problem = checkConfChange(this.membership, cc);
    if (problem !== null) return this.reject("invalidConfChange", problem);
    const index = this.log.lastIndex() + 1;
    this.pendingConfIndex = index;
    this.appendAsLeader([{ term: this.term, index, type: EntryType.ConfChange, data }]);
    return { ok: true, firstIndex: index, term: this.term };
  }

  private checkCanPropose(count: number, bytes: number): ProposeResult | null {
    if (this.role !== "leader") return this.reject("notLeader", "this node is not the leader");
    if (this.leadTransferee !== null) {
      return this.reject("transferring", `leadership is being transferred to ${this.leadTransferee}`);
    }
    const uncommitted = this.log.lastIndex() - this.log.committed;
    if (uncommitted + count > this.config.maxUncommittedEntries) {
      return this.reject("tooManyUncommitted", `${uncommitted} entries are not committed yet`);
    }
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.config.maxUncommittedBytes) {
      return this.reject("tooManyUncommitted", `${this.uncommittedBytes} bytes are not committed yet`);
    }
    return null;
  }

  private reject(reason: ProposeRejection, detail: string): ProposeResult {
    return { ok: false, reason, leader: this.leader, detail };
  }

  /** Hand leadership to `to` (a caught-up voter); abandoned after an election timeout. */
  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== "leader") return { ok: false, reason: "this node is not the leader" };
    if (to === this.id) return { ok: true };
    if (!isVoter(this.membership, to)) return { ok: false, reason: `${to} is not a voter` };
    if (this.leadTransferee === to) return { ok: true };
    this.leadTransferee = to;
    this.transferElapsed = 0;
    this.electionElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex())
      this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
    else this.replicateTo(to, true);
    return { ok: true };
  }

  /**
   * Ask for a linearizable read point. The answer arrives as a ReadState in a
   * later Ready: serve the read once applied >= its index (index -1: failed,
   * retry, e.g. on the new leader).
   */
  readIndex(requestId: number): void {
    if (this.role === "leader") {
      this.leaderReadIndex(requestId, this.id);
    } else if (this.leader !== null && this.leader !== this.id) {
      const m: ReadIndexRequest = {
        type: "readIndex",
        from: this.id,
        to: this.leader,
        term: this.term,
        requestId,
      };
      this.send(m);
    } else {
      this.readStates.push({ requestId, index: -1 });
    }
  }

  /**
   * The application produced a snapshot of its state as of `index` (at most
   * the applied index: the runtime may serialize in the background while
   * applying goes on). The log before it is compacted, keeping
   * `snapshotTailEntries` for followers slightly behind.
   */
  createSnapshot(index: number, data: Uint8Array): void {
    assert(index <= this.log.applied, () => `snapshot at ${index} but applied is only ${this.log.applied}`);
    if (this.snapshot !== null && index <= this.snapshot.metadata.index) return;
    const term = this.log.term(index);
    assert(term !== undefined, () => `snapshot index ${index} is not in the log`);
    const snap: Snapshot = { metadata: { index, term, membership: this.membershipAt(index) }, data };
    this.snapshot = snap;
    this.pendingLocalSnapshot = snap;
    this.confHistory = this.confHistory.filter((h) => h.index > index);
    const compactTo = Math.min(index - this.config.snapshotTailEntries, this.log.stableIndex);
    if (compactTo > this.log.prevIndex) {
      this.log.compact(compactTo);
      this.pendingCompactedThrough = Math.max(this.pendingCompactedThrough, compactTo);
    }
  }

  /** The configuration in effect once `index` was applied (index <= applied). */
  private membershipAt(index: number): Membership {
    let m: Membership | null = null;
    for (const h of this.confHistory) if (h.index <= index) m = h.membership;
    if (m !== null) return m;
    // No change applied since the snapshot in [snapshot, index]: the snapshot's
    // configuration, or the current one if the history was never needed.
    const later = this.confHistory.find((h) => h.index > index);
    return later?.before ?? this.membership;
  }

  /** Entries applied since the last snapshot: the runtime snapshots past its threshold. */
  entriesSinceSnapshot(): number {
    return this.log.applied - (this.snapshot?.metadata.index ?? 0);
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        const inLease =
          this.config.checkQuorum &&
          this.leader !== null &&
          this.electionElapsed < this.config.electionTimeoutMinTicks;
        // A node that hears from a live leader does not help depose it.
        if (inLease && !m.transfer) return;
      }
      if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
        // PreVote never changes terms: that is the whole point of it.
      } else {
        const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      if (m.type === "append" || m.type === "heartbeat") {
        // A stale leader (e.g. back from a partition): tell it our term so it steps down.
        this.send({
          type: "appendResp",
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
          index: 0,
          rejectHint: 0,
          hintTerm: 0,
        });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case "vote":
      case "preVote":
        this.handleVoteRequest(m);
        return;
      case "voteResp":
      case "preVoteResp":
        this.handleVoteResponse(m);
        return;
      case "append":
      case "heartbeat":
      case "snapshot":
        if (this.role === "leader") return; // same term, two leaders: impossible; ignore
        if (this.role === "candidate" || this.role === "preCandidate") this.becomeFollower(this.term, m.from);
        this.leader = m.from;
        this.electionElapsed = 0;
        if (m.type === "append") this.handleAppend(m);
        else if (m.type === "heartbeat") this.handleHeartbeat(m);
        else this.handleSnapshotChunk(m);
        return;
      case "appendResp":
        if (this.role === "leader") this.handleAppendResponse(m);
        return;
      case "heartbeatResp":
        if (this.role === "leader") this.handleHeartbeatResponse(m);
        return;
      case "snapshotResp":
        if (this.role === "leader") this.handleSnapshotResponse(m);
        return;
      case "timeoutNow":
        if (this.promotable()) this.campaign("vote", true);
        return;
      case "readIndex":
        if (this.role === "leader") this.leaderReadIndex(m.requestId, m.from);
        else this.send({ ...this.header("readIndexResp", m.from), requestId: m.requestId, index: -1 });
        return;
      case "readIndexResp":
        this.readStates.push({ requestId: m.requestId, index: m.index });
        return;
    }
  }

  // -------------------------------------------------------------------------
  // Elections
  // -------------------------------------------------------------------------

  private promotable(): boolean {
    return isVoter(this.membership, this.id);
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const span = this.config.electionTimeoutMaxTicks - this.config.electionTimeoutMinTicks;
    this.randomizedElectionTimeout =
      this.config.electionTimeoutMinTicks + Math.floor(this.config.random() * span);
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    const wasLeader = this.role === "leader";
    if (term !== this.term) {
      assert(term > this.term, () => `term went back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = null;
    }
    if (wasLeader) this.failPendingReads();
    this.leader = leader;
    this.role = this.promotable() ? "follower" : "learner";
    this.votes.clear();
    this.progress.clear();
    this.leadTransferee = null;
    this.resetTimers();
  }

  private campaign(kind: "preVote" | "vote", transfer: boolean): void {
    let campaignTerm: number;
    if (kind === "preVote") {
      this.role = "preCandidate";
      this.leader = null;
      campaignTerm = this.term + 1;
    } else {
      this.term += 1;
      this.vote = this.id;
      this.leader = null;
      this.role = "candidate";
      campaignTerm = this.term;
    }
    this.votes.clear();
    this.resetTimers();
    this.votes.set(this.id, true);
    if (this.tallyVotes() === "won") {
      if (kind === "preVote") this.campaign("vote", transfer);
      else this.becomeLeader();
      return;
    }
    this.sendVoteRequests(kind, campaignTerm, transfer, false);
  }

  private sendVoteRequests(
    kind: "preVote" | "vote",
    campaignTerm: number,
    transfer: boolean,
    onlyUnanswered: boolean,
  ): void {
    for (const id of voters(this.membership)) {
      if (id === this.id || (onlyUnanswered && this.votes.has(id))) continue;
      const req: VoteRequest = {
        type: kind,
        from: this.id,
        to: id,
        term: campaignTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      };
      this.send(req);
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote =
      (this.vote === m.from ||
        (this.vote === null && this.leader === null) ||
        (m.type === "preVote" && m.term > this.term)) &&
      !this.yieldsToSelf(m);
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A granted PreVote answers in the candidate's future term.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  /**
   * Two voters that time out within a message delay of each other would each
   * grant the other's PreVote, both stand, and split the vote: another election
   * timeout (150-300 ms) lost. Between two equally up-to-date PreVote rounds
   * that started together (within a heartbeat), the lower id goes ahead and
   * the other is refused; it grants the winner's real vote request as usual.
   * PreVote decides nothing about safety, only who tries first.
   */
  private yieldsToSelf(m: VoteRequest): boolean {
    return (
      m.type === "preVote" &&
      this.role === "preCandidate" &&
      this.electionElapsed < this.config.heartbeatTicks &&
      m.lastLogTerm === this.log.lastTerm() &&
      m.lastLogIndex === this.log.lastIndex() &&
      m.from > this.id
    );
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expecting =
      (this.role === "preCandidate" && m.type === "preVoteResp") ||
      (this.role === "candidate" && m.type === "voteResp");
    if (!expecting) return;
    this.votes.set(m.from, !m.reject);
    const result = this.tallyVotes();
    if (result === "won") {
      if (this.role === "preCandidate") this.campaign("vote", false);
      else this.becomeLeader();
    } else if (result === "lost") {
      this.becomeFollower(this.term, null);
    }
  }

  private tallyVotes(): "won" | "lost" | "pending" {
    const vs = voters(this.membership);
    let granted = 0;
    let rejected = 0;
    for (const id of vs) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = quorumSize(this.membership);
    if (granted >= q) return "won";
    if (rejected > vs.length - q) return "lost";
    return "pending";
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", "only a candidate becomes leader");
    this.role = "leader";
    this.leader = this.id;
    this.progress.clear();
    const last = this.log.lastIndex();
    for (const member of this.membership.members) {
      const pr = new Progress(member.id, member.role, last + 1);
      pr.recentActive = true;
      this.progress.set(member.id, pr);
    }
    const self = this.progress.get(this.id)!;
    self.match = this.log.stableIndex;
    self.becomeReplicate();
    this.pendingConfIndex = last;
    this.uncommittedBytes = 0;
    this.reads.takeAll(); // start clean: reads of an earlier leadership were failed when it ended
    this.resetTimers();
    // An empty entry of the new term lets the leader commit (Raft §5.4.2,
    // Figure 8): only current-term entries are committed by counting replicas.
    this.appendAsLeader([{ term: this.term, index: last + 1, type: EntryType.Normal, data: EMPTY }]);
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of voters(this.membership)) {
      if (id === this.id || this.progress.get(id)?.recentActive) active++;
    }
    return active >= quorumSize(this.membership);
  }

  // -------------------------------------------------------------------------
  // Replication (leader)
  // -------------------------------------------------------------------------

  private appendAsLeader(entries: Entry[]): void {
    this.log.append(entries);
    this.uncommittedBytes += entryBytes(entries); // (perf: no intermediate array)
    // The leader counts itself only once its own write is durable (advance).
    for (const id of this.progress.keys()) if (id !== this.id) this.replicateTo(id, false);
  }

  /** Send what the follower needs: appends (pipelined in replicate state), or a snapshot. */
  private replicateTo(to: NodeId, sendIfEmpty: boolean): void {
    if (!this.sendAppend(to, sendIfEmpty)) return;
    const pr = this.progress.get(to);
    while (pr !== undefined && pr.state === "replicate" && this.sendAppend(to, false)) {
      // keep pipelining until the in-flight bounds or the end of the log
    }
  }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined) return false;
    if (pr.isPaused(this.config.maxInflightMsgs, this.config.maxInflightBytes)) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      this.startSnapshot(pr);
      return false;
    }
    const entries =
      pr.next <= this.log.lastIndex()
        ? this.log.slice(
            pr.next,
            this.log.lastIndex() + 1,
            pr.state === "probe" ? 1 : this.config.maxEntriesPerMsg,
            this.config.maxBytesPerMsg,
          )
        : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    const m: AppendRequest = {
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    };
    this.send(m);
    const last = entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex;
    pr.sentAppend(last, entryBytes(entries), entries.length);
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.replicateTo(id, true);
  }

  private bcastHeartbeat(readContext: number): void {
    for (const pr of this.progress.values()) {
      if (pr.id === this.id) continue;
      const m: HeartbeatRequest = {
        type: "heartbeat",
        from: this.id,
        to: pr.id,
        term: this.term,
        // Never tell a follower to commit past what it is known to hold.
        commit: Math.min(pr.match, this.log.committed),
        readContext,
      };
      this.send(m);
    }
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    this.heardFrom(pr);
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.hintTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.hintTerm);
      if (pr.maybeDecreaseTo(m.index, hint)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.replicateTo(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused(this.config.maxInflightMsgs, this.config.maxInflightBytes);
    if (!pr.maybeUpdate(m.index)) {
      if (pr.state === "probe" && m.index === pr.match && m.index > 0) {
        // As etcd does: a probe acknowledged exactly at match (e.g. the first append
        // after an InstallSnapshot set match) also proves where the follower's log
        // ends. Without this the follower stayed in probe, paused, until the next
        // heartbeat, and then got one entry per round trip.
        pr.becomeReplicate();
        this.replicateTo(m.from, false);
      } else if (wasPaused && pr.state === "replicate") this.replicateTo(m.from, false);
      return;
    }
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.snapshotIndex) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
    if (this.maybeCommit()) this.bcastAppend();
    else this.replicateTo(m.from, false);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", from: this.id, to: m.from, term: this.term });
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    this.heardFrom(pr);
    pr.probeSent = false;
    if (m.logEndIfBehind >= 0 && m.logEndIfBehind < pr.match) pr.forgetMatch(m.logEndIfBehind);
    // The in-flight window is full and nothing was acknowledged for a whole heartbeat
    // interval: those appends were lost (the follower restarted, a stream broke).
    // Replicate state would wait for their answers forever; probe from match instead.
    if (pr.stalledSinceLastHeartbeat(this.config.maxInflightMsgs, this.config.maxInflightBytes))
      pr.becomeProbe();
    // sendIfEmpty (as etcd does): a follower in replicate state whose last append
    // was lost gets an empty append at next-1, rejects it, and the leader backs up.
    // Without it an idle leader never re-sent a lost append (nothing committed
    // until the next proposal).
    if (pr.match < this.log.lastIndex()) this.replicateTo(m.from, true);
    if (m.readContext > 0) this.ackReads(m.from, m.readContext);
  }

  private heardFrom(pr: Progress): void {
    pr.recentActive = true;
    pr.lastContactTick = this.tickCount;
  }

  /** Commit the highest index replicated on a quorum, if it is from this term. */
  private maybeCommit(): boolean {
    // (perf: called on every acknowledgement; walk the members once, no voters() arrays)
    const matches: number[] = [];
    for (const m of this.membership.members)
      if (m.role === "voter") matches.push(this.progress.get(m.id)?.match ?? 0);
    if (matches.length === 0) return false;
    matches.sort((a, b) => b - a);
    const q = matches[matches.length >> 1]!; // the quorumSize-th highest: quorumSize = floor(n / 2) + 1
    if (q <= this.log.committed || this.log.term(q) !== this.term) return false;
    const before = this.log.committed;
    this.log.commitTo(q);
    for (let i = before + 1; i <= q; i++) this.uncommittedBytes -= this.log.entry(i)?.data.byteLength ?? 0;
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    if (before < q)
      for (const r of this.reads.takeAwaitingCommit()) this.leaderReadIndex(r.requestId, r.from);
    return true;
  }

  // -------------------------------------------------------------------------
  // Follower
  // -------------------------------------------------------------------------

  private handleAppend(m: AppendRequest): void {
    const base = this.header("appendResp", m.from);
    if (m.prevIndex < this.log.committed) {
      this.send({ ...base, reject: false, index: this.log.committed, rejectHint: 0, hintTerm: 0 });
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      if (m.entries.length > 0) this.log.appendFromLeader(m.entries);
      const lastNew = m.prevIndex + m.entries.length;
      this.log.commitTo(Math.min(m.commit, lastNew));
      // (perf: the hot path builds its answer without an object spread)
      const ok: AppendResponse = {
        type: "appendResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject: false,
        index: lastNew,
        rejectHint: 0,
        hintTerm: 0,
      };
      this.send(ok);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.send({
      ...base,
      reject: true,
      index: m.prevIndex,
      rejectHint: hint,
      hintTerm: this.log.term(hint) ?? 0,
    });
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    // The leader sends min(match, commit), but a follower that lost its disk (or
    // its log tail) no longer holds `match`. Commit only what is provably the
    // leader's: an entry of the current term came from this leader, and log
    // matching makes everything below it the leader's too.
    if (this.log.lastTerm() === this.term) this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    // The leader believes we hold entries we do not (our disk was wiped, or lost
    // its tail): say where our log ends so it forgets its match and probes. A
    // heartbeat's commit never exceeds what we acknowledged this term, so this is
    // proof of loss even if the answer arrives late. Without it an idle leader
    // would never find out.
    const logEndIfBehind = m.commit > this.log.lastIndex() ? this.log.lastIndex() : -1;
    this.send({ ...this.header("heartbeatResp", m.from), readContext: m.readContext, logEndIfBehind });
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    const r = this.snapshotReceiver.receive(m, this.log.committed);
    if (r.complete !== null) this.installSnapshot(r.complete);
    this.send({
      ...this.header("snapshotResp", m.from),
      snapshotIndex: m.metadata.index,
      offset: r.offset,
      reject: r.reject,
      done: r.done,
    } satisfies SnapshotResponse);
  }

  private installSnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (this.log.matchTerm(index, term)) {
      // Our log already holds it: just move the commit point.
      this.log.commitTo(index);
      return;
    }
    this.log.restore(index, term);
    this.confHistory = [];
    this.snapshot = snap;
    this.membership = snap.metadata.membership;
    this.pendingInstall = snap;
    if (this.role === "follower" || this.role === "learner")
      this.role = this.promotable() ? "follower" : "learner";
  }

  // -------------------------------------------------------------------------
  // Snapshots to followers (leader)
  // -------------------------------------------------------------------------

  private startSnapshot(pr: Progress): void {
    const snap = this.snapshot;
    assert(snap !== null, "log compacted without a snapshot");
    pr.becomeSnapshot(snap.metadata.index, this.tickCount);
    this.sendSnapshotChunks(pr);
  }

  private sendSnapshotChunks(pr: Progress): void {
    const window = {
      chunkBytes: this.config.snapshotChunkBytes,
      maxInflightChunks: this.config.maxInflightSnapshotChunks,
    };
    const header = { from: this.id, term: this.term };
    for (const chunk of snapshotChunksFor(pr, this.snapshot!, window, header, this.tickCount))
      this.send(chunk);
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    this.heardFrom(pr);
    const next = onSnapshotResponse(pr, m);
    if (next === "done") {
      pr.maybeUpdate(m.snapshotIndex);
      pr.becomeProbe();
      this.replicateTo(m.from, true);
    } else if (next === "more") {
      this.sendSnapshotChunks(pr);
    }
  }

  /** Chunks get lost: resend from the last acknowledged offset after an election timeout of silence. */
  private retransmitSnapshots(): void {
    for (const pr of this.progress.values()) {
      if (pr.state !== "snapshot") continue;
      const index = this.snapshot!.metadata.index;
      if (rewindIfSilent(pr, index, this.tickCount, this.config.electionTimeoutMinTicks))
        this.sendSnapshotChunks(pr);
    }
  }

  // -------------------------------------------------------------------------
  // ReadIndex (Raft thesis §6.4)
  // -------------------------------------------------------------------------

  private leaderReadIndex(requestId: number, from: NodeId): void {
    if (this.reads.size >= this.config.maxPendingReads) {
      this.answerRead(requestId, from, -1);
      return;
    }
    if (this.log.term(this.log.committed) !== this.term) {
      // Until this leader commits in its own term it does not know the true commit index.
      this.reads.awaitCommit({ requestId, from });
      return;
    }
    if (voters(this.membership).length === 1) {
      this.answerRead(requestId, from, this.log.committed);
      return;
    }
    this.bcastHeartbeat(this.reads.track({ requestId, from }, this.log.committed, this.id));
  }

  private ackReads(from: NodeId, seq: number): void {
    const released = this.reads.ack(
      from,
      seq,
      (id) => isVoter(this.membership, id),
      quorumSize(this.membership),
    );
    for (const { read, index } of released) this.answerRead(read.requestId, read.from, index);
  }

  private answerRead(requestId: number, from: NodeId, index: number): void {
    if (from === this.id) this.readStates.push({ requestId, index });
    else this.send({ ...this.header("readIndexResp", from), requestId, index });
  }

  private failPendingReads(): void {
    for (const r of this.reads.takeAll()) this.answerRead(r.requestId, r.from, -1);
  }

  // -------------------------------------------------------------------------
  // Ready / advance
  // -------------------------------------------------------------------------

  private currentHardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  hasReady(o?: ReadyOptions): boolean {
    if (this.outstanding !== null) return false;
    const hs = this.currentHardState();
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.log.stableIndex < this.log.lastIndex() ||
      (o?.takeCommitted !== false && this.log.applied < this.log.committed) ||
      this.pendingInstall !== null ||
      this.pendingLocalSnapshot !== null ||
      !sameHardState(hs, this.persistedHardState)
    );
  }

  /** Take what must be persisted, sent and applied. Call advance() when done. */
  ready(o?: ReadyOptions): Ready {
    assert(this.outstanding === null, "ready() called before advance() of the previous Ready");
    const hs = this.currentHardState();
    const entries =
      this.log.stableIndex < this.log.lastIndex()
        ? this.log.slice(this.log.stableIndex + 1, this.log.lastIndex() + 1)
        : [];
    const committedEntries =
      o?.takeCommitted !== false && this.log.applied < this.log.committed
        ? this.log.slice(this.log.applied + 1, this.log.committed + 1, this.config.maxApplyEntries)
        : [];
    const rd: Ready = {
      hardState: sameHardState(hs, this.persistedHardState) ? null : hs,
      entries,
      snapshot: this.pendingInstall,
      committedEntries,
      messages: this.msgs,
      readStates: this.readStates,
      compactedThrough: this.pendingCompactedThrough,
      localSnapshot: this.pendingLocalSnapshot,
    };
    this.msgs = [];
    this.readStates = [];
    this.pendingInstall = null;
    this.pendingLocalSnapshot = null;
    this.pendingCompactedThrough = 0;
    this.outstanding = rd;
    return rd;
  }

  /**
   * While a Ready's write is in flight, take the messages that need not wait
   * for it: a leader's appends, heartbeats and snapshot chunks (they do not
   * depend on the leader's own disk, thesis §10.2.1), and heartbeat responses
   * whose term is already durable. Without this, one slow write (a large local
   * snapshot) silenced the leader's heartbeats, and the followers' answers,
   * for longer than an election timeout, and a healthy leader was deposed.
   */
  takeEarlyMessages(): Message[] {
    if (this.msgs.length === 0) return [];
    const termDurable = this.term === this.persistedHardState.term;
    const early: Message[] = [];
    const rest: Message[] = [];
    for (const m of this.msgs) {
      const leaderSafe = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
      (leaderSafe || (m.type === "heartbeatResp" && termDurable) ? early : rest).push(m);
    }
    this.msgs = rest;
    return early;
  }

  /** The Ready's writes are durable and its committed entries applied. */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, "advance() of a Ready that is not the outstanding one");
    this.outstanding = null;
    if (rd.hardState !== null) this.persistedHardState = rd.hardState;
    const last = rd.entries[rd.entries.length - 1];
    // If our tail was replaced meanwhile, the terms differ and nothing becomes stable.
    if (last !== undefined && this.log.matchTerm(last.index, last.term)) {
      this.log.stableIndex = Math.max(this.log.stableIndex, last.index);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.log.applied) continue; // superseded by an installed snapshot
      this.log.applied = e.index;
      if (e.type === EntryType.ConfChange) this.applyConfChangeEntry(e);
    }
    if (this.role === "leader") {
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.stableIndex) && this.maybeCommit())
        this.bcastAppend();
    }
  }

  private applyConfChangeEntry(e: Entry): void {
    const cc = decodeConfChange(e.data);
    const before = this.membership;
    this.membership = applyConfChange(this.membership, cc);
    // Bounded: pruned at every snapshot, and at most one change per applied entry in between.
    this.confHistory.push({ index: e.index, before, membership: this.membership });
    if (this.role !== "leader") {
      if (this.role === "follower" || this.role === "learner")
        this.role = this.promotable() ? "follower" : "learner";
      // A (pre)candidate that has just applied its own removal must stop campaigning:
      // otherwise the votes in flight could make a non-member leader (found by the
      // simulation campaign, seed 9860; becomeLeader crashed on its missing progress).
      else if (!this.promotable()) this.becomeFollower(this.term, null);
      return;
    }
    if (cc.type === "remove" && cc.nodeId === this.id) {
      // A removed leader steps down; the rest elect a new one.
      this.becomeFollower(this.term, null);
      return;
    }
    if (cc.type === "addLearner") {
      const pr = new Progress(cc.nodeId, "learner", this.log.lastIndex() + 1);
      pr.recentActive = true;
      this.progress.set(cc.nodeId, pr);
    } else if (cc.type === "promote") {
      const pr = this.progress.get(cc.nodeId);
      if (pr !== undefined) pr.role = "voter";
    } else {
      this.progress.delete(cc.nodeId);
      if (this.leadTransferee === cc.nodeId) this.leadTransferee = null;
    }
    // The quorum changed: maybe more is committed now.
    if (this.maybeCommit()) this.bcastAppend();
    else if (cc.type === "addLearner") this.replicateTo(cc.nodeId, true);
  }

  // -------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------

  status(): RaftStatus {
    const peers: PeerStatus[] = [];
    if (this.role === "leader") {
      for (const pr of this.progress.values()) {
        if (pr.id === this.id) continue;
        peers.push({
          id: pr.id,
          address: findMember(this.membership, pr.id)?.address ?? "",
          role: pr.role,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          lastContactTick: pr.lastContactTick,
          inflight: pr.inflightCount(),
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.snapshot?.metadata.index ?? 0,
      tick: this.tickCount,
      membership: this.membership,
      leadTransferee: this.leadTransferee,
      peers,
    };
  }

  /** Cheaper than status().role for callers that ask after every Ready. */
  isLeader(): boolean {
    return this.role === "leader";
  }

  /** The latest snapshot this node holds (for tests and for the runtime's restore path). */
  latestSnapshot(): Snapshot | null {
    return this.snapshot;
  }

  /** Term of the entry at `index` if still in the log (tests use it to check safety). */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  firstLogIndex(): number {
    return this.log.firstIndex();
  }

  // -------------------------------------------------------------------------

  private header<T extends Message["type"]>(type: T, to: NodeId) {
    return { type, from: this.id, to, term: this.term } as const;
  }

  private send(m: Message): void {
    assert(m.to !== this.id, "a node never sends to itself");
    this.msgs.push(m);
  }
}

function entryBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

function sumBytes(items: readonly Uint8Array[]): number {
  let n = 0;
  for (const d of items) n += d.byteLength;
  return n;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

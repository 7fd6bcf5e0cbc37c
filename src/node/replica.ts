import type { Logger } from "pino";
import {
  EntryType,
  leaderSafeBeforeWrite,
  RaftCore,
  type ConfChange,
  type Message,
  type NodeId,
  type Ready,
  type ReadyOptions,
} from "../raft/index.js";
import type { RaftStorage } from "../storage/index.js";
import type { Transport } from "../transport/index.js";
import type { NodeMetrics } from "../observability/metrics.js";
import { ApplyQueue, type ApplyItem } from "./apply-queue.js";
import { NodeError, notLeader, proposalQueueFull, proposalRefused } from "./errors.js";
import { LeaderWatch } from "./leader-watch.js";
import { ProposalWaiters } from "./proposal-waiters.js";
import { PendingReads } from "./pending-reads.js";
import { PeerRoundTrips } from "./peer-round-trips.js";
import { DiskStallHandoff } from "./disk-stall-handoff.js";
import { ReadyWrites } from "./ready-writes.js";
import { SnapshotScheduler } from "./snapshot-scheduler.js";
import { STALL_WARN_MS, StallReporter } from "./stall-reporter.js";
import { WallClockTicker } from "./ticker.js";
import { restoreState, type StateMachine } from "./state-machine.js";

export interface ReplicaOptions {
  readonly core: RaftCore;
  readonly storage: RaftStorage;
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  readonly logger: Logger;
  readonly metrics: NodeMetrics | null;
  /** Milliseconds per core tick. */
  readonly tickMs: number;
  /** Client proposals accepted and not yet applied; beyond it: RESOURCE_EXHAUSTED. */
  readonly maxPendingProposals: number;
  /** A proposal not applied within this long answers DEADLINE_EXCEEDED. */
  readonly proposalTimeoutMs: number;
  /** Applied entries between snapshots. */
  readonly snapshotThreshold: number;
  /** Addresses to reach members that the configuration does not name yet (join mode). */
  readonly seedPeers: ReadonlyMap<NodeId, string>;
  /** Called once on a storage failure or a broken invariant: the process must exit non-zero. */
  readonly onFatal: (error: unknown) => void;
  /** Called after every Ready handled (leadership changes, applied progress). */
  readonly onProgress?: () => void;
  /** Committed entries waiting to be applied at which the apply queue is full (default 100,000; see ApplyQueue). */
  readonly applyPauseItems?: number;
  /** A leader whose own write has been in flight this long hands leadership on (default 5,000; see DiskStallHandoff). */
  readonly diskStallHandoffMs?: number;
}

interface QueuedProposal {
  readonly data: Uint8Array;
  readonly deadlineMs: number;
  readonly counted: boolean;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/** Longest stretch of applying before the event loop gets a turn (see ApplyQueue). */
const APPLY_SLICE_MS = 10;
/**
 * While this many committed entries, or bytes of them, wait to be applied (a
 * follower catching up faster than it can apply), the Ready loop takes no more
 * committed entries from the core; it goes on with everything else.
 */
const APPLY_PAUSE_ITEMS = 100_000;
const APPLY_PAUSE_BYTES = 64 * 1024 * 1024;
/** Never reached: one Ready adds at most maxApplyEntries past the pause mark. */
const MAX_APPLY_BACKLOG = 1_000_000;
const TAKE_NO_COMMITTED: ReadyOptions = { takeCommitted: false };
/** Most linearizable reads waiting at once. */
const MAX_PENDING_READS = 10_000;

/**
 * The runtime around one RaftCore: ticks it on a timer, persists each Ready
 * in one synced write (group commit), sends its messages, applies committed
 * entries to the state machine, takes snapshots in slices, and turns
 * proposals into promises that settle when the entry is applied.
 */
export class Replica {
  readonly core: RaftCore;
  private readonly o: ReplicaOptions;
  private ticker: WallClockTicker | null = null;
  private readonly stalls: StallReporter;
  private loopScheduled = false;
  private inLoop = false;
  private stopped = false;
  private fatal = false;
  private readonly queue: QueuedProposal[] = [];
  private flushScheduled = false;
  /** Proposals in the log awaiting apply, by index (insertion order = deadline order). */
  private readonly waiters = new ProposalWaiters((counted, answer) => this.settle(counted, answer));
  private pendingCounted = 0;
  private readonly reads: PendingReads;
  private readonly applyQueue: ApplyQueue;
  private readonly snapshots: SnapshotScheduler;
  private readonly leaderWatch = new LeaderWatch();
  private peersKey = "";
  /** A Ready's write is in flight: heartbeats and appends leave through sendEarlyMessages meanwhile. */
  private writing = false;
  /** What each Ready writes (see ReadyWrites: commit-only hard states ride along). */
  private readonly writes = new ReadyWrites();
  /** raftq_peer_append_round_trip_seconds: leader appends to each peer until acknowledged. */
  private readonly roundTrips: PeerRoundTrips;
  private readonly stallHandoff: DiskStallHandoff;

  constructor(options: ReplicaOptions) {
    this.o = options;
    this.core = options.core;
    this.reads = new PendingReads(MAX_PENDING_READS, options.proposalTimeoutMs);
    this.stallHandoff = DiskStallHandoff.forCore(options.core.config, options.diskStallHandoffMs);
    this.roundTrips = new PeerRoundTrips((peer, s) =>
      options.metrics?.peerAppendRoundTripSeconds.observe({ peer }, s),
    );
    this.stalls = new StallReporter(options.logger, options.metrics, () => ({
      role: this.core.status().role,
      snapshot: this.snapshots.activity,
      writing: this.writing,
      applyBacklog: this.applyQueue.length,
    }));
    this.applyQueue = new ApplyQueue({
      sliceMs: APPLY_SLICE_MS,
      pauseItems: options.applyPauseItems ?? APPLY_PAUSE_ITEMS,
      pauseBytes: APPLY_PAUSE_BYTES,
      maxItems: MAX_APPLY_BACKLOG,
      apply: (item) => this.applyItem(item),
      // A snapshot is copying the state's changing parts; or the node stopped (nothing more to apply).
      held: () => this.snapshots.holdsApply || this.stopped,
      onRoom: () => this.kick(),
      afterSlice: () => {
        this.reads.applied(this.o.stateMachine.appliedIndex);
        this.o.metrics?.proposalsPending.set(this.pendingCounted);
      },
    });
    this.snapshots = new SnapshotScheduler({
      core: options.core,
      stateMachine: options.stateMachine,
      logger: options.logger,
      metrics: options.metrics,
      snapshotThreshold: options.snapshotThreshold,
      guard: (fn) => this.guard(fn),
      isStopped: () => this.stopped,
      onDone: () => this.kick(),
      onCopied: () => {
        this.drainApply();
        this.kick();
      },
      ...(options.storage.stageSnapshot !== undefined && {
        stage: (index: number, data: Uint8Array) => {
          // The index is applied, hence in the log or the latest snapshot; a term is always known.
          const term = this.core.termAt(index);
          if (term === undefined) throw new Error(`no term for the snapshot index ${index}`);
          return options.storage.stageSnapshot!(index, term, data);
        },
      }),
    });
  }

  start(): void {
    this.o.transport.onMessage((m: Message) => {
      if (this.stopped) return;
      this.roundTrips.received(m, performance.now());
      this.guard(() => this.core.step(m));
      if (this.writing) {
        this.sendEarlyMessages();
        this.applyEarly();
      }
      this.kick();
    });
    this.updatePeers();
    // A late timer callback runs the ticks that are due, up to 3 (see WallClockTicker).
    this.ticker = new WallClockTicker({
      tickMs: this.o.tickMs,
      maxCatchUpTicks: 3,
      onTick: () => this.onTick(),
      stallMs: STALL_WARN_MS,
      onStall: (gapMs) => this.stalls.report(gapMs),
    });
    this.ticker.start();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ticker?.stop();
    this.ticker = null;
    const err = new NodeError("UNAVAILABLE", "the node is shutting down");
    for (const p of this.queue.splice(0)) p.reject(err);
    this.waiters.rejectAll(err);
    this.reads.rejectAll(err);
    // Let an in-progress Ready finish its write.
    for (let i = 0; i < 200 && this.inLoop; i++) await new Promise((r) => setTimeout(r, 5));
  }

  isLeader(): boolean {
    return this.core.isLeader();
  }

  leaderId(): NodeId | null {
    return this.core.status().leader;
  }

  /** Proposals this leader holds (queued or in the log, not yet applied). */
  pendingProposals(): number {
    return this.pendingCounted;
  }

  /**
   * Propose a command; resolves with the state machine's result once the entry
   * is applied here. `internal` proposals (the leader's own duties) do not
   * count against the client limit.
   */
  propose(data: Uint8Array, internal = false): Promise<unknown> {
    if (this.stopped) return Promise.reject(new NodeError("UNAVAILABLE", "the node is shutting down"));
    if (!this.isLeader()) return Promise.reject(notLeader(this.leaderId()));
    if (!internal && this.pendingCounted >= this.o.maxPendingProposals) {
      this.o.metrics?.proposalsRejected.inc({ reason: "queue_full" });
      return Promise.reject(proposalQueueFull(this.pendingCounted, this.o.maxPendingProposals));
    }
    return new Promise((resolve, reject) => {
      if (!internal) this.pendingCounted++;
      this.queue.push({
        data,
        deadlineMs: Date.now() + this.o.proposalTimeoutMs,
        counted: !internal,
        resolve,
        reject,
      });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Everything proposed in this turn of the event loop becomes one append.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0);
    const res = this.guard(() => this.core.propose(batch.map((p) => p.data)));
    if (res === undefined) return;
    if (!res.ok) {
      const err = proposalRefused(res);
      this.o.metrics?.proposalsRejected.inc({ reason: res.reason }, batch.length);
      for (const p of batch) this.settle(p.counted, () => p.reject(err));
      return;
    }
    const now = Date.now();
    batch.forEach((p, i) => {
      this.waiters.add({
        index: res.firstIndex + i,
        term: res.term,
        deadlineMs: p.deadlineMs,
        startedMs: now,
        counted: p.counted,
        resolve: p.resolve,
        reject: p.reject,
      });
    });
    this.o.metrics?.proposalsPending.set(this.pendingCounted);
    if (this.writing) this.sendEarlyMessages(); // pipelined: followers need not wait for our fsync
    this.kick();
  }

  /** Every peer message leaves through here: the leader's appends start round-trip probes. */
  private send(messages: Message[]): void {
    this.roundTrips.sent(messages, performance.now());
    this.o.transport.send(messages);
  }

  private settle(counted: boolean, fn: () => void): void {
    if (counted) this.pendingCounted--;
    fn();
  }

  /**
   * A linearizable read point: resolves once this node has applied everything
   * committed before the call (Raft thesis §6.4, ReadIndex).
   */
  readIndex(): Promise<number> {
    return this.reads.add(Date.now(), (id) => {
      this.guard(() => this.core.readIndex(id));
      this.kick();
    });
  }

  /** Propose a membership change; resolves with its log index once applied here. */
  proposeConfChange(cc: ConfChange): Promise<number> {
    if (!this.isLeader()) return Promise.reject(notLeader(this.leaderId()));
    const res = this.guard(() => this.core.proposeConfChange(cc));
    if (res === undefined) return Promise.reject(new NodeError("INTERNAL", "the node stopped"));
    if (!res.ok) {
      const code = res.reason === "notLeader" ? "UNAVAILABLE" : "FAILED_PRECONDITION";
      return Promise.reject(new NodeError(code, res.detail, res.leader, res.reason));
    }
    this.kick();
    return new Promise((resolve, reject) => {
      this.waiters.add({
        index: res.firstIndex,
        term: res.term,
        deadlineMs: Date.now() + this.o.proposalTimeoutMs,
        startedMs: Date.now(),
        counted: false,
        resolve: () => resolve(res.firstIndex),
        reject,
      });
    });
  }

  transferLeadership(to: NodeId): void {
    const r = this.core.transferLeadership(to);
    if (!r.ok) throw new NodeError("FAILED_PRECONDITION", r.reason);
    this.kick();
  }

  private onTick(): void {
    if (this.stopped) return;
    this.guard(() => this.core.tick());
    if (this.writing) {
      this.handOffIfDiskStalled();
      this.sendEarlyMessages();
    }
    this.expire(Date.now());
    this.kick();
  }

  /** Our own write is stuck while we lead: hand leadership to a healthy follower (DiskStallHandoff). */
  private handOffIfDiskStalled(): void {
    const to = this.stallHandoff.due(performance.now(), () => this.core.status());
    if (to === null) return;
    const r = this.guard(() => this.core.transferLeadership(to));
    this.o.logger.warn(
      { to, ok: r?.ok, reason: r !== undefined && !r.ok ? r.reason : undefined },
      "this node's disk has held a write for too long: handing leadership to a follower",
    );
  }

  /** Proposals and reads past their deadline answer DEADLINE_EXCEEDED (the entry may still commit later). */
  private expire(now: number): void {
    const expired = this.waiters.expire(now, this.o.proposalTimeoutMs);
    if (expired > 0) this.o.metrics?.proposalsRejected.inc({ reason: "timeout" }, expired);
    this.reads.expire(now);
  }

  /** Send what need not wait for the write in flight (see RaftCore.takeEarlyMessages). */
  private sendEarlyMessages(): void {
    const early = this.guard(() => this.core.takeEarlyMessages());
    if (early !== undefined && early.length > 0) this.send(early);
  }

  /**
   * Apply what became committed while our write is in flight (an acknowledgement
   * or a leader's commit index arrived): a quorum holds it durably already, and
   * the clients waiting for it need not wait for this node's fsync too. The
   * Ready in flight handed its own committed entries to the apply queue before
   * its write (handleReady), as takeEarlyCommitted requires.
   */
  private applyEarly(): void {
    const entries = this.guard(() =>
      this.core.takeEarlyCommitted(this.applyQueue.full ? TAKE_NO_COMMITTED : undefined),
    );
    if (entries === undefined || entries.length === 0) return;
    for (const e of entries) this.applyQueue.push({ kind: "entry", entry: e });
    this.drainApply();
  }

  kick(): void {
    if (this.loopScheduled || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      void this.loop();
    });
  }

  private async loop(): Promise<void> {
    if (this.inLoop || this.fatal) return;
    this.inLoop = true;
    try {
      while (!this.stopped && !this.fatal) {
        // A full apply queue takes no more committed entries; everything else goes on
        // (persist, acknowledge, answer heartbeats), and the queue kicks the loop once
        // it has room again.
        const opts = this.applyQueue.full ? TAKE_NO_COMMITTED : undefined;
        if (!this.core.hasReady(opts)) break;
        await this.handleReady(this.core.ready(opts));
      }
    } catch (e) {
      this.die(e);
    } finally {
      this.inLoop = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    // A leader's appends may leave before its own write is durable (Raft
    // thesis §10.2.1): it counts itself towards commit only after advance().
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) (leaderSafeBeforeWrite(m) ? early : late).push(m);
    // Appends carrying entries leave first: followers' fsyncs are on the commit
    // path. Without entries they only tell followers the new commit index, and
    // the waiting clients come first (apply and answer, then send; Raft
    // tolerates the reordering against later appends).
    const carriesEntries = rd.entries.length > 0 || rd.snapshot !== null || rd.localSnapshot !== null;
    if (early.length > 0 && carriesEntries) this.send(early);

    // Apply before this batch's fsync: committed entries are durable on a quorum
    // already (a leader counts itself only after its own write, in advance()), so
    // they need not wait for the entries being written now. At one request in
    // flight, waiting doubled the latency of every write.
    if (rd.snapshot !== null) {
      this.applyQueue.push({ kind: "restore", snapshot: rd.snapshot });
      this.o.metrics?.snapshotsInstalled.inc();
    }
    for (const e of rd.committedEntries) this.applyQueue.push({ kind: "entry", entry: e });
    this.drainApply();
    // The clients' answers are written by promise continuations: let them go first.
    if (early.length > 0 && !carriesEntries) setImmediate(() => this.send(early));

    const batch = this.writes.batchFor(rd);
    if (batch !== null) {
      const t0 = performance.now();
      this.writing = true;
      this.stallHandoff.writeStarted(t0);
      try {
        await this.o.storage.write(batch); // a failure is fatal: loop() catches it and exits
      } finally {
        this.writing = false;
        this.stallHandoff.writeEnded();
      }
      this.o.metrics?.fsyncSeconds.observe((performance.now() - t0) / 1000);
      this.writes.persisted(batch);
      if (rd.entries.length > 0) this.o.metrics?.appendBatchEntries.observe(rd.entries.length);
      if (rd.localSnapshot !== null) this.o.metrics?.snapshotBytes.set(rd.localSnapshot.data.byteLength);
    }
    if (late.length > 0) this.send(late);

    this.reads.answered(rd.readStates, () => notLeader(this.leaderId()));
    this.core.advance(rd);
    this.drainApply();
    this.snapshots.maybeStart();
    this.afterReady();
  }

  private drainApply(): void {
    this.applyQueue.drain();
    // Reads confirmed since the last slice may wait for nothing more than what is applied already.
    this.reads.applied(this.o.stateMachine.appliedIndex);
  }

  private applyItem(item: ApplyItem): Iterator<unknown> | void {
    const sm = this.o.stateMachine;
    if (item.kind === "restore") {
      const { data, metadata } = item.snapshot;
      return restoreState(sm, data, metadata.index, () => {
        this.snapshots.restored(data.byteLength);
        this.waiters.failThrough(metadata.index);
        this.o.logger.info({ index: metadata.index, bytes: data.byteLength }, "snapshot installed");
      });
    }
    const e = item.entry;
    if (e.index <= sm.appliedIndex) return;
    this.snapshots.applied(e.data.byteLength);
    let result: unknown;
    if (e.type === EntryType.Normal && e.data.byteLength > 0) result = sm.apply(e.index, e.data);
    else sm.skip(e.index);
    const startedMs = this.waiters.applied(e.index, e.term, result, () => this.leaderId());
    if (startedMs !== null) this.o.metrics?.proposalCommitSeconds.observe((Date.now() - startedMs) / 1000);
  }

  private afterReady(): void {
    const st = this.core.status();
    const change = this.leaderWatch.observe(st.leader, st.term);
    if (change.newLeadership) this.o.metrics?.leaderChanges.inc();
    if (change.changed) {
      this.o.logger.info({ term: st.term, role: st.role, leader: st.leader }, "leader changed");
      if (st.role !== "leader") {
        // Proposals still queued can no longer be appended by us.
        const err = notLeader(st.leader);
        for (const p of this.queue.splice(0)) this.settle(p.counted, () => p.reject(err));
      }
    }
    this.updatePeers();
    this.o.onProgress?.();
  }

  private updatePeers(): void {
    const st = this.core.status();
    const peers = new Map<NodeId, string>(this.o.seedPeers);
    for (const m of st.membership.members) peers.set(m.id, m.address);
    peers.delete(this.core.id);
    const key = [...peers].map(([k, v]) => `${k}=${v}`).join(",");
    if (key !== this.peersKey) {
      this.peersKey = key;
      this.o.transport.setPeers(peers);
      this.roundTrips.retain(peers);
    }
  }

  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.die(e);
      return undefined;
    }
  }

  private die(e: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    this.o.logger.fatal({ err: e }, "fatal error: stopping the node");
    this.o.onFatal(e);
  }
}

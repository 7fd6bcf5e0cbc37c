/**
 * A thin, exact harness for scenario tests (etcd's raft_test.go `network`):
 * RaftCore instances whose Ready batches are "persisted" at once, whose
 * messages wait in one queue until the test delivers them, and whose links
 * the test can cut. Nothing happens unless the test asks for it.
 */
import {
  EntryType,
  RaftCore,
  type Entry,
  type HardState,
  type Member,
  type Message,
  type NodeId,
  type PersistedRaftState,
  type RaftConfigInput,
  type ReadState,
  type Snapshot,
} from "../../src/raft/index.js";
import { Prng } from "../sim/prng.js";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export function voterMembers(ids: readonly NodeId[]): Member[] {
  return ids.map((id) => ({ id, address: `${id}:7700`, role: "voter" as const }));
}

/** The bootstrap snapshot every member of a new cluster starts from (index 1, term 1). */
export function bootSnapshot(members: readonly Member[]): Snapshot {
  return { metadata: { index: 1, term: 1, membership: { members: [...members] } }, data: new Uint8Array(0) };
}

/** Normal entries at consecutive indexes from `first`, with the given terms. */
export function entriesWithTerms(first: number, terms: readonly number[], tag = "x"): Entry[] {
  return terms.map((term, i) => ({
    term,
    index: first + i,
    type: EntryType.Normal,
    data: enc(`${tag}${first + i}@${term}`),
  }));
}

/** Persisted state of a node of `members` whose log after the bootstrap snapshot holds `terms`. */
export function persistedLog(
  members: readonly Member[],
  terms: readonly number[],
  hardState: Partial<HardState> = {},
  tag = "x",
): PersistedRaftState {
  return {
    hardState: { term: Math.max(1, ...terms), vote: null, commit: 1, ...hardState },
    snapshot: bootSnapshot(members),
    entries: entriesWithTerms(2, terms, tag),
  };
}

export interface ManualOptions {
  ids: readonly NodeId[];
  raft?: Partial<RaftConfigInput>;
  seed?: number;
  /** Start some nodes from a given disk (others bootstrap from `ids`). */
  persisted?: Partial<Record<NodeId, PersistedRaftState>>;
  /** Extra nodes started in join mode (no initial members). */
  joining?: readonly NodeId[];
}

export class Manual {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly members: Member[];
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Every message ever sent (delivered or not), for counting. */
  readonly sent: Message[] = [];
  readonly applied = new Map<NodeId, Entry[]>();
  readonly installed = new Map<NodeId, Snapshot[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Directed cuts "from>to": messages over a cut link are dropped at delivery. */
  private readonly cuts = new Set<string>();
  /** Extra drop rule, consulted at delivery. */
  drop: (m: Message) => boolean = () => false;
  /** Nodes whose application takes no committed entries (a full apply queue). */
  readonly applyPaused = new Set<NodeId>();
  readonly rng: Prng;
  private readonly raftInput: Partial<RaftConfigInput>;

  constructor(opts: ManualOptions) {
    this.rng = new Prng(opts.seed ?? 1);
    this.members = voterMembers(opts.ids);
    this.raftInput = opts.raft ?? {};
    const all = [...opts.ids, ...(opts.joining ?? [])];
    for (const id of all) {
      const rng = this.rng.fork();
      const joining = opts.joining?.includes(id) ?? false;
      const core = new RaftCore(
        {
          id,
          initialMembers: joining ? [] : this.members,
          random: () => rng.next(),
          ...opts.raft,
        },
        opts.persisted?.[id],
      );
      this.cores.set(id, core);
      this.applied.set(id, []);
      this.installed.set(id, []);
      this.readStates.set(id, []);
    }
    this.pumpAll();
  }

  /**
   * Restart `id`: a new core from `persisted` (undefined = a wiped disk, which
   * bootstraps from the initial members as a fresh node would). Messages in
   * flight to or from the old process are lost.
   */
  restart(id: NodeId, persisted?: PersistedRaftState): RaftCore {
    this.core(id); // throws for an unknown id
    const rng = this.rng.fork();
    const core = new RaftCore(
      { id, initialMembers: this.members, random: () => rng.next(), ...this.raftInput },
      persisted,
    );
    this.cores.set(id, core);
    // What the old process applied is gone with it; the new one applies from its snapshot.
    this.applied.set(id, []);
    this.installed.set(id, []);
    this.readStates.set(id, []);
    this.take((m) => m.to === id || m.from === id);
    this.pump(id);
    return core;
  }

  core(id: NodeId): RaftCore {
    const c = this.cores.get(id);
    if (c === undefined) throw new Error(`no node ${id}`);
    return c;
  }

  /** Drain a node's Ready batches: persist at once, queue its messages, apply. */
  pump(id: NodeId): void {
    const c = this.core(id);
    const opts = this.applyPaused.has(id) ? { takeCommitted: false } : undefined;
    while (c.hasReady(opts)) {
      const rd = c.ready(opts);
      for (const m of rd.messages) {
        this.queue.push(m);
        this.sent.push(m);
      }
      if (rd.snapshot !== null) this.installed.get(id)!.push(rd.snapshot);
      this.applied.get(id)!.push(...rd.committedEntries);
      this.readStates.get(id)!.push(...rd.readStates);
      c.advance(rd);
    }
  }

  pumpAll(): void {
    for (const id of this.cores.keys()) this.pump(id);
  }

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  /** Cut every link to and from `id`. */
  isolate(id: NodeId): void {
    for (const other of this.cores.keys()) {
      if (other === id) continue;
      this.cut(id, other);
      this.cut(other, id);
    }
  }

  heal(): void {
    this.cuts.clear();
  }

  private dropped(m: Message): boolean {
    return this.cuts.has(`${m.from}>${m.to}`) || this.drop(m);
  }

  /** Take the queued messages (optionally only those matching) out of the queue without delivering. */
  take(pred: (m: Message) => boolean = () => true): Message[] {
    const out = this.queue.filter(pred);
    this.queue = this.queue.filter((m) => !pred(m));
    return out;
  }

  /** Deliver specific messages (cuts and the drop rule still apply), then pump. */
  deliver(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const c = this.cores.get(m.to);
      if (c !== undefined && !this.dropped(m)) c.step(m);
    }
    this.pumpAll();
  }

  /** Deliver everything, including what that causes, until quiet. Returns the messages delivered. */
  flush(maxRounds = 10_000): Message[] {
    const delivered: Message[] = [];
    this.pumpAll();
    for (let i = 0; i < maxRounds && this.queue.length > 0; i++) {
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const c = this.cores.get(m.to);
        if (c === undefined || this.dropped(m)) continue;
        c.step(m);
        delivered.push(m);
      }
      this.pumpAll();
    }
    if (this.queue.length > 0) throw new Error("flush: the cluster did not go quiet");
    return delivered;
  }

  tick(id: NodeId, n = 1): void {
    const c = this.core(id);
    for (let i = 0; i < n; i++) c.tick();
    this.pump(id);
  }

  /** Tick every node once (no delivery). */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.cores.keys()) this.tick(id);
  }

  /**
   * Let a minimum election timeout pass on `ids` (their leader lease expires)
   * and lose whatever they sent meanwhile (e.g. their own pre-votes).
   */
  expireLease(ids: readonly NodeId[]): void {
    for (const id of ids) this.tick(id, this.core(id).config.electionTimeoutMinTicks);
    this.take((m) => ids.includes(m.from));
  }

  /** Make `id` campaign (tick it alone until its election timer fires), then deliver until quiet. */
  campaign(id: NodeId): void {
    const c = this.core(id);
    const start = c.status().role;
    for (let i = 0; i < 10 * c.config.electionTimeoutMaxTicks; i++) {
      this.tick(id);
      if (c.status().role !== start) break;
    }
    this.flush();
  }

  /** Elect `id` (it must be able to win) and let replication of its no-op settle. */
  elect(id: NodeId): RaftCore {
    this.campaign(id);
    const c = this.core(id);
    if (c.status().role !== "leader") throw new Error(`${id} did not win: ${c.status().role}`);
    return c;
  }

  /** Messages of one type sent so far, optionally only to one node. */
  sentOf<T extends Message["type"]>(type: T, to?: NodeId): (Message & { type: T })[] {
    return this.sent.filter(
      (m): m is Message & { type: T } => m.type === type && (to === undefined || m.to === to),
    );
  }

  /** Data of the normal, non-empty entries `id` applied, in order. */
  appliedData(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => dec(e.data));
  }
}

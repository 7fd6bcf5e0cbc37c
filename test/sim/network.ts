import type { Message, NodeId } from "../../src/raft/index.js";
import type { Prng } from "./prng.js";

interface InFlight {
  readonly deliverAt: number;
  readonly seq: number;
  readonly msg: Message;
}

/**
 * A simulated network: per-message delay (which reorders), loss,
 * duplication, and directed link cuts for symmetric or asymmetric
 * partitions. Everything it decides comes from the seeded PRNG.
 */
export class SimNetwork {
  dropRate = 0;
  duplicateRate = 0;
  delayMinTicks = 0;
  delayMaxTicks = 2;
  /** Directed cuts "from>to". */
  private readonly cuts = new Set<string>();
  private heap: InFlight[] = [];
  private seq = 0;
  sent = 0;
  delivered = 0;
  dropped = 0;
  /** Bound: a runaway sender would exhaust memory; fail the run instead. */
  readonly maxInFlight = 200_000;

  constructor(private readonly rng: Prng) {}

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  /** Cut both directions between every node of `a` and every node of `b`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a)
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
  }

  heal(): void {
    this.cuts.clear();
  }

  hasCuts(): boolean {
    return this.cuts.size > 0;
  }

  send(msg: Message, now: number): void {
    this.sent++;
    if (this.isCut(msg.from, msg.to) || (this.dropRate > 0 && this.rng.chance(this.dropRate))) {
      this.dropped++;
      return;
    }
    this.enqueue(msg, now);
    if (this.duplicateRate > 0 && this.rng.chance(this.duplicateRate)) this.enqueue(msg, now);
  }

  private enqueue(msg: Message, now: number): void {
    if (this.heap.length >= this.maxInFlight)
      throw new Error("simulated network: too many messages in flight");
    const delay =
      this.delayMaxTicks > this.delayMinTicks
        ? this.rng.int(this.delayMinTicks, this.delayMaxTicks)
        : this.delayMinTicks;
    this.push({ deliverAt: now + delay, seq: this.seq++, msg });
  }

  /** Messages due at or before `now`, in delivery order; cut links drop them. */
  due(now: number): Message[] {
    const out: Message[] = [];
    while (this.heap.length > 0 && this.heap[0]!.deliverAt <= now) {
      const m = this.pop().msg;
      if (this.isCut(m.from, m.to)) {
        this.dropped++;
        continue;
      }
      this.delivered++;
      out.push(m);
    }
    return out;
  }

  inFlight(): number {
    return this.heap.length;
  }

  // A binary heap ordered by (deliverAt, seq).
  private less(a: InFlight, b: InFlight): boolean {
    return a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && a.seq < b.seq);
  }

  private push(x: InFlight): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): InFlight {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

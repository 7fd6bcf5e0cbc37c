import type { ReadState } from "../raft/index.js";
import { NodeError } from "./errors.js";

interface PendingRead {
  readonly deadlineMs: number;
  /** The read point once the core answered; -2 while waiting for it. */
  index: number;
  resolve(index: number): void;
  reject(error: unknown): void;
}

/**
 * Linearizable reads waiting on this node (Raft thesis §6.4, ReadIndex): each
 * first waits for the core to fix its read point (the leader's commit index
 * once a quorum confirmed its leadership), then for this node to apply up to
 * it. Bounded; each read has a deadline.
 */
export class PendingReads {
  private readonly reads = new Map<number, PendingRead>();
  private nextId = 1;

  constructor(
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  /** Registers a read; `ask(id)` passes its id to the core. Resolves with the read point once applied. */
  add(nowMs: number, ask: (id: number) => void): Promise<number> {
    if (this.reads.size >= this.maxPending)
      return Promise.reject(
        new NodeError(
          "RESOURCE_EXHAUSTED",
          `${this.reads.size} linearizable reads are pending; retry with backoff`,
        ),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.reads.set(id, { deadlineMs: nowMs + this.timeoutMs, index: -2, resolve, reject });
      ask(id);
    });
  }

  /** The core's answers from a Ready: a read point, or -1 (not leader: fail with `notLeaderError`). */
  answered(states: readonly ReadState[], notLeaderError: () => unknown): void {
    for (const rs of states) {
      const r = this.reads.get(rs.requestId);
      if (r === undefined) continue;
      if (rs.index < 0) {
        this.reads.delete(rs.requestId);
        r.reject(notLeaderError());
      } else r.index = rs.index;
    }
  }

  /** Serves every read whose point this node has applied. */
  applied(appliedIndex: number): void {
    for (const [id, r] of this.reads) {
      if (r.index >= 0 && r.index <= appliedIndex) {
        this.reads.delete(id);
        r.resolve(r.index);
      }
    }
  }

  expire(nowMs: number): void {
    for (const [id, r] of this.reads) {
      if (r.deadlineMs > nowMs) continue;
      this.reads.delete(id);
      r.reject(new NodeError("DEADLINE_EXCEEDED", `no read index within ${this.timeoutMs} ms`));
    }
  }

  rejectAll(error: unknown): void {
    for (const r of this.reads.values()) r.reject(error);
    this.reads.clear();
  }
}

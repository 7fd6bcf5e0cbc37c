import type { NodeId } from "../raft/index.js";
import { NodeError } from "./errors.js";

/** A proposal appended at `index` in `term`, waiting for that entry to be applied. */
export interface Waiter {
  readonly index: number;
  readonly term: number;
  readonly deadlineMs: number;
  readonly startedMs: number;
  /** Counts towards the pending-proposals limit (client proposals do, internal ones not). */
  readonly counted: boolean;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * Who waits for which log index. Every waiter gets exactly one answer: the
 * result once its entry is applied, UNAVAILABLE if another entry took its
 * index (leadership changed) or a snapshot replaced it, DEADLINE_EXCEEDED past
 * its deadline. `settle` runs each answer (and keeps the pending count).
 */
export class ProposalWaiters {
  /** Insertion order is index order and deadline order. */
  private readonly byIndex = new Map<number, Waiter>();

  constructor(private readonly settle: (counted: boolean, answer: () => void) => void) {}

  add(w: Waiter): void {
    this.byIndex.set(w.index, w);
  }

  /**
   * Entry `index` of `term` was applied with `result`. Returns the answered
   * waiter's start time when it was this proposal, to time the commit.
   */
  applied(index: number, term: number, result: unknown, leader: () => NodeId | null): number | null {
    const w = this.byIndex.get(index);
    if (w === undefined) return null;
    this.byIndex.delete(index);
    if (w.term === term) {
      this.settle(w.counted, () => w.resolve(result));
      return w.startedMs;
    }
    this.settle(w.counted, () =>
      w.reject(
        new NodeError(
          "UNAVAILABLE",
          "leadership changed before the command committed; retry (the idempotency key makes it safe)",
          leader(),
          "LEADERSHIP_LOST",
        ),
      ),
    );
    return null;
  }

  /** Answers DEADLINE_EXCEEDED to every waiter past its deadline; returns how many. */
  expire(nowMs: number, timeoutMs: number): number {
    let expired = 0;
    for (const [index, w] of this.byIndex) {
      if (w.deadlineMs > nowMs) break;
      this.byIndex.delete(index);
      expired++;
      this.settle(w.counted, () =>
        w.reject(
          new NodeError(
            "DEADLINE_EXCEEDED",
            `not committed within ${timeoutMs} ms (is a quorum of nodes reachable?); it may still commit: retry with the same idempotency key`,
            null,
            "PROPOSAL_TIMEOUT",
          ),
        ),
      );
    }
    return expired;
  }

  /** Proposals whose entries a snapshot replaced: their outcome is unknown to us. */
  failThrough(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      this.settle(w.counted, () =>
        w.reject(new NodeError("UNAVAILABLE", "leadership changed; retry with the same idempotency key")),
      );
    }
  }

  /** The node stops: every waiter gets `err`. */
  rejectAll(err: unknown): void {
    for (const w of this.byIndex.values()) w.reject(err);
    this.byIndex.clear();
  }
}

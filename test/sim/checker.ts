import type { Entry, NodeId } from "../../src/raft/index.js";
import type { SimNode } from "./sim-node.js";

export class SafetyViolation extends Error {
  override readonly name = "SafetyViolation";
}

function fail(msg: string): never {
  throw new SafetyViolation(msg);
}

/**
 * The Raft safety properties (Raft paper, Figure 3), checked as the
 * simulation runs:
 * - election safety: at most one leader per term;
 * - leader append-only: a leader never overwrites or deletes its entries;
 * - log matching: same index and term => same entry and same prefix;
 * - leader completeness: a leader holds every committed entry;
 * - state machine safety: every node applies the same command at an index,
 *   and its application state after index i is the same everywhere.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** What was applied at each index (by anyone): term and the entry itself. */
  private readonly appliedAt = new Map<number, Entry>();
  /** Application hash right after applying index i. */
  private readonly hashAt = new Map<number, string>();
  maxApplied = 0;
  /** The leader's last entry seen in its term, to check append-only. */
  private readonly leaderTail = new Map<NodeId, { term: number; entry: Entry }>();
  checks = 0;
  /** For each committed index: a term at or after the one it was committed in, and the entry's term. */
  private readonly commitTermAt: number[] = [];
  private readonly committedEntryTerm: number[] = [];
  private maxCommitRecorded = 0;

  onApplied(node: SimNode, entry: Entry): void {
    const prev = this.appliedAt.get(entry.index);
    if (prev === undefined) {
      this.appliedAt.set(entry.index, entry);
    } else if (prev.term !== entry.term || !sameBytes(prev.data, entry.data)) {
      fail(
        `state machine safety: ${node.id} applied term ${entry.term} at index ${entry.index}, ` +
          `another node applied term ${prev.term}`,
      );
    }
    this.maxApplied = Math.max(this.maxApplied, entry.index);
    this.checkHash(node, entry.index);
  }

  onRestored(node: SimNode, index: number): void {
    this.checkHash(node, index);
  }

  private checkHash(node: SimNode, index: number): void {
    const h = node.app.hash();
    const seen = this.hashAt.get(index);
    if (seen === undefined) this.hashAt.set(index, h);
    else if (seen !== h)
      fail(`state machine safety: ${node.id} state at index ${index} is ${h}, expected ${seen}`);
  }

  /** Run after every event. `thorough` adds the O(n^2 * log) pairwise log-matching check. */
  check(nodes: readonly SimNode[], thorough: boolean): void {
    this.checks++;
    this.recordCommits(nodes);
    for (const n of nodes) {
      if (!n.up) continue;
      const st = n.core.status();
      if (st.role !== "leader") {
        this.leaderTail.delete(n.id);
        continue;
      }
      const known = this.leaderOfTerm.get(st.term);
      if (known !== undefined && known !== n.id)
        fail(`election safety: ${known} and ${n.id} are both leaders of term ${st.term}`);
      this.leaderOfTerm.set(st.term, n.id);
      this.checkAppendOnly(n, st.term, st.lastIndex);
      if (thorough || known === undefined) this.checkLeaderCompleteness(n, st.term, st.lastIndex);
    }
    if (thorough) this.checkLogMatching(nodes.filter((n) => n.up));
  }

  private checkAppendOnly(n: SimNode, term: number, lastIndex: number): void {
    const tail = this.leaderTail.get(n.id);
    if (tail !== undefined && tail.term === term) {
      const now = n.core.entryAt(tail.entry.index);
      if (tail.entry.index >= n.core.firstLogIndex() && now !== tail.entry)
        fail(`leader append-only: ${n.id} (term ${term}) replaced its entry at ${tail.entry.index}`);
    }
    const last = n.core.entryAt(lastIndex);
    if (last !== undefined) this.leaderTail.set(n.id, { term, entry: last });
  }

  /**
   * A node that knows index i is committed has a term at or after the term
   * in which i was committed, so recording its term never claims an entry was
   * committed earlier than it was (no false alarms for stale leaders).
   */
  private recordCommits(nodes: readonly SimNode[]): void {
    for (const n of nodes) {
      if (!n.up) continue;
      const st = n.core.status();
      for (let i = this.maxCommitRecorded + 1; i <= st.commit; i++) {
        this.commitTermAt[i] = st.term;
        this.committedEntryTerm[i] = n.core.termAt(i) ?? -1;
      }
      this.maxCommitRecorded = Math.max(this.maxCommitRecorded, st.commit);
    }
  }

  /** Raft §5.4: every entry committed in an earlier term is in this leader's log. */
  private checkLeaderCompleteness(n: SimNode, term: number, lastIndex: number): void {
    for (let i = this.maxCommitRecorded; i >= 1; i--) {
      if (this.commitTermAt[i]! >= term) continue;
      if (i > lastIndex)
        fail(
          `leader completeness: leader ${n.id} (term ${term}) ends at ${lastIndex}, but ${i} was committed earlier`,
        );
      if (i < n.core.firstLogIndex()) break; // compacted: covered by its snapshot
      const want = this.committedEntryTerm[i]!;
      if (want >= 0 && n.core.termAt(i) !== want)
        fail(`leader completeness: leader ${n.id} (term ${term}) lacks committed entry ${i} (term ${want})`);
    }
  }

  private checkLogMatching(nodes: readonly SimNode[]): void {
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const x = nodes[a]!.core;
        const y = nodes[b]!.core;
        const lo = Math.max(x.firstLogIndex(), y.firstLogIndex());
        const hi = Math.min(x.status().lastIndex, y.status().lastIndex);
        let matched = false;
        for (let i = hi; i >= lo; i--) {
          const ex = x.entryAt(i)!;
          const ey = y.entryAt(i)!;
          if (!matched) {
            matched = ex.term === ey.term;
            if (matched && !sameBytes(ex.data, ey.data))
              fail(`log matching: ${nodes[a]!.id} and ${nodes[b]!.id} differ at ${i} with the same term`);
            continue;
          }
          if (ex.term !== ey.term || !sameBytes(ex.data, ey.data))
            fail(`log matching: ${nodes[a]!.id} and ${nodes[b]!.id} agree above ${i} but differ at ${i}`);
        }
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A deliberately naive model of RaftStorage semantics for the property test:
 * a map of entries and the rules of raft-storage.ts, written out longhand.
 */
import type { Entry, HardState, Snapshot } from "../../src/raft/types.js";
import type { PersistedState, StorageMeta, WriteBatch } from "../../src/storage/raft-storage.js";

export class StorageModel {
  meta: StorageMeta | null = null;
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: Snapshot | null = null;
  entries = new Map<number, Entry>();

  get snapshotIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }

  get lastIndex(): number {
    let last = this.snapshotIndex;
    while (this.entries.has(last + 1)) last++;
    return last;
  }

  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshot?.metadata.term ?? 0;
    return this.entries.get(index)?.term;
  }

  clone(): StorageModel {
    const m = new StorageModel();
    m.meta = this.meta;
    m.hardState = this.hardState;
    m.snapshot = this.snapshot;
    m.entries = new Map(this.entries);
    return m;
  }

  apply(b: WriteBatch): void {
    if (b.meta) this.meta = b.meta;
    const es = b.entries ?? [];
    const entriesFirst =
      es.length > 0 && b.snapshot !== undefined && es[0]!.index <= b.snapshot.metadata.index;
    if (entriesFirst) this.append(es);
    if (b.snapshot) {
      const { index, term } = b.snapshot.metadata;
      const keep = this.termAt(index) === term;
      for (const i of [...this.entries.keys()]) if (i <= index || !keep) this.entries.delete(i);
      this.snapshot = b.snapshot;
    }
    if (!entriesFirst) this.append(es);
    if (b.hardState) this.hardState = b.hardState;
  }

  private append(es: readonly Entry[]): void {
    if (es.length === 0) return;
    for (const i of [...this.entries.keys()]) if (i >= es[0]!.index) this.entries.delete(i);
    for (const e of es) this.entries.set(e.index, e);
  }

  persisted(): PersistedState {
    const entries = [...this.entries.values()].sort((a, b) => a.index - b.index);
    return { meta: this.meta, hardState: this.hardState, snapshot: this.snapshot, entries };
  }
}

/** Plain, comparable form: Uint8Array views and Buffers become number arrays. */
export function normalize(s: PersistedState): unknown {
  return {
    meta: s.meta,
    hardState: s.hardState,
    snapshot: s.snapshot && { metadata: s.snapshot.metadata, data: Array.from(s.snapshot.data) },
    entries: s.entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) })),
  };
}

/** Reduces a WriteBatch to what log-state.ts validates: indexes and terms, no payload bytes. */
import { invalidWrite } from "./errors.js";
import type { BatchOutline } from "./log-state.js";
import type { WriteBatch } from "./raft-storage.js";

export function outlineOf(batch: WriteBatch): BatchOutline {
  const entries = batch.entries ?? [];
  entries.forEach((e, i) => {
    if (e.index !== entries[0]!.index + i) {
      throw invalidWrite(
        `entries are not contiguous: entries[${i}].index is ${e.index}, expected ${entries[0]!.index + i}`,
      );
    }
  });
  return {
    ...(batch.meta !== undefined && { meta: batch.meta }),
    ...(batch.snapshot !== undefined && {
      snapshot: { index: batch.snapshot.metadata.index, term: batch.snapshot.metadata.term },
    }),
    ...(batch.compactThrough !== undefined && { compactThrough: batch.compactThrough }),
    ...(entries.length > 0 && {
      entries: { firstIndex: entries[0]!.index, terms: entries.map((e) => e.term) },
    }),
    ...(batch.hardState !== undefined && { hardState: batch.hardState }),
  };
}

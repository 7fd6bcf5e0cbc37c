/** A MemoryStorage whose writes can be held (a stalled disk), for in-process replica tests. */
import { MemoryStorage, type WriteBatch } from "../../src/storage/index.js";

/** A MemoryStorage whose writes wait while `held` (a slow disk), in order. */
export class HeldStorage extends MemoryStorage {
  held = false;
  /** Writes issued and not yet finished. */
  inFlight = 0;
  private release: (() => void)[] = [];

  override async write(batch: WriteBatch): Promise<void> {
    this.inFlight++;
    try {
      if (this.held) await new Promise<void>((r) => this.release.push(r));
      await super.write(batch);
    } finally {
      this.inFlight--;
    }
  }

  releaseAll(): void {
    this.held = false;
    for (const r of this.release.splice(0)) r();
  }
}

/** Every node of an in-process cluster on a HeldStorage, kept by id (for InProcessClusterOptions.storageFor). */
export function heldStorages(): { byId: Map<string, HeldStorage>; storageFor: (id: string) => HeldStorage } {
  const byId = new Map<string, HeldStorage>();
  return {
    byId,
    storageFor: (id) => {
      const s = new HeldStorage();
      byId.set(id, s);
      return s;
    },
  };
}

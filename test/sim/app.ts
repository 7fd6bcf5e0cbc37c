import type { Entry } from "../../src/raft/index.js";

/**
 * The application the simulator runs on top of the core. Its hash after
 * applying index i must be the same on every node (state machine safety).
 */
export interface SimApp {
  apply(entry: Entry): void;
  snapshot(): Uint8Array;
  /** Restore from snapshot data (empty data = a fresh, empty state). */
  restore(data: Uint8Array): void;
  /** A digest of the whole state. */
  hash(): string;
}

/** The simplest faithful application: a running FNV-1a hash over applied commands. */
export class HashChainApp implements SimApp {
  private h = 0x811c9dc5;
  private count = 0;

  apply(entry: Entry): void {
    if (entry.data.byteLength === 0) return;
    let h = this.h ^ entry.index;
    for (let i = 0; i < entry.data.byteLength; i++) h = Math.imul(h ^ entry.data[i]!, 0x01000193);
    this.h = h >>> 0;
    this.count++;
  }

  snapshot(): Uint8Array {
    const out = new Uint8Array(8);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.h);
    dv.setUint32(4, this.count);
    return out;
  }

  restore(data: Uint8Array): void {
    if (data.byteLength === 0) {
      this.h = 0x811c9dc5;
      this.count = 0;
      return;
    }
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.h = dv.getUint32(0);
    this.count = dv.getUint32(4);
  }

  hash(): string {
    return `${this.h.toString(16)}/${this.count}`;
  }
}

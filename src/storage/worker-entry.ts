/**
 * Finds the storage worker's entry file next to this module: the compiled
 * rocks-worker.js in dist/, or, when running from TypeScript sources (vitest,
 * tsx), rocks-worker.ts started through tsx-worker-entry.mjs.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface WorkerEntry {
  readonly url: URL;
  /** Set when running from sources: the .ts module tsx-worker-entry.mjs imports. */
  readonly tsEntry?: string;
}

export function storageWorkerEntry(): WorkerEntry {
  const compiled = new URL("./rocks-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { url: compiled };
  const source = new URL("./rocks-worker.ts", import.meta.url);
  if (!existsSync(fileURLToPath(source))) {
    throw new Error(`storage worker not found: neither ${compiled.href} nor ${source.href} exists`);
  }
  return { url: new URL("./tsx-worker-entry.mjs", import.meta.url), tsEntry: source.href };
}

/**
 * Remembers which problems were already logged, so a misconfigured peer that
 * reconnects every few seconds produces one log line, not thousands. The set
 * is bounded: past `maxKeys` it starts over (a few repeated lines at worst).
 */
export class LogOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly maxKeys = 256) {}

  /** True the first time `key` is seen. */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.maxKeys) this.seen.clear();
    this.seen.add(key);
    return true;
  }
}

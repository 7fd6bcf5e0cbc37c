/** Output helpers: etcdctl-style boxed tables, JSON, and display of byte payloads. */

/** A boxed table like `etcdctl -w table`. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = "+" + widths.map((w) => "-".repeat(w + 2)).join("+") + "+";
  const fmt = (cells: readonly string[]): string =>
    "|" + widths.map((w, i) => ` ${(cells[i] ?? "").padEnd(w)} `).join("|") + "|";
  return [line, fmt(headers), line, ...rows.map(fmt), line].join("\n");
}

/** Two columns of "key: value" lines, keys aligned. */
export function keyValues(pairs: readonly (readonly [string, string])[]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ":").padEnd(w + 1)} ${v}`).join("\n");
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Bytes as UTF-8 text when they are printable, else "base64:...". */
export function displayBytes(b: Uint8Array): string {
  const text = Buffer.from(b).toString("utf8");
  // eslint-disable-next-line no-control-regex
  const printable = !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text);
  return printable ? text : "base64:" + Buffer.from(b).toString("base64");
}

/** ms since the epoch as ISO-8601, or "-" for 0. */
export function time(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : "-";
}

/** Percentiles and number formatting for benchmark output. */

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentile summary of samples (any unit; the caller's). */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const a = Float64Array.from(samples as ArrayLike<number>).sort();
  const n = a.length;
  if (n === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (q: number) => a[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i]!;
  return { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: a[n - 1]!, mean: sum / n };
}

/** The middle value; with an even count, the mean of the two middle ones (so neither side of a comparison gets the better one). */
export function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? a[(n - 1) / 2]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}

/** 12,345 */
export function int(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-";
}

/** 1.23 / 12.3 / 123 with a unit */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "-";
  if (x < 10) return `${x.toFixed(2)} ms`;
  if (x < 100) return `${x.toFixed(1)} ms`;
  return `${Math.round(x)} ms`;
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "-" : `${Math.round(x)}%`;
}

/** Render rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Keep at most `max` samples, evenly strided (a cheap, order-preserving thinning). */
export function thin(samples: number[], max: number): number[] {
  if (samples.length <= max) return samples;
  const out: number[] = [];
  const step = samples.length / max;
  for (let i = 0; i < max; i++) out.push(samples[Math.floor(i * step)]!);
  return out;
}

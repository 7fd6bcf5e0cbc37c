/** The rows every cluster benchmark produces, and how they print. */
import { loadLine } from "./procstat.js";
import { int, ms, pct, table } from "./stats.js";

export interface Row {
  /** section: submit, e2e, failover, scale, etcd */
  group: string;
  name: string;
  /** exact settings, one line */
  settings: string;
  /** jobs (or puts) per second; null when not a throughput figure */
  rate: number | null;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** other figures (e.g. min, median of failover) */
  extra: Record<string, number | string>;
  errors: Record<string, number>;
  /** % of one core per process: nodes by id (leader marked *), load generators lg1.. */
  cpu: Record<string, number | null>;
  load: string;
}

export function row(partial: Partial<Row> & Pick<Row, "group" | "name" | "settings">): Row {
  return {
    rate: null,
    p50: null,
    p99: null,
    max: null,
    extra: {},
    errors: {},
    cpu: {},
    load: loadLine(),
    ...partial,
  };
}

function cpuText(cpu: Record<string, number | null>): string {
  return Object.entries(cpu)
    .map(([k, v]) => `${k} ${pct(v)}`)
    .join(", ");
}

function errText(e: Record<string, number>): string {
  const parts = Object.entries(e).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? "0" : parts.join(", ");
}

export function printRows(rows: Row[]): string {
  const t = table(
    ["case", "rate/s", "p50", "p99", "max", "errors", "load avg"],
    rows.map((r) => [
      `${r.group}: ${r.name}`,
      r.rate === null ? "-" : int(r.rate),
      r.p50 === null ? "-" : ms(r.p50),
      r.p99 === null ? "-" : ms(r.p99),
      r.max === null ? "-" : ms(r.max),
      errText(r.errors),
      r.load,
    ]),
  );
  const details = rows
    .map((r) => {
      const extra = Object.entries(r.extra)
        .map(([k, v]) => `${k}=${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : v}`)
        .join(" ");
      return `  ${r.group}: ${r.name}\n    settings: ${r.settings}\n    cpu (% of one core): ${cpuText(r.cpu)}${extra ? `\n    ${extra}` : ""}`;
    })
    .join("\n");
  return `${t}\n\n${details}`;
}

/**
 * CPU and memory of a process from /proc (Linux): used for the node
 * processes, which do not report their own usage. Load generators report
 * process.cpuUsage() themselves.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

const CLK_TCK = 100; // USER_HZ: 100 on every Linux this runs on

export interface CpuSample {
  /** user + system CPU time in ms */
  readonly cpuMs: number;
  readonly atMs: number;
}

/** CPU time of a process (user + system, ms), or null when it is gone. */
export function cpuSample(pid: number): CpuSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command may contain spaces and parentheses: fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { cpuMs: ((utime + stime) * 1000) / CLK_TCK, atMs: performance.now() };
  } catch {
    return null;
  }
}

/** Resident set size in bytes, or null when the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU used between two samples as a percentage of one core. */
export function cpuPercent(a: CpuSample | null, b: CpuSample | null): number | null {
  if (a === null || b === null || b.atMs <= a.atMs) return null;
  return (100 * (b.cpuMs - a.cpuMs)) / (b.atMs - a.atMs);
}

/** The machine as one line: cores, model, load average. */
export function machineLine(): string {
  const c = cpus();
  return `${c.length} cores (${c[0]?.model ?? "?"}), node ${process.version}, load average ${loadLine()}`;
}

export function loadLine(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
}

/** In-process CLI runs: captured stdout/stderr and an abort signal instead of Ctrl-C. */
import type { CliIo } from "../../src/cli/io.js";

export interface Captured {
  io: CliIo;
  stdout(): string;
  stderr(): string;
  /** Stop a long-running command as Ctrl-C would. */
  stop(): void;
}

export function capture(env: NodeJS.ProcessEnv = {}): Captured {
  let out = "";
  let err = "";
  const ac = new AbortController();
  return {
    io: {
      out: (t) => void (out += t.endsWith("\n") ? t : t + "\n"),
      err: (t) => void (err += t.endsWith("\n") ? t : t + "\n"),
      env,
      signal: ac.signal,
    },
    stdout: () => out,
    stderr: () => err,
    stop: () => ac.abort(),
  };
}

/** Rows of an etcdctl-style boxed table (header row first), cells trimmed. */
export function parseTable(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .map((l) =>
      l
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Where a command writes and what it reads from its environment, so tests can run commands in-process. */
export interface CliIo {
  /** Writes one line (or block) to standard output. */
  out(text: string): void;
  /** Writes one line (or block) to standard error. */
  err(text: string): void;
  /** The environment (RAFTQ_ENDPOINTS, ...). */
  env: NodeJS.ProcessEnv;
  /** Stops long-running commands (dev, start, worker) like SIGINT would. Default: SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text.endsWith("\n") ? text : text + "\n"),
  err: (text) => void process.stderr.write(text.endsWith("\n") ? text : text + "\n"),
  env: process.env,
};

/** Resolves on the first SIGINT/SIGTERM (or when `signal` aborts); returns the signal's name. */
export function untilStopped(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (name: string): void => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      signal?.removeEventListener("abort", onAbort);
      resolve(name);
    };
    const onInt = (): void => done("SIGINT");
    const onTerm = (): void => done("SIGTERM");
    const onAbort = (): void => done("abort");
    if (signal?.aborted) {
      resolve("abort");
      return;
    }
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

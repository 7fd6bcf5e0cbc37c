import { destination, pino, type Logger } from "pino";

export type { Logger } from "pino";

/** pino JSON lines on stderr; every line carries the node id (term and role are added per event). */
export function createLogger(options: { level: string; nodeId: string; name?: string }): Logger {
  return pino(
    { level: options.level, base: { node: options.nodeId, name: options.name ?? "raftq" } },
    destination({ dest: 2, sync: false }),
  );
}

export const silentLogger: Logger = pino({ enabled: false });

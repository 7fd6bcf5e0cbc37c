/** Builds the SDK client a command uses from the common flags. */
import { RaftqClient } from "../client/client.js";
import { endpoints, timeoutMs, type Values } from "./args.js";
import type { CliIo } from "./io.js";

export function clientFor(values: Values, io: CliIo): RaftqClient {
  const t = timeoutMs(values);
  return new RaftqClient({
    endpoints: endpoints(values, io),
    timeoutMs: t,
    attemptTimeoutMs: Math.min(t, 6_000),
    backoff: { initialMs: 50, maxMs: 500 },
  });
}

/** Run `body` with a client, closing it afterwards. */
export async function withClient<T>(
  values: Values,
  io: CliIo,
  body: (c: RaftqClient) => Promise<T>,
): Promise<T> {
  const client = clientFor(values, io);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

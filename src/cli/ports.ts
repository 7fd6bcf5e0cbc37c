/** Free-port helpers for local clusters. */
import { createServer } from "node:net";

/** True when `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port the OS says is free now (bind to port 0, read it, release it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `count` ports: `preferred[i]` when it is free (and not already taken by an
 * earlier pick), else a free one from the OS. `preferred` may be shorter or empty.
 */
export async function pickPorts(count: number, preferred: readonly number[] = []): Promise<number[]> {
  const picked: number[] = [];
  for (let i = 0; i < count; i++) {
    const want = preferred[i];
    if (want !== undefined && want > 0 && !picked.includes(want) && (await isPortFree(want))) {
      picked.push(want);
      continue;
    }
    let p = await freePort();
    while (picked.includes(p)) p = await freePort();
    picked.push(p);
  }
  return picked;
}

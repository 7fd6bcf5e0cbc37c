import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
}

/**
 * The node's HTTP endpoint: /metrics for Prometheus, /livez (cheap and local:
 * the process and its event loop answer) and /readyz (quorum-aware).
 */
export function startHttpServer(options: {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
}): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const r = options.readiness();
      res.writeHead(r.ready ? 200 : 503, { "content-type": "text/plain" }).end(`${r.reason}\n`);
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("try /metrics, /livez or /readyz\n");
    }
  });
  // Bound slow clients.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr !== null ? addr.port : options.port });
    });
  });
}

/** /healthz and /readyz on the health port, /metrics on the metrics port (may be the same port). */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HttpEndpoints {
  ready: () => boolean;
  registry: Registry;
}

export async function listen(
  port: number,
  host: string,
  routes: { health?: HttpEndpoints; metrics?: Registry },
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (routes.health && path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (routes.health && path === "/readyz") {
      const ok = routes.health.ready();
      res
        .writeHead(ok ? 200 : 503, { "content-type": "text/plain" })
        .end(ok ? "ok\n" : "caches not synced\n");
    } else if (routes.metrics && path === "/metrics") {
      routes.metrics.metrics().then(
        (text) => res.writeHead(200, { "content-type": routes.metrics!.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, host, () => res());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

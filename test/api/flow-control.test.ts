// The node's gRPC server opens wide HTTP/2 flow-control windows to every client it accepts
// (src/api/flow-control.ts): seen from a raw HTTP/2 client, as a peer's stream sees it.
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_FLOW_CONTROL_WINDOWS,
  validateWindows,
  widenServerWindows,
} from "../../src/api/flow-control.js";
import { createGrpcServer } from "../../src/api/server.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function boundServer(): Promise<{ server: grpc.Server; port: number }> {
  const server = createGrpcServer();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => {
      if (e) return reject(e);
      widenServerWindows(server);
      resolve(p);
    }),
  );
  cleanups.push(() => server.forceShutdown());
  return { server, port };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("HTTP/2 flow-control windows of the node's server", () => {
  it("a client may send 4 MiB per stream and 16 MiB per connection, not 64 KiB", async () => {
    const { port } = await boundServer();
    const client = http2.connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => client.destroy());
    client.on("error", () => undefined);
    await until(
      () => client.remoteSettings.initialWindowSize === DEFAULT_FLOW_CONTROL_WINDOWS.streamWindowBytes,
      "the server's SETTINGS with the wide stream window",
    );
    await until(
      () => (client.state.remoteWindowSize ?? 0) >= DEFAULT_FLOW_CONTROL_WINDOWS.connectionWindowBytes,
      "the server's WINDOW_UPDATE of the connection",
    );
    expect(client.remoteSettings.initialWindowSize).toBe(4 * 1024 * 1024);
  });

  it("a server that is not bound yet is refused loudly, not left at 64 KiB", () => {
    const server = createGrpcServer();
    expect(() => widenServerWindows(server)).toThrow(/no bound http2 servers/);
  });

  it("windows outside what HTTP/2 allows are refused", () => {
    expect(() => validateWindows({ streamWindowBytes: 1000, connectionWindowBytes: 1 << 20 })).toThrow(
      /streamWindowBytes must be an integer in \[65535/,
    );
    expect(() => validateWindows({ streamWindowBytes: 2 ** 31, connectionWindowBytes: 2 ** 31 })).toThrow(
      /must be an integer/,
    );
    expect(() => validateWindows({ streamWindowBytes: 1 << 22, connectionWindowBytes: 1 << 20 })).toThrow(
      /connectionWindowBytes must be at least streamWindowBytes/,
    );
    expect(() => validateWindows(DEFAULT_FLOW_CONTROL_WINDOWS)).not.toThrow();
  });
});

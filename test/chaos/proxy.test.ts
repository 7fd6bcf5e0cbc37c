// The link proxy of the chaos runs (bench/lib/proxy.ts) must behave like a TCP
// connection that is slow or cut, never like one that reorders bytes: a chaos run
// once failed because bytes held by a delay were overtaken by bytes sent after the
// heal, and the reordered HTTP/2 stream decoded into wrong gRPC statuses.
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LinkProxy } from "../../bench/lib/proxy.js";
import { sleep, until } from "./lib/wait.js";

const sockets: Socket[] = [];
const servers: Server[] = [];
const proxies: LinkProxy[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A sink server that collects what it receives, and a client connected to it through a proxy. */
async function throughProxy(): Promise<{ proxy: LinkProxy; client: Socket; received: () => string }> {
  let got = "";
  const sink = createServer((s) => {
    sockets.push(s);
    s.on("data", (d: Buffer) => (got += d.toString()));
  });
  servers.push(sink);
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  const sinkPort = (sink.address() as { port: number }).port;
  const proxy = new LinkProxy("a", "b", { host: "127.0.0.1", port: sinkPort });
  proxies.push(proxy);
  await proxy.listen(0);
  const port = proxy.port;
  const client = connect({ host: "127.0.0.1", port, noDelay: true });
  sockets.push(client);
  await new Promise<void>((r) => client.once("connect", () => r()));
  return { proxy, client, received: () => got };
}

describe("LinkProxy", () => {
  it("keeps bytes in order when a delay is healed while chunks are held", async () => {
    const { proxy, client, received } = await throughProxy();
    proxy.setDelay(150);
    client.write("1-held;");
    await sleep(20);
    client.write("2-held;");
    await sleep(20);
    proxy.heal();
    client.write("3-after-heal;"); // must not overtake the two held chunks
    await sleep(20);
    expect(received()).toBe(""); // still held
    await until(() => received().length === "1-held;2-held;3-after-heal;".length);
    expect(received()).toBe("1-held;2-held;3-after-heal;");
  });

  it("keeps bytes in order when the delay is lowered", async () => {
    const { proxy, client, received } = await throughProxy();
    proxy.setDelay(200);
    client.write("a;");
    await sleep(10);
    proxy.setDelay(10); // a shorter delay must not let the next chunk out first
    client.write("b;");
    await until(() => received().length === 4);
    expect(received()).toBe("a;b;");
  });

  it("holds each chunk for the delay", async () => {
    const { proxy, client, received } = await throughProxy();
    proxy.setDelay(120);
    const t0 = Date.now();
    client.write("x");
    await until(() => received() === "x");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it("passes bytes at once when no delay is set", async () => {
    const { client, received } = await throughProxy();
    client.write("now");
    await until(() => received() === "now");
    expect(received()).toBe("now");
  });
});

// The chaos runs put one proxy in front of each node and tell the dialling nodes
// apart by the process holding each connecting socket (bench/lib/socket-owner.ts).
// If that attribution were wrong, a cut link would cut the wrong node's traffic
// and a partition would not be the partition the history says.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NodeProxy } from "../../bench/lib/node-proxy.js";
import { connectionsTo, parseTcpTable, socketOwner } from "../../bench/lib/socket-owner.js";
import { until } from "./lib/wait.js";

const sockets: Socket[] = [];
const servers: Server[] = [];
const proxies: NodeProxy[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0))
    if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, "SIGKILL");
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A server that collects what it receives and hands each accepted socket to `onConn`. */
async function sink(onConn: (s: Socket) => void = () => {}): Promise<{ port: number; got: () => string }> {
  let got = "";
  const server = createServer((s) => {
    sockets.push(s);
    s.on("data", (d: Buffer) => (got += d.toString()));
    onConn(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as { port: number }).port, got: () => got };
}

async function dial(port: number): Promise<Socket> {
  const s = connect({ host: "127.0.0.1", port, noDelay: true });
  sockets.push(s);
  s.on("error", () => {});
  await new Promise<void>((r) => s.once("connect", () => r()));
  return s;
}

describe("socketOwner", () => {
  it("parses /proc/net/tcp rows", () => {
    const text = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4242 1",
    ].join("\n");
    expect(parseTcpTable(text)).toEqual([{ localPort: 0x1f90, remotePort: 0xd431, inode: 4242 }]);
  });

  it("names the process that dialled a connection, not the one that accepted it", async () => {
    const accepted: Socket[] = [];
    const { port } = await sink((s) => accepted.push(s));
    const child = spawn(
      process.execPath,
      ["-e", `require("net").connect(${port}, "127.0.0.1"); setTimeout(() => {}, 60000)`],
      { stdio: "ignore" },
    );
    children.push(child);
    await until(() => accepted.length === 1, 10_000);
    const clientPort = accepted[0]!.remotePort!;
    expect(await socketOwner(clientPort, port, [process.pid, child.pid!])).toBe(child.pid);
    expect(await socketOwner(clientPort, port, [process.pid])).toBeNull();
    expect(await connectionsTo([child.pid!], new Set([port]))).toEqual([`${child.pid}>${port}`]);
    expect(await connectionsTo([process.pid], new Set([port]))).toEqual([]);
  });
});

describe("NodeProxy", () => {
  it("hands each connection to the link of the node that dialled it", async () => {
    const target = await sink();
    const proxy = new NodeProxy(
      "b",
      { host: "127.0.0.1", port: target.port },
      () => new Map([[process.pid, "a"]]),
    );
    proxies.push(proxy);
    await proxy.listen(0);
    const client = await dial(proxy.port);
    client.write("hello;");
    await until(() => target.got() === "hello;");

    proxy.link("c").setMode("sever"); // another node's link: a's connection goes on
    client.write("still;");
    await until(() => target.got() === "hello;still;");
    expect(client.destroyed).toBe(false);

    const closed = new Promise<void>((r) => client.once("close", () => r()));
    proxy.link("a").setMode("sever");
    await closed;
    const refused = await dial(proxy.port); // a new connection from a is refused too while cut
    await new Promise<void>((r) => refused.once("close", () => r()));
    expect(target.got()).toBe("hello;still;");
  });

  it("refuses a connection that no node process holds", async () => {
    const target = await sink();
    const proxy = new NodeProxy("b", { host: "127.0.0.1", port: target.port }, () => new Map([[1, "a"]]));
    proxies.push(proxy);
    await proxy.listen(0);
    const client = await dial(proxy.port);
    client.write("who am I;");
    await new Promise<void>((r) => client.once("close", () => r()));
    expect(proxy.unknownSources).toBe(1);
    expect(target.got()).toBe("");
  });
});

// Peer transport latency: two processes, one GrpcTransport each, ping-pong of one heartbeat
// (b answers at once); round-trip time at a. For reference, the same over a raw TCP socket.
// Idle gaps between pings (BENCH_GAP_MS, default 5) include waking the other process, as a
// commit at one request in flight does.
// Run: npx tsx bench/transport-latency.ts   (BENCH_PINGS=600, BENCH_GAP_MS=5)
import * as grpc from "@grpc/grpc-js";
import { fork } from "node:child_process";
import { createServer, connect, type AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { Message } from "../src/raft/types.js";
import { GrpcTransport } from "../src/transport/grpc-transport.js";
import { peerServerOptions } from "../src/transport/peer-service.js";

const PINGS = Number(process.env.BENCH_PINGS ?? 600);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 5);
process.setSourceMapsEnabled(false);

const heartbeat = (from: string, to: string, commit: number): Message => ({
  type: "heartbeat",
  from,
  to,
  term: 1,
  commit,
  readContext: 0,
});

async function grpcNode(id: string): Promise<{ t: GrpcTransport; port: number; server: grpc.Server }> {
  const server = new grpc.Server(peerServerOptions());
  const t = new GrpcTransport({ clusterId: "latency", selfId: id });
  t.addToServer(server);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { t, port, server };
}

/** The echoing side, in a child process: prints its ports, then answers until killed. */
async function echo(): Promise<void> {
  const g = await grpcNode("b");
  g.t.onMessage((m) => g.t.send([heartbeat("b", "a", (m as { commit: number }).commit)]));
  const tcp = createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d) => s.write(d));
  });
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  process.on("message", (m: { aPort: number }) => g.t.setPeers(new Map([["a", `127.0.0.1:${m.aPort}`]])));
  process.send!({ grpcPort: g.port, tcpPort: (tcp.address() as AddressInfo).port });
}

function summary(name: string, rtts: number[]): string {
  rtts.sort((x, y) => x - y);
  const at = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))]!.toFixed(3);
  return `${name.padEnd(30)} round trip p50 ${at(0.5)} ms  p90 ${at(0.9)} ms  min ${at(0)} ms  (${rtts.length} pings, ${GAP_MS} ms apart)`;
}

async function pings(send: (i: number) => void, onReply: (f: () => void) => void): Promise<number[]> {
  const rtts: number[] = [];
  let waiting: (() => void) | null = null;
  onReply(() => waiting?.());
  for (let i = 0; i < PINGS + 50; i++) {
    const t0 = performance.now();
    await new Promise<void>((res) => {
      waiting = res;
      send(i);
    });
    if (i >= 50) rtts.push(performance.now() - t0); // the first 50 warm up the JIT and the streams
    await new Promise((r) => setTimeout(r, GAP_MS));
  }
  return rtts;
}

if (process.argv[2] === "echo") {
  await echo();
} else {
  const child = fork(import.meta.filename, ["echo"], { execArgv: ["--import", "tsx"] });
  try {
    const ports = await new Promise<{ grpcPort: number; tcpPort: number }>((r) => child.once("message", r));
    const a = await grpcNode("a");
    a.t.setPeers(new Map([["b", `127.0.0.1:${ports.grpcPort}`]]));
    child.send({ aPort: a.port });
    while (a.t.stats().peers.get("b")?.connected !== true) await new Promise((r) => setTimeout(r, 20));
    const grpcRtts = await pings(
      (i) => a.t.send([heartbeat("a", "b", i)]),
      (f) => a.t.onMessage(f),
    );
    await a.t.close();
    a.server.forceShutdown();

    const sock = connect(ports.tcpPort, "127.0.0.1");
    sock.setNoDelay(true);
    await new Promise((r) => sock.once("connect", r));
    const payload = Buffer.alloc(64, 1);
    const tcpRtts = await pings(
      () => sock.write(payload),
      (f) => sock.on("data", f),
    );
    sock.destroy();
    console.log(summary("GrpcTransport (peer stream)", grpcRtts));
    console.log(summary("raw TCP socket (reference)", tcpRtts));
  } finally {
    child.kill();
  }
}

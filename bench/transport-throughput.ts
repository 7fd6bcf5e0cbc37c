// Peer transport throughput: two GrpcTransports in this process on loopback,
// a -> b, closed loop (at most WINDOW messages sent but not yet received, as
// Raft's in-flight bound would). CPU time covers both ends and gRPC.
// Run: npx tsx bench/transport-throughput.ts   (BENCH_MS=3000 to change the duration)
import * as grpc from "@grpc/grpc-js";
import { performance } from "node:perf_hooks";
import type { Message } from "../src/raft/types.js";
import { GrpcTransport } from "../src/transport/grpc-transport.js";
import { peerServerOptions } from "../src/transport/peer-service.js";

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);

async function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
}

// Built once: the core hands the transport entries it already holds, so building them is not transport cost.
const APPEND = appendOf(1);
function appendOf(index: number): Message {
  return {
    type: "append",
    from: "a",
    to: "b",
    term: 7,
    prevIndex: index - 1,
    prevTerm: 7,
    commit: index - 1,
    entries: Array.from({ length: 100 }, (_, i) => ({
      term: 7,
      index: index + i,
      type: 0 as const,
      data: new Uint8Array(128).fill(i),
    })),
  };
}

function heartbeatOf(i: number): Message {
  return { type: "heartbeat", from: "a", to: "b", term: 7, commit: i, readContext: 0 };
}

interface Case {
  name: string;
  perSend: number;
  window: number;
  make: (i: number) => Message;
}

async function runCase(c: Case): Promise<void> {
  const servers = [new grpc.Server(peerServerOptions()), new grpc.Server(peerServerOptions())] as const;
  const a = new GrpcTransport({ clusterId: "bench", selfId: "a" });
  const b = new GrpcTransport({ clusterId: "bench", selfId: "b" });
  a.addToServer(servers[0]);
  b.addToServer(servers[1]);
  const portB = await listen(servers[1]);
  await listen(servers[0]);
  a.setPeers(new Map([["b", `127.0.0.1:${portB}`]]));
  while (!a.stats().peers.get("b")!.connected) await new Promise((r) => setTimeout(r, 5));

  let sent = 0;
  let received = 0;
  let pumpScheduled = false;
  let stopAt = Infinity;
  const pump = (): void => {
    pumpScheduled = false;
    while (sent - received < c.window && performance.now() < stopAt) {
      const batch: Message[] = [];
      for (let k = 0; k < c.perSend; k++) batch.push(c.make(sent + k));
      a.send(batch);
      sent += c.perSend;
    }
  };
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  b.onMessage(() => {
    received++;
    if (received === sent && performance.now() >= stopAt) finish();
    else if (!pumpScheduled && sent - received <= c.window / 2) {
      pumpScheduled = true;
      setImmediate(pump);
    }
  });

  // Warm-up, then the measured run.
  stopAt = performance.now() + 300;
  pump();
  await finished;
  const base = {
    sent,
    bytes: a.stats().peers.get("b")!.sentBytes,
    batches: a.stats().peers.get("b")!.sentBatches,
  };
  const finishedRun = new Promise<void>((r) => (finish = r));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  stopAt = t0 + DURATION_MS;
  pump();
  await finishedRun;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = a.stats().peers.get("b")!;
  const msgs = sent - base.sent;
  const bytes = s.sentBytes - base.bytes;
  const batches = s.sentBatches - base.batches;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `${c.name.padEnd(36)} ${((msgs / wallMs) * 1000).toFixed(0).padStart(8)} msg/s ` +
      `${(((bytes / wallMs) * 1000) / 1e6).toFixed(1).padStart(7)} MB/s ` +
      `${((batches / wallMs) * 1000).toFixed(0).padStart(7)} batches/s  ` +
      `cpu ${cpuMs.toFixed(0)} ms / wall ${wallMs.toFixed(0)} ms (${((cpuMs / wallMs) * 100).toFixed(0)}%), ` +
      `${((cpuMs * 1000) / msgs).toFixed(2)} µs cpu/msg, dropped ${s.dropped}`,
  );

  await a.close();
  await b.close();
  for (const server of servers) server.forceShutdown();
}

console.log(
  `node ${process.version}, ${DURATION_MS} ms per case, loopback, both ends in one process, ` +
    `default GrpcTransport options (64 MiB queue, 16 MiB max message), window = messages in flight`,
);
await runCase({ name: "append 100x128 B, 1/send, window 64", perSend: 1, window: 64, make: () => APPEND });
await runCase({ name: "heartbeat, 1/send, window 256", perSend: 1, window: 256, make: heartbeatOf });
await runCase({ name: "heartbeat, 64/send, window 1024", perSend: 64, window: 1024, make: heartbeatOf });

// Encode+decode throughput of the peer codec. Run: npx tsx bench/transport-codec.ts
// Prints one line per case: ops/s, entries/s, MB/s of payload and CPU time.
import { performance } from "node:perf_hooks";
import type { Message } from "../src/raft/types.js";
import { decodeBatch, encodeBatch } from "../src/transport/codec.js";

const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);

function appendOf(entries: number, entryBytes: number): Message {
  return {
    type: "append",
    from: "raftq-0",
    to: "raftq-1",
    term: 12,
    prevIndex: 1_000_000,
    prevTerm: 12,
    commit: 999_950,
    entries: Array.from({ length: entries }, (_, i) => ({
      term: 12,
      index: 1_000_001 + i,
      type: 0 as const,
      data: new Uint8Array(entryBytes).fill(i & 0xff),
    })),
  };
}

const heartbeat: Message = {
  type: "heartbeat",
  from: "raftq-0",
  to: "raftq-1",
  term: 12,
  commit: 999_950,
  readContext: 0,
};

function run(name: string, msgs: Message[], entriesPerOp: number): void {
  let sink = 0;
  // Warm up so the JIT has compiled the hot paths before timing.
  for (let i = 0; i < 2000; i++) sink += decodeBatch(encodeBatch("prod", "raftq-0", msgs)).messages.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ops = 0;
  let bytes = 0;
  let elapsed = 0;
  while (elapsed < DURATION_MS) {
    for (let i = 0; i < 200; i++) {
      const encoded = encodeBatch("prod", "raftq-0", msgs);
      bytes += encoded.length;
      sink += decodeBatch(encoded).messages.length;
    }
    ops += 200;
    elapsed = performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpu0);
  const seconds = elapsed / 1000;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `${name.padEnd(34)} ${(ops / seconds).toFixed(0).padStart(9)} encode+decode/s  ` +
      `${((ops * entriesPerOp) / seconds / 1e6).toFixed(2).padStart(6)} M entries/s  ` +
      `${(bytes / seconds / 1e6).toFixed(1).padStart(7)} MB/s  ` +
      `${((elapsed * 1000) / ops).toFixed(2).padStart(7)} µs/op  ` +
      `cpu ${cpuMs.toFixed(0)} ms / wall ${elapsed.toFixed(0)} ms  (${bytes / ops} B/op, sink ${sink % 7})`,
  );
}

console.log(`node ${process.version}, ${DURATION_MS} ms per case`);
run("append 100 x 128 B entries", [appendOf(100, 128)], 100);
run("append 1 x 128 B entry", [appendOf(1, 128)], 1);
run("heartbeat", [heartbeat], 0);
run(
  "batch of 10 heartbeats",
  Array.from({ length: 10 }, () => heartbeat),
  0,
);

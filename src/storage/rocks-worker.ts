/**
 * Storage worker thread: owns the RocksDB handle so that synced writes (which
 * the binding runs on the calling thread) never block the node's event loop.
 * Requests are served strictly in arrival order; consecutive writes that are
 * already queued are committed together in one synced batch (group commit).
 */
import { parentPort, workerData } from "node:worker_threads";
import { StorageFatalError } from "./errors.js";
import { RocksEngine } from "./rocks-engine.js";
import type { WireWrite, WorkerConfig, WorkerReply, WorkerRequest } from "./wire.js";
import { toWireError } from "./wire.js";

/** Bounds one group commit: enough to amortise an fsync, small enough to keep latency flat. */
const MAX_GROUP_WRITES = 64;
const MAX_GROUP_BYTES = 16 * 1024 * 1024;

const port = parentPort;
if (port === null) throw new Error("rocks-worker.ts must run as a worker thread");
const config = workerData as WorkerConfig;
const inbox: WorkerRequest[] = [];
let draining = false;
let engine: RocksEngine | null = null;

function send(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(reply, transfer);
}

async function drain(): Promise<void> {
  if (draining || engine === null) return;
  draining = true;
  try {
    while (inbox.length > 0) {
      // Let the port deliver every message that has arrived: a synced write completes
      // through process.nextTick, so without this turn no second write is ever queued
      // while one is being written, and group commit would never happen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const head = inbox[0]!;
      if (head.op === "write") {
        const group = takeWriteGroup();
        const outcomes = await engine.writeGroup(group.map((r) => r.batch));
        outcomes.forEach((o, i) => {
          const id = group[i]!.id;
          send(
            o.ok
              ? { type: "reply", id, ok: true }
              : { type: "reply", id, ok: false, error: toWireError(o.error) },
          );
        });
        await engine.collectGarbage().catch(() => undefined); // a failure poisons the engine; the next write reports it
        continue;
      }
      inbox.shift();
      if (head.op === "load") {
        try {
          const value = await engine.load();
          send({ type: "reply", id: head.id, ok: true, value }, [
            value.entries.data,
            ...snapshotBuffer(value),
          ]);
        } catch (err) {
          send({ type: "reply", id: head.id, ok: false, error: toWireError(err) });
        }
      } else {
        await engine.close().catch(() => undefined);
        send({ type: "reply", id: head.id, ok: true });
        port!.close();
        return;
      }
    }
  } finally {
    draining = false;
  }
}

function takeWriteGroup(): Array<Extract<WorkerRequest, { op: "write" }>> {
  const group: Array<Extract<WorkerRequest, { op: "write" }>> = [];
  let bytes = 0;
  while (group.length < MAX_GROUP_WRITES) {
    const next = inbox[0];
    if (next?.op !== "write") break;
    const size = payloadBytes(next.batch);
    if (group.length > 0 && bytes + size > MAX_GROUP_BYTES) break;
    group.push(next);
    inbox.shift();
    bytes += size;
  }
  return group;
}

function payloadBytes(w: WireWrite): number {
  return (w.entries?.buf.byteLength ?? 0) + (w.snapshot?.data.byteLength ?? 0);
}

function snapshotBuffer(v: { snapshot: { data: ArrayBuffer } | null }): ArrayBuffer[] {
  return v.snapshot === null ? [] : [v.snapshot.data];
}

port.on("message", (req: WorkerRequest) => {
  if (req.op === "stage") {
    // Not queued: staging runs beside the ordered writes (that is its point).
    stage(req);
    return;
  }
  inbox.push(req);
  void drain();
});

function stage(req: Extract<WorkerRequest, { op: "stage" }>): void {
  if (engine === null) {
    const error = new StorageFatalError("io", "snapshot staged before the store was open");
    send({ type: "reply", id: req.id, ok: false, error: toWireError(error) });
    return;
  }
  engine.stage(req.index, req.term, req.data).then(
    () => send({ type: "reply", id: req.id, ok: true }),
    (err: unknown) => send({ type: "reply", id: req.id, ok: false, error: toWireError(err) }),
  );
}

RocksEngine.open(config.dbPath, config.snapshotDir, config.faults).then(
  (opened) => {
    engine = opened;
    send({ type: "ready" });
    void drain();
  },
  (err: unknown) => {
    const error =
      err instanceof StorageFatalError
        ? err
        : new StorageFatalError("io", `cannot open ${config.dbPath}: ${String(err)}`);
    send({ type: "fatal", error: toWireError(error) });
    port.close();
  },
);

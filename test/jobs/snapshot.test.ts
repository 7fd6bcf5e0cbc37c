import { describe, expect, it } from "vitest";
import {
  restore,
  restoreSteps,
  serialize,
  serializeChunks,
  serializeSteps,
  SnapshotError,
  SnapshotScratch,
} from "../../src/jobs/index.js";
import { concat } from "../../src/jobs/snapshot.js";
import { bytes, Harness } from "./harness.js";

/** A state using every feature: all job states, custom options, keys, results, errors, workers. */
function busyState(): Harness {
  const h = new Harness();
  h.register("w1", ["q", "x"], 3);
  h.register("w2", ["q"], 3);
  const ids = [];
  for (let i = 0; i < 12; i++) {
    ids.push(
      h.submit({
        priority: i % 3,
        idempotencyKey: i % 4 === 0 ? `key-${i}` : undefined,
        maxAttempts: 1 + (i % 3),
        payload: bytes(`payload ${i}`),
      }),
    );
  }
  h.submit({ runAtMs: h.nowMs + 5000, queue: "x" });
  h.submit({ queue: "nobody", backoffMultiplier: 1.5 });
  const tokens = ids.slice(0, 5).map((id, i) => h.assign(id, i % 2 ? "w1" : "w2"));
  h.complete(ids[0]!, "w2", tokens[0]!, bytes("result!"));
  h.fail(ids[1]!, "w1", tokens[1]!, true, "flaky");
  h.fail(ids[2]!, "w2", tokens[2]!, false, "fatal");
  h.apply({ kind: "CancelJob", nowMs: h.nowMs, jobId: ids[6]!, reason: "bye" });
  return h;
}

describe("snapshots", () => {
  it("restore(serialize(s)) is the same state: same bytes, same hash, same answers", () => {
    const h = busyState();
    const data = serialize(h.state);
    const copy = restore(data);
    expect(serialize(copy)).toEqual(data);
    expect(copy.stateHash()).toBe(h.state.stateHash());
    expect(copy.stats()).toEqual(h.state.stats());
    expect(copy.listJobs({ limit: 100 })).toEqual(h.state.listJobs({ limit: 100 }));
    expect(copy.workers()).toEqual(h.state.workers());
    expect(copy.countsByStateAndQueue()).toEqual(h.state.countsByStateAndQueue());
    expect(copy.limits).toEqual(h.state.limits);
  });

  it("restores in steps to the same state, and shows nothing before the end", () => {
    const h = busyState();
    const data = serialize(h.state);
    const jobs = h.state.jobs.size;
    const steps = restoreSteps(data, { stepJobs: 2 });
    let yields = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) yields++;
    // Every job is read, placed in an index and counted: three passes of `jobs`, a step per 2.
    expect(yields).toBeGreaterThanOrEqual(Math.floor((3 * jobs) / 2) - 1);
    expect(serialize(step.value)).toEqual(data);
    expect(step.value.stateHash()).toBe(h.state.stateHash());
  });

  it("a restored state evolves exactly like the original", () => {
    const h = busyState();
    const copy = restore(serialize(h.state));
    const commands = [
      {
        kind: "AssignJobs",
        nowMs: h.nowMs + 1,
        assignments: [
          { jobId: "6", workerId: "w1" },
          { jobId: "8", workerId: "w2" },
        ],
      },
      { kind: "DeregisterWorker", nowMs: h.nowMs + 2, jitterSeed: 99, workerId: "w1", reason: "lost" },
      {
        kind: "SubmitJob",
        nowMs: h.nowMs + 3,
        job: { queue: "q", type: "t", payload: bytes("new"), idempotencyKey: "key-0" },
      },
    ] as const;
    let index = h.state.lastAppliedIndex;
    for (const cmd of commands) {
      index++;
      expect(copy.apply(index, cmd)).toEqual(h.state.apply(index, cmd));
      expect(copy.stateHash()).toBe(h.state.stateHash());
    }
  });

  it("comes out in chunks of about the requested size that concatenate to the same bytes", () => {
    const h = new Harness();
    const jobs = Array.from({ length: 500 }, (_, i) => ({
      queue: "q",
      type: "t",
      payload: new Uint8Array(100).fill(i),
    }));
    h.apply({ kind: "SubmitJobBatch", nowMs: h.nowMs, jobs });
    const chunks = [...serializeChunks(h.state, 4096)];
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeLessThan(4096 + 200);
    expect(concat(chunks)).toEqual(serialize(h.state));
  });

  it("writes into one buffer of the caller's making, sized once, in steps, to the same bytes", () => {
    const h = busyState();
    for (let i = 0; i < 300; i++) h.submit({ payload: new Uint8Array(100).fill(i) });
    const made: number[] = [];
    const steps = serializeSteps(h.state, {
      stepBytes: 2048,
      allocate: (n) => {
        made.push(n);
        return new Uint8Array(new SharedArrayBuffer(n));
      },
    });
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    const data = r.value;
    expect(data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(data).equals(Buffer.from(serialize(h.state)))).toBe(true);
    expect(yields).toBeGreaterThanOrEqual(Math.floor(data.length / 2048) - 1);
    expect(made).toHaveLength(1); // sized once from an upper bound, never grown
    expect(made[0]).toBeGreaterThanOrEqual(data.length);
    expect(made[0]).toBeLessThan(data.length * 3);
    expect(restore(data).stateHash()).toBe(h.state.stateHash());
  });

  it("writes the state as it was when called, however it changes while the bytes are written", () => {
    const h = busyState();
    for (let i = 0; i < 200; i++) h.submit({ payload: new Uint8Array(50).fill(i) });
    const running = h.submit();
    const token = h.assign(running, "w1");
    const pending = h.submit();
    const before = serialize(h.state);
    const chunks = serializeChunks(h.state, 256);
    const steps = serializeSteps(h.state, { stepBytes: 256 });
    const first = [chunks.next().value as Uint8Array];
    steps.next();
    // Change every part the writer copies: new, assigned, finished and retried jobs,
    // idempotency keys, a new worker.
    h.complete(running, "w1", token);
    h.assign(pending, "w2");
    h.submit({ idempotencyKey: "late" });
    h.register("w3", ["q"], 5);
    expect(serialize(h.state)).not.toEqual(before);
    const rest = [...chunks].filter((c): c is Uint8Array => c !== undefined);
    expect(concat([...first, ...rest])).toEqual(before);
    let r = steps.next();
    while (!r.done) r = steps.next();
    expect(Buffer.from(r.value).equals(Buffer.from(before))).toBe(true);
  });

  it("reuses one scratch across snapshots without carrying a job's worker, error or result to another", () => {
    const scratch = new SnapshotScratch();
    const run = (h: Harness): Uint8Array => {
      const steps = serializeSteps(h.state, { scratch, stepBytes: 512 });
      let r = steps.next();
      while (!r.done) r = steps.next();
      return r.value;
    };
    // First a state whose jobs all finished (each position holds a worker and a result or an
    // error), then one of pending jobs only, through the same scratch.
    const finished = new Harness();
    finished.register("w1", ["q"], 100);
    for (let i = 0; i < 30; i++) {
      const id = finished.submit({ payload: bytes(`f${i}`) });
      const token = finished.assign(id, "w1");
      if (i % 2 === 0) finished.complete(id, "w1", token, bytes(`result ${i}`));
      else finished.fail(id, "w1", token, false, `error ${i}`);
    }
    expect(finished.state.stats().byState).toMatchObject({ completed: 15, failed: 15 });
    expect(Buffer.from(run(finished)).equals(Buffer.from(serialize(finished.state)))).toBe(true);
    const pending = new Harness();
    for (let i = 0; i < 30; i++) pending.submit({ payload: bytes(`p${i}`) });
    const data = run(pending);
    expect(Buffer.from(data).equals(Buffer.from(serialize(pending.state)))).toBe(true);
    const restored = restore(data).listJobs({ limit: 100 }).jobs;
    expect(restored).toHaveLength(30);
    expect(restored.every((j) => j.workerId === null && j.result === null && j.lastError === null)).toBe(
      true,
    );
  });

  it("detects corruption: bad magic, flipped bits, truncation, wrong version", () => {
    const data = serialize(busyState().state);
    expect(() => restore(data.subarray(0, 3))).toThrow(SnapshotError);
    const badMagic = data.slice();
    badMagic[0] = 0;
    expect(() => restore(badMagic)).toThrow(/bad magic/);
    for (const position of [5, 40, Math.floor(data.length / 2), data.length - 5]) {
      const flipped = data.slice();
      flipped[position]! ^= 0x10;
      expect(() => restore(flipped)).toThrow(/checksum mismatch/);
    }
    expect(() => restore(data.subarray(0, data.length - 1))).toThrow(/checksum mismatch/);
  });

  it("an empty state round-trips", () => {
    const h = new Harness({ maxJobs: 77 });
    const copy = restore(serialize(h.state));
    expect(copy.limits.maxJobs).toBe(77);
    expect(copy.stateHash()).toBe(h.state.stateHash());
  });
});

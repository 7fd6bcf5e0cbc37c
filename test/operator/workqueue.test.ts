/** The work queue: dedup, one worker per key, dirty re-adds, backoff, delayed adds, shutdown. */
import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../operator/src/workqueue.js";

describe("WorkQueue", () => {
  it("queues a key once, and never hands it to two workers at once", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("a");
    q.add("b");
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe("a");
    q.add("a"); // while processing: remembered, not queued
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("b");
    q.done("b");
    q.done("a"); // now "a" comes back once
    expect(await q.get()).toBe("a");
    q.done("a");
    expect(q.len()).toBe(0);
    q.shutDown();
  });

  it("backs off exponentially per key until forgotten", () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 350 });
    expect([
      q.addRateLimited("k"),
      q.addRateLimited("k"),
      q.addRateLimited("k"),
      q.addRateLimited("k"),
    ]).toEqual([100, 200, 350, 350]);
    q.forget("k");
    expect(q.addRateLimited("k")).toBe(100);
    q.shutDown();
  });

  it("delayed adds arrive; shutdown wakes waiting workers with null", async () => {
    const q = new WorkQueue();
    q.addAfter("later", 20);
    expect(await q.get()).toBe("later");
    q.done("later");
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeNull();
    q.add("x");
    expect(q.len()).toBe(0);
  });

  it("bounds the number of keys", () => {
    const q = new WorkQueue({ maxKeys: 2 });
    q.add("a");
    q.add("b");
    q.add("c");
    expect(q.len()).toBe(2);
    q.shutDown();
  });
});

import { describe, expect, it } from "vitest";
import { NodeError } from "../../src/node/errors.js";
import { PendingReads } from "../../src/node/pending-reads.js";

describe("PendingReads: linearizable reads wait for their read point, then for apply", () => {
  it("a read resolves once its point is known and applied, not before", async () => {
    const reads = new PendingReads(10, 5000);
    let id = 0;
    let served: number | null = null;
    void reads.add(0, (i) => (id = i)).then((index) => (served = index));
    reads.applied(100); // no read point yet: applied progress alone serves nothing
    await Promise.resolve();
    expect(served).toBeNull();
    reads.answered([{ requestId: id, index: 120 }], () => new Error("unused"));
    reads.applied(119);
    await Promise.resolve();
    expect(served).toBeNull();
    reads.applied(120);
    await Promise.resolve();
    expect(served).toBe(120);
  });

  it("the core's -1 (not leader) fails the read with the caller's error", async () => {
    const reads = new PendingReads(10, 5000);
    let id = 0;
    const p = reads.add(0, (i) => (id = i));
    reads.answered([{ requestId: id, index: -1 }], () => new NodeError("UNAVAILABLE", "not the leader"));
    await expect(p).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("is bounded, and reads past their deadline answer DEADLINE_EXCEEDED", async () => {
    const reads = new PendingReads(2, 100);
    const a = reads.add(0, () => undefined);
    const b = reads.add(50, () => undefined);
    await expect(reads.add(50, () => undefined)).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    reads.expire(120); // a's deadline (100) passed, b's (150) not
    await expect(a).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    reads.rejectAll(new NodeError("UNAVAILABLE", "shutting down"));
    await expect(b).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});

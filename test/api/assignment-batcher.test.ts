import { describe, expect, it } from "vitest";
import {
  AssignmentBatcher,
  MAX_BATCH_BYTES,
  MAX_EVENTS_PER_MESSAGE,
} from "../../src/api/assignment-batcher.js";
import type { WireAssignmentEvent, WireSingleEvent } from "../../src/wire/assignment-codec.js";
import type { WireJob } from "../../src/wire/raftq-v1.js";

function assigned(id: string, payloadBytes = 128): WireSingleEvent {
  const job: WireJob = {
    id,
    queue: "q",
    type: "t",
    payload: Buffer.alloc(payloadBytes),
    priority: 0,
    maxAttempts: 3,
    leaseMs: 30_000,
    runAtMs: 0,
    idempotencyKey: "",
    submittedAtMs: 1,
    attempts: 1,
    state: "JOB_STATE_RUNNING",
    workerId: "w",
    token: 7,
    leaseDeadlineMs: 2,
    lastError: "",
    result: Buffer.alloc(0),
    finishedAtMs: 0,
  };
  return { assigned: { job, token: 7, attempt: 1, leaseDeadlineMs: 2 } };
}

/** The job ids (or revoked ids) of each message sent, in order. */
function idsOf(messages: WireAssignmentEvent[]): string[][] {
  const one = (e: WireSingleEvent): string => ("assigned" in e ? e.assigned.job.id : `-${e.revoked.jobId}`);
  return messages.map((m) => ("batch" in m ? m.batch.events.map(one) : [one(m)]));
}

describe("AssignmentBatcher (one stream's messages)", () => {
  it("sends nothing until flushed, then everything pending as one batch, in order", () => {
    const sent: WireAssignmentEvent[] = [];
    const b = new AssignmentBatcher(100, (m) => sent.push(m));
    b.add(assigned("1"));
    b.add({ revoked: { jobId: "0", token: 3, reason: "cancelled" } });
    b.add(assigned("2"));
    expect(sent).toEqual([]);
    b.flush();
    expect(idsOf(sent)).toEqual([["1", "-0", "2"]]);
    expect("batch" in sent[0]!).toBe(true);
    b.flush();
    expect(sent).toHaveLength(1);
  });

  it("sends a lone event as itself, not as a batch of one", () => {
    const sent: WireAssignmentEvent[] = [];
    const b = new AssignmentBatcher(2, (m) => sent.push(m));
    b.add(assigned("1"));
    b.flush();
    expect(sent).toEqual([assigned("1")]);
  });

  it("never puts more than maxEvents in one message", () => {
    const sent: WireAssignmentEvent[] = [];
    const b = new AssignmentBatcher(3, (m) => sent.push(m));
    for (let i = 0; i < 8; i++) b.add(assigned(String(i)));
    b.flush();
    expect(idsOf(sent)).toEqual([
      ["0", "1", "2"],
      ["3", "4", "5"],
      ["6", "7"],
    ]);
  });

  it("starts a new message before the payloads pass MAX_BATCH_BYTES; a larger job goes alone", () => {
    const sent: WireAssignmentEvent[] = [];
    const b = new AssignmentBatcher(MAX_EVENTS_PER_MESSAGE, (m) => sent.push(m));
    const quarter = MAX_BATCH_BYTES / 4;
    for (let i = 0; i < 5; i++) b.add(assigned(String(i), quarter));
    b.add(assigned("big", MAX_BATCH_BYTES * 2));
    b.add(assigned("small"));
    b.flush();
    // Four quarters plus their overhead pass the limit: three per message.
    expect(idsOf(sent)).toEqual([["0", "1", "2"], ["3", "4"], ["big"], ["small"]]);
  });

  it("counts a job's strings too: retried jobs with long last errors split into several messages", () => {
    const sent: WireAssignmentEvent[] = [];
    const b = new AssignmentBatcher(MAX_EVENTS_PER_MESSAGE, (m) => sent.push(m));
    for (let i = 0; i < MAX_EVENTS_PER_MESSAGE; i++) {
      const ev = assigned(String(i), 0) as { assigned: { job: WireJob } };
      b.add({
        assigned: { ...ev.assigned, job: { ...ev.assigned.job, lastError: "é".repeat(4096) } },
      } as WireSingleEvent);
    }
    b.flush();
    // Each job's error is ~8 KiB of UTF-8 (bounded at 12 KiB): at most ~85 per MiB.
    expect(sent.length).toBeGreaterThan(10);
    for (const m of sent) expect("batch" in m ? m.batch.events.length : 1).toBeLessThanOrEqual(86);
    expect(idsOf(sent).flat()).toHaveLength(MAX_EVENTS_PER_MESSAGE);
  });

  it("refuses a maxEvents outside 2..MAX_EVENTS_PER_MESSAGE", () => {
    for (const bad of [0, 1, 1.5, MAX_EVENTS_PER_MESSAGE + 1])
      expect(() => new AssignmentBatcher(bad, () => undefined)).toThrow(RangeError);
  });
});

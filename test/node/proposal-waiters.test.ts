import { describe, expect, it } from "vitest";
import { NodeError } from "../../src/node/errors.js";
import { ProposalWaiters, type Waiter } from "../../src/node/proposal-waiters.js";

function harness() {
  const answers: string[] = [];
  let counted = 0;
  const waiters = new ProposalWaiters((isCounted, answer) => {
    if (isCounted) counted++;
    answer();
  });
  const add = (index: number, term: number, deadlineMs: number, isCounted = true): void => {
    const w: Waiter = {
      index,
      term,
      deadlineMs,
      startedMs: 1000 + index,
      counted: isCounted,
      resolve: (r) => answers.push(`${index} ok ${String(r)}`),
      reject: (e) =>
        answers.push(`${index} ${(e as NodeError).code} ${(e as NodeError).reason ?? ""}`.trim()),
    };
    waiters.add(w);
  };
  return { waiters, add, answers, counted: () => counted };
}

describe("ProposalWaiters", () => {
  it("answers the proposer of an applied entry with its result, or LEADERSHIP_LOST if another term took the index", () => {
    const h = harness();
    h.add(5, 2, 9999);
    h.add(6, 2, 9999);
    expect(h.waiters.applied(5, 2, "r5", () => "n1")).toBe(1005);
    expect(h.waiters.applied(6, 3, "other", () => "n3")).toBeNull();
    expect(h.waiters.applied(7, 3, "nobody waits", () => null)).toBeNull();
    expect(h.answers).toEqual(["5 ok r5", "6 UNAVAILABLE LEADERSHIP_LOST"]);
    expect(h.counted()).toBe(2);
  });

  it("expires in deadline order up to now, and fails those a snapshot replaced", () => {
    const h = harness();
    h.add(1, 1, 100);
    h.add(2, 1, 200, false);
    h.add(3, 1, 300);
    h.add(4, 1, 400);
    expect(h.waiters.expire(250, 5000)).toBe(2);
    h.waiters.failThrough(3);
    h.waiters.rejectAll(new NodeError("UNAVAILABLE", "stopping"));
    expect(h.answers).toEqual([
      "1 DEADLINE_EXCEEDED PROPOSAL_TIMEOUT",
      "2 DEADLINE_EXCEEDED PROPOSAL_TIMEOUT",
      "3 UNAVAILABLE",
      "4 UNAVAILABLE",
    ]);
    expect(h.counted()).toBe(2); // 1 and 3 were counted and settled; 4 was rejected at stop
  });
});

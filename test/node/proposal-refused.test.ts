import { describe, expect, it } from "vitest";
import { proposalRefused } from "../../src/node/errors.js";
import type { ProposeRejection } from "../../src/raft/index.js";

const refused = (reason: ProposeRejection, detail: string, leader: string | null = "n1") =>
  proposalRefused({ ok: false, reason, leader, detail });

describe("what a refused proposal answers", () => {
  it("back-pressure from the core is RESOURCE_EXHAUSTED with a reason a client can act on", () => {
    const behind = refused("diskBehind", "262144 entries are not written to this node's disk yet");
    expect(behind).toMatchObject({ code: "RESOURCE_EXHAUSTED", reason: "DISK_BEHIND" });
    expect(behind.message).toMatch(/leader's disk is behind.*262144 entries.*retry with backoff/);
    const uncommitted = refused("tooManyUncommitted", "16384 entries are not committed yet");
    expect(uncommitted).toMatchObject({ code: "RESOURCE_EXHAUSTED", reason: "UNCOMMITTED_LIMIT" });
  });

  it("a follower's refusal names the leader", () => {
    const e = refused("notLeader", "this node is not the leader", "n2");
    expect(e).toMatchObject({ code: "UNAVAILABLE", leaderId: "n2", reason: "NOT_LEADER" });
  });
});

import { describe, expect, it } from "vitest";
import type { AppendRequest } from "../../src/raft/index.js";
import { Manual, enc } from "./harness.js";

/** Appends the leader sent after `from` (an index into m.sent), split by whether they carry entries. */
function appendsSince(m: Manual, from: number) {
  const appends = m.sent.slice(from).filter((x): x is AppendRequest => x.type === "append");
  return {
    withEntries: appends.filter((a) => a.entries.length > 0),
    noticeOnly: appends.filter((a) => a.entries.length === 0),
  };
}

describe("commit notices", () => {
  it("by default (etcd's way) a new commit index goes out at once, in an append of its own", () => {
    const m = new Manual({ ids: ["a", "b", "c"] });
    const a = m.elect("a");
    m.flush();
    const mark = m.sent.length;
    a.propose([enc("x")]);
    m.flush();
    const { withEntries, noticeOnly } = appendsSince(m, mark);
    expect(withEntries).toHaveLength(2);
    expect(noticeOnly.map((x) => x.to).sort()).toEqual(["b", "c"]);
    expect(m.core("b").status().commit).toBe(a.status().commit);
  });

  it("with commitNoticeOnTick it rides on the next append, or goes out at the next tick", () => {
    const m = new Manual({ ids: ["a", "b", "c"], raft: { commitNoticeOnTick: true } });
    const a = m.elect("a");
    m.tick("a");
    m.flush();
    const mark = m.sent.length;
    a.propose([enc("x1")]);
    m.flush();
    const committed = a.status().commit;
    expect(committed).toBe(a.status().lastIndex); // the leader commits (and answers) as before
    let sent = appendsSince(m, mark);
    expect(sent.withEntries).toHaveLength(2);
    expect(sent.noticeOnly).toHaveLength(0); // no append only for the notice
    expect(m.core("b").status().commit).toBeLessThan(committed);

    // The next proposal's append carries it.
    a.propose([enc("x2")]);
    m.flush();
    expect(m.core("b").status().commit).toBeGreaterThanOrEqual(committed);
    expect(m.core("c").status().commit).toBeGreaterThanOrEqual(committed);

    // With nothing more proposed, the next tick tells the followers.
    const mark2 = m.sent.length;
    const last = a.status().commit;
    expect(m.core("b").status().commit).toBeLessThan(last);
    m.tick("a");
    m.flush();
    sent = appendsSince(m, mark2);
    expect(sent.noticeOnly.map((x) => x.to).sort()).toEqual(["b", "c"]);
    expect(m.core("b").status().commit).toBe(last);
    expect(m.core("c").status().commit).toBe(last);

    // Told once: further ticks send no more notices.
    const mark3 = m.sent.length;
    m.tick("a");
    m.flush();
    expect(appendsSince(m, mark3).noticeOnly).toHaveLength(0);
  });
});

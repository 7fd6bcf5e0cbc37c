// The read handlers of JobService against a fake node: a linearizable read waits for
// the node's read point before it looks at the state, a default read does not, and bad
// input is refused before any read round starts.
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { ApiContext } from "../../src/api/context.js";
import { jobServiceHandlers } from "../../src/api/job-service.js";
import { NodeError } from "../../src/node/errors.js";

interface FakeNode {
  ctx: ApiContext;
  /** Calls of readIndex so far. */
  readRounds: () => number;
  /** Resolve (or reject) the oldest pending read round. */
  finishRead: (error?: Error) => void;
  /** Every state access, in order ("list", "get"). */
  accesses: string[];
}

function fakeNode(): FakeNode {
  const pending: Array<{ resolve: (i: number) => void; reject: (e: Error) => void }> = [];
  let rounds = 0;
  const accesses: string[] = [];
  const ctx = {
    replica: {
      readIndex: () => {
        rounds++;
        return new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
      },
    },
    machine: {
      state: {
        listJobs: () => {
          accesses.push("list");
          return { jobs: [], nextPageToken: undefined };
        },
        getJob: () => {
          accesses.push("get");
          return undefined; // no such job: GetJob answers NOT_FOUND
        },
      },
    },
    limits: { maxListLimit: 1000 },
  } as unknown as ApiContext;
  return {
    ctx,
    readRounds: () => rounds,
    finishRead: (error) => {
      const p = pending.shift();
      if (p === undefined) throw new Error("no read round is pending");
      if (error !== undefined) p.reject(error);
      else p.resolve(7);
    },
    accesses,
  };
}

type Outcome = { error: Partial<grpc.StatusObject> | null; value: unknown };

/** Invoke a unary handler; the promise settles when the handler answers. */
function call(node: FakeNode, method: string, request: object): Promise<Outcome> {
  const handler = jobServiceHandlers(node.ctx)[method] as grpc.handleUnaryCall<object, unknown>;
  return new Promise((resolve) =>
    handler({ request } as grpc.ServerUnaryCall<object, unknown>, (error, value) =>
      resolve({ error: error as Partial<grpc.StatusObject> | null, value }),
    ),
  );
}

const LIST = { state: "JOB_STATE_UNSPECIFIED", queue: "", limit: 0, pageToken: "" };
const tick = () => new Promise((r) => setImmediate(r));

describe("JobService reads", () => {
  it("ListJobs{linearizable} lists only after the read round has finished", async () => {
    const node = fakeNode();
    const answer = call(node, "ListJobs", { ...LIST, linearizable: true });
    await tick();
    expect(node.readRounds()).toBe(1);
    expect(node.accesses).toEqual([]); // nothing read before the read point is known
    node.finishRead();
    const out = await answer;
    expect(out.error).toBeNull();
    expect(node.accesses).toEqual(["list"]);
  });

  it("ListJobs without linearizable answers from the applied state at once", async () => {
    const node = fakeNode();
    const out = await call(node, "ListJobs", { ...LIST, linearizable: false });
    expect(out.error).toBeNull();
    expect(node.readRounds()).toBe(0);
    expect(node.accesses).toEqual(["list"]);
  });

  it("a linearizable ListJobs with bad input is refused before any read round", async () => {
    const node = fakeNode();
    const out = await call(node, "ListJobs", { ...LIST, limit: 5000, linearizable: true });
    expect(out.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(out.error?.details).toMatch(/limit: 5000 is out of range/);
    expect(node.readRounds()).toBe(0);
  });

  it("a read round that fails is the call's answer (its status), and nothing is listed", async () => {
    const node = fakeNode();
    const answer = call(node, "ListJobs", { ...LIST, linearizable: true });
    await tick();
    node.finishRead(new NodeError("DEADLINE_EXCEEDED", "no read index within 5000 ms"));
    const out = await answer;
    expect(out.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(node.accesses).toEqual([]);
  });

  it("GetJob{linearizable} reads the job only after the read round", async () => {
    const node = fakeNode();
    const answer = call(node, "GetJob", { jobId: "missing", linearizable: true });
    await tick();
    expect(node.accesses).toEqual([]);
    node.finishRead();
    const out = await answer;
    expect(out.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(node.accesses).toEqual(["get"]);
  });
});

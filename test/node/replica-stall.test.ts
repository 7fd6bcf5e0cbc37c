// A node whose event loop stalls says so: a counter and a rate-limited warning
// that names what it was doing (etcd's "failed to send out heartbeat on time").
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Replica } from "../../src/node/replica.js";
import type { SnapshotOutput, SnapshotPhase, StateMachine } from "../../src/node/state-machine.js";
import { NodeMetrics } from "../../src/observability/metrics.js";
import { singleNode } from "./single-replica.js";

class IdleMachine implements StateMachine {
  appliedIndex = 0;
  apply(index: number): unknown {
    this.appliedIndex = index;
    return null;
  }
  restore(): void {}
  skip(index: number): void {
    this.appliedIndex = index;
  }
  // eslint-disable-next-line require-yield -- a snapshot with nothing to copy
  *snapshotSteps(output: SnapshotOutput): Generator<SnapshotPhase, Uint8Array, void> {
    return output.allocate(1);
  }
}

function blockFor(ms: number): void {
  for (const end = performance.now() + ms; performance.now() < end;);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let replica: Replica | null = null;
afterEach(async () => {
  await replica?.stop();
  replica = null;
});

describe("Replica event-loop stalls", () => {
  it("counts every stall of 100 ms or more and logs at most one warning per 5 s, with what the node did", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString("utf8").split("\n")) if (l !== "") lines.push(JSON.parse(l));
        done();
      },
    });
    const metrics = new NodeMetrics("n1", "test");
    replica = await singleNode(new IdleMachine(), { logger: pino({ level: "warn" }, sink), metrics });
    const stalls = async () => (await metrics.eventLoopStalls.get()).values[0]?.value ?? 0;
    // A loaded test machine may stall on its own: count relative to now.
    const before = await stalls();
    blockFor(250);
    await sleep(30);
    blockFor(150);
    await sleep(30);
    expect((await stalls()) - before).toBeGreaterThanOrEqual(2);
    // The whole test runs within 5 s of the first warning: exactly one, the rest counted into the next.
    const warnings = lines.filter((l) => l["msg"]?.toString().startsWith("event loop stalled"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ role: "leader", snapshot: "idle", writing: false });
    expect(warnings[0]!["gapMs"]).toBeGreaterThanOrEqual(100);
  });
});

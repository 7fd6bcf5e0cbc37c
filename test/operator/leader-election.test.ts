/** Leader election through a Lease on the stand-in: one leader; takeover after expiry or release. */
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderElector } from "../../operator/src/leader-election.js";
import { kubeconfigYaml, startStandInApiServer, type StandInServer } from "./stand-in/server.js";

let api: StandInServer;
let kc: KubeConfig;
beforeAll(async () => {
  api = await startStandInApiServer();
  kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(api.url));
});
afterAll(() => api.close());

function elector(identity: string, events: string[]): LeaderElector {
  return new LeaderElector(kc, {
    namespace: "default",
    name: "le",
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 800,
    retryPeriodMs: 100,
    onStartedLeading: () => events.push(`${identity} leads`),
    onStoppedLeading: () => events.push(`${identity} stopped`),
  });
}

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(pred()).toBe(true);
}

describe("LeaderElector", () => {
  it("elects one replica; another takes over only after the lease expired or was released", async () => {
    const events: string[] = [];
    const a = elector("a", events);
    a.start();
    await until(() => a.isLeader);
    const b = elector("b", events);
    b.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(b.isLeader).toBe(false);
    // a dies without releasing: b waits for a whole lease duration of silence.
    await a.stop(false);
    await until(() => b.isLeader);
    expect(events).toEqual(["a leads", "b leads"]);
    // b releases on a clean shutdown: c takes over without waiting for expiry.
    const c = elector("c", events);
    c.start();
    await b.stop(true);
    await until(() => c.isLeader);
    await c.stop(true);
    const lease = api.store.get(api.store.resource("coordination.k8s.io", "leases"), "default", "le");
    expect((lease.spec as { leaseTransitions: number }).leaseTransitions).toBe(2);
  });
});

/**
 * The failover measurement, for any replicated system: kill -9 the leader
 * under light load, then time from the kill to the first acknowledged write
 * issued after it (probes go to every surviving member, retried at once).
 */
import { performance } from "node:perf_hooks";
import { sleep } from "./cluster.js";
import { summarize, type LatencySummary } from "./stats.js";

export interface FailoverTarget {
  readonly ids: string[];
  /** The current leader, once the running members agree on one. */
  leader(exclude?: string[]): Promise<string>;
  kill(id: string): Promise<void>;
  /** Start a killed member again; resolves when it has caught up / is ready. */
  restart(id: string): Promise<void>;
  /** One write through member `id`; rejects on any error. */
  write(id: string, seq: number, deadlineMs: number): Promise<void>;
}

export interface FailoverResult {
  kills: number;
  /** ms from kill to first acknowledged write, one per kill */
  samples: number[];
  summary: LatencySummary;
  /** new leader id differs from the old one every time */
  leaders: string[];
}

export async function measureFailover(
  t: FailoverTarget,
  kills: number,
  log: (s: string) => void = () => undefined,
): Promise<FailoverResult> {
  const samples: number[] = [];
  const leaders: string[] = [];
  let seq = 0;
  for (let k = 0; k < kills; k++) {
    const old = await t.leader();
    // Warm the probe paths: every member answers a write before the kill.
    for (const id of t.ids) await t.write(id, seq++, 5000).catch(() => undefined);
    await sleep(300);
    const survivors = t.ids.filter((id) => id !== old);
    const t0 = performance.now();
    const killed = t.kill(old);
    let firstOk = 0;
    // Every 5 ms each survivor gets a new write (at most 500 outstanding per survivor), so a
    // system that holds writes during an election (etcd) and one that refuses them (raftq) are
    // timed alike: the first acknowledgement of any write sent after the kill ends the wait.
    await new Promise<void>((resolve) => {
      const outstanding = new Map(survivors.map((id) => [id, 0]));
      const timer = setInterval(() => {
        if (firstOk !== 0 || performance.now() - t0 > 30_000) {
          clearInterval(timer);
          resolve();
          return;
        }
        for (const id of survivors) {
          if ((outstanding.get(id) ?? 0) >= 500) continue;
          outstanding.set(id, (outstanding.get(id) ?? 0) + 1);
          t.write(id, seq++, 2000).then(
            () => {
              outstanding.set(id, (outstanding.get(id) ?? 1) - 1);
              if (firstOk === 0) firstOk = performance.now();
            },
            () => outstanding.set(id, (outstanding.get(id) ?? 1) - 1),
          );
        }
      }, 5);
    });
    await killed;
    const ms = firstOk === 0 ? NaN : firstOk - t0;
    samples.push(ms);
    const neu = await t.leader([old]);
    leaders.push(neu);
    log(
      `  kill ${k + 1}/${kills}: leader ${old} killed, first acknowledged write after ${ms.toFixed(0)} ms, new leader ${neu}`,
    );
    await t.restart(old);
  }
  return { kills, samples, summary: summarize(samples.filter(Number.isFinite)), leaders };
}

import { describe, expect, it } from "vitest";
import { JobsApp, JOBS_SNAPSHOT_CHUNK_BYTES } from "../sim/jobs-app.js";
import { runSeed } from "../sim/run-seed.js";

/**
 * The job state machine under the Raft simulator: crashes that lose unsynced
 * writes, restarts, partitions, snapshots with tiny thresholds (so replicas
 * restore the job queue from snapshots all the time), membership changes.
 * The checker compares every replica's state hash at every applied index.
 */
/** A few seeds here (each runs ~0.3 s); `npm run sim -- --jobs --seeds 1000` for campaigns. */
const SEEDS = 40;

describe("the job queue in the simulator", () => {
  it("ends with the same state on every replica through crashes, partitions and snapshots", () => {
    const failures: string[] = [];
    let applied = 0;
    let finished = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const apps: JobsApp[] = [];
      const r = runSeed({
        seed,
        snapshotChunkBytes: JOBS_SNAPSHOT_CHUNK_BYTES,
        app: () => {
          const a = new JobsApp();
          apps.push(a);
          return a;
        },
      });
      if (!r.ok)
        failures.push(`seed ${seed}: ${r.error}\nreplay: npm run sim -- --jobs --seed ${seed} --verbose`);
      for (const a of apps) {
        applied += a.applied;
        const c = a.counts();
        finished += (c["completed"] ?? 0) + (c["failed"] ?? 0) + (c["cancelled"] ?? 0);
      }
    }
    expect(failures).toEqual([]);
    // The runs did exercise the queue: commands applied and jobs carried to the end.
    expect(applied).toBeGreaterThan(2_000);
    expect(finished).toBeGreaterThan(50);
  });
});

/**
 * Ports for the clusters that tests and benchmarks start. Three rules, each from a failure:
 * - below Linux's ephemeral range (32768+), so the outbound connections of running nodes
 *   cannot take a port between its pick and the bind of the node meant to have it;
 * - never a port this process handed out before: picks are checked free, but nothing binds
 *   them until the nodes start, so two picks of one cluster could be the same port (a CI run
 *   failed with EADDRINUSE as a cluster started);
 * - each vitest worker picks from its own slice of the range (VITEST_POOL_ID), so test files
 *   running side by side cannot pick the same port either. Other processes (`npm run bench`,
 *   `npm run chaos`) use slice 0.
 */
import { createServer } from "node:net";

const FIRST_PORT = 20_000;
const RANGE_PORTS = 12_000;
const SLICES = 8;
const SLICE_PORTS = Math.floor(RANGE_PORTS / SLICES);
/** Bounded: a process that starts this many nodes has a leak, not a need. */
const MAX_HANDED_OUT = SLICE_PORTS - 100;
const handedOut = new Set<number>();

function sliceStart(): number {
  const pool = Number(process.env.VITEST_POOL_ID ?? 0);
  const slice = Number.isInteger(pool) && pool > 0 ? pool % SLICES : 0;
  return FIRST_PORT + slice * SLICE_PORTS;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

/** A port free now, in this process's slice, not handed out before by this process. */
export async function freePort(): Promise<number> {
  if (handedOut.size >= MAX_HANDED_OUT) throw new Error(`${handedOut.size} ports handed out: a leak`);
  const first = sliceStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = first + Math.floor(Math.random() * SLICE_PORTS);
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${first}-${first + SLICE_PORTS - 1}`);
}

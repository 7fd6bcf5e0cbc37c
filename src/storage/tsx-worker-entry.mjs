// Starts a TypeScript worker from sources (vitest, tsx). Node 20 ignores
// `--import tsx` in a worker's execArgv for the entry module, so register the
// tsx loader here, then import the real worker. Compiled builds (dist/) load
// rocks-worker.js directly and never use this file.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.tsEntry);

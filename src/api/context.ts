import type { JobLimits } from "../jobs/index.js";
import type { JobMachine } from "../node/job-machine.js";
import type { LeaderDuties } from "../node/leader-duties.js";
import type { Replica } from "../node/replica.js";
import type { WorkerHub } from "../node/worker-hub.js";
import type { Forwarder } from "./forwarder.js";

/** What the API services need from the node. */
export interface ApiContext {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly replica: Replica;
  readonly machine: JobMachine;
  readonly duties: LeaderDuties;
  readonly hub: WorkerHub;
  readonly forwarder: Forwarder;
  readonly limits: JobLimits;
  readonly tickMs: number;
  readonly livenessWindowMs: number;
  readonly heartbeatIntervalMs: number;
  /** The leader's API address, if a leader is known. */
  leaderAddress(): { id: string | null; address: string | undefined };
}

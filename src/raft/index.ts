/** The consensus core's public surface. */
export * from "./types.js";
export { RaftCore } from "./core.js";
export { leaderSafeBeforeWrite } from "./ready.js";
export type {
  PersistedRaftState,
  ProposeResult,
  ProposeRejection,
  TransferResult,
  RaftStatus,
  PeerStatus,
} from "./core.js";
export { DEFAULT_RAFT_CONFIG, resolveConfig } from "./config.js";
export type { RaftConfig, RaftConfigInput } from "./config.js";
export { InvariantError } from "./assert.js";
export { encodeConfChange, decodeConfChange, voters, quorumSize, isVoter } from "./membership.js";

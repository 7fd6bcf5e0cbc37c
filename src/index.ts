/**
 * The `raftq` package: the TypeScript SDK (RaftqClient, Worker, typed errors).
 * The server, the operator and the CLI are run through the `raftq` binary.
 */
export * from "./client/index.js";

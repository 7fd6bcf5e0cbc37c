/**
 * A raftq JobService that does nothing: SubmitJob and SubmitJobs are answered
 * at once with made-up job ids; no Raft, no disk, no state. It runs on the
 * server raftq runs (createGrpcServer, the JobService definition and codec
 * raftq registers), so a load against it costs the clients and the
 * server exactly the gRPC, HTTP/2 and protobuf work of the real calls and
 * nothing else: the ceiling any raftq node on this machine could reach with
 * these load generators (bench/wire-floor.ts).
 *
 * Forked by wire-floor.ts; sends { port } over IPC when listening and exits
 * when its parent disconnects.
 */
import * as grpc from "@grpc/grpc-js";
import { createGrpcServer, jobServiceDefinition } from "../../src/api/server.js";
import { harnessWithoutSourceMaps } from "./build.js";

harnessWithoutSourceMaps();

let nextId = 0;
const jobId = (): string => `j${(nextId++).toString(36).padStart(12, "0")}`;

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void;
type Call = grpc.ServerUnaryCall<{ jobs?: unknown[] }, unknown>;

const server = createGrpcServer();
server.addService(jobServiceDefinition(), {
  SubmitJob: (_call: Call, cb: Callback) => cb(null, { jobId: jobId(), duplicate: false }),
  SubmitJobs: (call: Call, cb: Callback) =>
    cb(null, { results: (call.request.jobs ?? []).map(() => ({ jobId: jobId(), duplicate: false })) }),
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) throw err;
  process.send?.({ port });
});
process.on("disconnect", () => process.exit(0));

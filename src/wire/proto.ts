import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join } from "node:path";
import { findPackageRoot } from "./package-root.js";

/** proto-loader options shared by the server and the SDK: camelCase fields, numbers for 64-bit ints. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const RAFTQ_PROTO_FILE = "proto/raftq/v1/raftq.proto";

let cached: { pkg: RaftqPackage; definition: protoLoader.PackageDefinition } | null = null;

export interface RaftqPackage {
  JobService: grpc.ServiceClientConstructor;
  WorkerService: grpc.ServiceClientConstructor;
  ClusterService: grpc.ServiceClientConstructor;
  AdminService: grpc.ServiceClientConstructor;
}

/** Loads raftq.v1 from the .proto shipped with the package (found from src/ or dist/src/). */
export function loadRaftqProto(): { pkg: RaftqPackage; definition: protoLoader.PackageDefinition } {
  if (cached !== null) return cached;
  const root = findPackageRoot(import.meta.url, RAFTQ_PROTO_FILE);
  const definition = protoLoader.loadSync(join(root, RAFTQ_PROTO_FILE), PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { raftq: { v1: RaftqPackage } };
  cached = { pkg: loaded.raftq.v1, definition };
  return cached;
}

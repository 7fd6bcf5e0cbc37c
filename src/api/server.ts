import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { peerServerOptions } from "../transport/index.js";
import { adminServiceHandlers } from "./admin-service.js";
import { clusterServiceHandlers } from "./cluster-service.js";
import type { ApiContext } from "./context.js";
import { jobServiceHandlers } from "./job-service.js";
import { encodeAssignmentEvent } from "../wire/assignment-codec.js";
import {
  decodeBatchUpdateJobStatusRequest,
  encodeBatchUpdateJobStatusResponse,
} from "../wire/status-codec.js";
import { loadRaftqProto } from "../wire/proto.js";
import {
  decodeSubmitJobRequest,
  decodeSubmitJobsRequest,
  encodeSubmitJobResponse,
  encodeSubmitJobsResponse,
} from "../wire/submit-codec.js";
import { workerServiceHandlers } from "./worker-service.js";

/** Largest client message (a SubmitJobs batch): 64 MiB. Single payloads are limited by the job limits. */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Register every raftq.v1 service, the standard health service and reflection on `server`. */
export function addApiServices(server: grpc.Server, ctx: ApiContext): HealthImplementation {
  const { pkg, definition } = loadRaftqProto();
  server.addService(jobServiceDefinition(), jobServiceHandlers(ctx));
  server.addService(workerServiceDefinition(), workerServiceHandlers(ctx));
  server.addService(pkg.ClusterService.service, clusterServiceHandlers(ctx));
  server.addService(pkg.AdminService.service, adminServiceHandlers(ctx));
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);
  return health;
}

type Codec = Partial<
  Pick<grpc.MethodDefinition<unknown, unknown>, "requestDeserialize" | "responseSerialize">
>;

/** `service` with some methods' server-side (de)serializers replaced. */
function withCodecs(service: grpc.ServiceDefinition, codecs: Record<string, Codec>): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...service };
  for (const [name, codec] of Object.entries(codecs)) {
    const method = service[name];
    if (method === undefined) throw new Error(`the service has no method ${name}`);
    out[name] = { ...method, ...codec };
  }
  return out;
}

/**
 * JobService as the server registers it: proto-loader's definition, with the
 * submit calls' requests decoded and responses encoded by src/wire/submit-codec.ts
 * (the hottest calls; the generic protobufjs path cost a leader ~5% of its CPU).
 * Clients keep proto-loader's serializers: the bytes are the same protobuf.
 */
export function jobServiceDefinition(): grpc.ServiceDefinition {
  return withCodecs(loadRaftqProto().pkg.JobService.service, {
    SubmitJob: {
      requestDeserialize: decodeSubmitJobRequest,
      responseSerialize: encodeSubmitJobResponse as (value: unknown) => Buffer,
    },
    SubmitJobs: {
      requestDeserialize: decodeSubmitJobsRequest,
      responseSerialize: encodeSubmitJobsResponse as (value: unknown) => Buffer,
    },
  });
}

/**
 * WorkerService as registered: assignments are encoded by src/wire/assignment-codec.ts (one
 * message per job, or per batch), BatchUpdateJobStatus goes through src/wire/status-codec.ts.
 */
export function workerServiceDefinition(): grpc.ServiceDefinition {
  return withCodecs(loadRaftqProto().pkg.WorkerService.service, {
    StreamAssignments: { responseSerialize: encodeAssignmentEvent as (value: unknown) => Buffer },
    BatchUpdateJobStatus: {
      requestDeserialize: decodeBatchUpdateJobStatusRequest,
      responseSerialize: encodeBatchUpdateJobStatusResponse as (value: unknown) => Buffer,
    },
  });
}

export function createGrpcServer(): grpc.Server {
  const peer = peerServerOptions();
  return new grpc.Server({
    ...peer,
    "grpc.max_receive_message_length": Math.max(
      MAX_CLIENT_MESSAGE_BYTES,
      (peer["grpc.max_receive_message_length"] as number | undefined) ?? 0,
    ),
  });
}

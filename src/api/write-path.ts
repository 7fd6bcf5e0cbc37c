import type * as grpc from "@grpc/grpc-js";
import { encodeCommand, type ApplyResult, type ItemOutcome, type JobCommand } from "../jobs/index.js";
import { NodeError } from "../node/errors.js";
import type { ApiContext } from "./context.js";
import type { RaftqPackage } from "../wire/proto.js";

type Call = { metadata: grpc.Metadata; getDeadline(): grpc.Deadline };

/**
 * Run a write on the leader: here if this node leads, else forwarded to the
 * leader's API (UNAVAILABLE, promptly, when no leader is known).
 */
export function onLeader<Res>(
  ctx: ApiContext,
  call: Call,
  service: keyof RaftqPackage,
  method: string,
  request: unknown,
  local: () => Promise<Res>,
): Promise<Res> {
  if (ctx.replica.isLeader()) return local();
  const { id, address } = ctx.leaderAddress();
  return ctx.forwarder.forward<Res>(service, method, request, call, id, address);
}

/** Propose a job command and wait until it is applied; returns the state machine's result. */
export async function proposeCommand(ctx: ApiContext, cmd: JobCommand): Promise<ApplyResult> {
  return (await ctx.replica.propose(encodeCommand(cmd))) as ApplyResult;
}

/** The single item's outcome, or the rejection as an error with its gRPC code and reason. */
export function expectOk(outcome: ItemOutcome | undefined): Extract<ItemOutcome, { ok: true }> {
  if (outcome === undefined) throw new NodeError("INTERNAL", "the command produced no outcome");
  if (!outcome.ok) throw new NodeError(outcome.code, outcome.message, null, outcome.reason);
  return outcome;
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

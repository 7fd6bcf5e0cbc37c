import type * as grpc from "@grpc/grpc-js";
import { voters, type ConfChange } from "../raft/index.js";
import { NodeError } from "../node/errors.js";
import { localStatus } from "./cluster-service.js";
import type { ApiContext } from "./context.js";
import { invalid, unary } from "./status.js";
import { onLeader } from "./write-path.js";

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ADDRESS_PATTERN = /^[A-Za-z0-9.-]+:[0-9]{1,5}$|^\[[0-9a-fA-F:]+\]:[0-9]{1,5}$/;
/** How long TransferLeadership waits for the new leader. */
const TRANSFER_WAIT_MS = 5_000;

function checkId(id: string): void {
  if (!ID_PATTERN.test(id))
    throw invalid(`id: ${JSON.stringify(id)} is not a valid member id (1-128 of [A-Za-z0-9._-])`);
}

async function change(ctx: ApiContext, cc: ConfChange) {
  const index = await ctx.replica.proposeConfChange(cc);
  return { index, members: localStatus(ctx).members };
}

/** AdminService: membership changes one server at a time, and leadership transfer. */
export function adminServiceHandlers(ctx: ApiContext): grpc.UntypedServiceImplementation {
  return {
    AddLearner: unary(async (req: { id: string; address: string }, call) => {
      checkId(req.id);
      if (!ADDRESS_PATTERN.test(req.address))
        throw invalid(`address: ${JSON.stringify(req.address)} is not host:port`);
      return onLeader(ctx, call, "AdminService", "AddLearner", req, () =>
        change(ctx, { type: "addLearner", nodeId: req.id, address: req.address }),
      );
    }),
    PromoteMember: unary(async (req: { id: string }, call) => {
      checkId(req.id);
      return onLeader(ctx, call, "AdminService", "PromoteMember", req, () =>
        change(ctx, { type: "promote", nodeId: req.id }),
      );
    }),
    RemoveMember: unary(async (req: { id: string }, call) => {
      checkId(req.id);
      return onLeader(ctx, call, "AdminService", "RemoveMember", req, () =>
        change(ctx, { type: "remove", nodeId: req.id }),
      );
    }),
    TransferLeadership: unary(async (req: { toId: string; onlyIfLeader: boolean }, call) => {
      if (req.toId) checkId(req.toId);
      if (req.onlyIfLeader && !ctx.replica.isLeader()) {
        return { leaderId: ctx.replica.leaderId() ?? "", transferred: false };
      }
      return onLeader(ctx, call, "AdminService", "TransferLeadership", req, async () => {
        const st = ctx.replica.core.status();
        let to = req.toId;
        if (!to) {
          // The most caught-up other voter.
          const candidates = st.peers
            .filter((p) => voters(st.membership).includes(p.id))
            .sort((a, b) => b.match - a.match);
          if (candidates.length === 0)
            throw new NodeError(
              "FAILED_PRECONDITION",
              "there is no other voter to lead",
              null,
              "NO_OTHER_VOTER",
            );
          to = candidates[0]!.id;
        }
        if (to === ctx.nodeId) return { leaderId: ctx.nodeId, transferred: false };
        ctx.replica.transferLeadership(to);
        const deadline = Date.now() + TRANSFER_WAIT_MS;
        while (Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
          const leader = ctx.replica.leaderId();
          if (leader !== null && leader !== ctx.nodeId) return { leaderId: leader, transferred: true };
        }
        throw new NodeError(
          "DEADLINE_EXCEEDED",
          `leadership did not move to ${to} within ${TRANSFER_WAIT_MS} ms`,
        );
      });
    }),
  };
}

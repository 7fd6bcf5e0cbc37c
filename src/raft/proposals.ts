import { assert } from "./assert.js";
import type { ProposeRejection, ProposeResult } from "./core-types.js";
import { checkConfChange, encodeConfChange } from "./membership.js";
import { appendAsLeader } from "./replication.js";
import type { CoreState } from "./state.js";
import { EntryType, type ConfChange, type Entry } from "./types.js";

/**
 * Proposals on the leader: application commands (all or none) and membership
 * changes (one at a time, each applied before the next is accepted). A
 * proposal is refused with a reason when this node is not the leader, a
 * leadership transfer is under way, or the uncommitted entries or bytes
 * would exceed their bounds; accepted entries go out through replication.ts.
 */

/** RaftCore.propose: append application commands as entries of this term. */
export function proposeCommands(s: CoreState, commands: readonly Uint8Array[]): ProposeResult {
  assert(commands.length > 0, "propose() needs at least one command");
  const refusal = checkCanPropose(s, commands.length, sumBytes(commands));
  if (refusal) return refusal;
  const first = s.log.lastIndex() + 1;
  const term = s.term;
  const entries: Entry[] = new Array<Entry>(commands.length);
  for (let i = 0; i < commands.length; i++)
    entries[i] = { term, index: first + i, type: EntryType.Normal, data: commands[i]! };
  appendAsLeader(s, entries);
  return { ok: true, firstIndex: first, term: s.term };
}

/** RaftCore.proposeConfChange: append a validated membership change. */
export function proposeMembershipChange(s: CoreState, cc: ConfChange): ProposeResult {
  const data = encodeConfChange(cc);
  const refusal = checkCanPropose(s, 1, data.byteLength);
  if (refusal) return refusal;
  if (s.pendingConfIndex > s.log.applied) {
    return reject(
      s,
      "confChangePending",
      `a membership change at index ${s.pendingConfIndex} is not applied yet`,
    );
  }
  const problem = checkConfChange(s.membership, cc);
  if (problem !== null) return reject(s, "invalidConfChange", problem);
  const index = s.log.lastIndex() + 1;
  s.pendingConfIndex = index;
  appendAsLeader(s, [{ term: s.term, index, type: EntryType.ConfChange, data }]);
  return { ok: true, firstIndex: index, term: s.term };
}

function checkCanPropose(s: CoreState, count: number, bytes: number): ProposeResult | null {
  if (s.role !== "leader") return reject(s, "notLeader", "this node is not the leader");
  if (s.leadTransferee !== null) {
    return reject(s, "transferring", `leadership is being transferred to ${s.leadTransferee}`);
  }
  const uncommitted = s.log.lastIndex() - s.log.committed;
  if (uncommitted + count > s.config.maxUncommittedEntries) {
    return reject(s, "tooManyUncommitted", `${uncommitted} entries are not committed yet`);
  }
  if (s.uncommittedBytes > 0 && s.uncommittedBytes + bytes > s.config.maxUncommittedBytes) {
    return reject(s, "tooManyUncommitted", `${s.uncommittedBytes} bytes are not committed yet`);
  }
  const unwritten = s.log.lastIndex() - s.log.stableIndex;
  if (unwritten + count > s.config.maxUnwrittenEntries) {
    return reject(s, "diskBehind", `${unwritten} entries are not written to this node's disk yet`);
  }
  const unwrittenBytes = unwritten === 0 ? 0 : s.log.unstableBytes();
  if (unwrittenBytes > 0 && unwrittenBytes + bytes > s.config.maxUnwrittenBytes) {
    return reject(s, "diskBehind", `${unwrittenBytes} bytes are not written to this node's disk yet`);
  }
  return null;
}

function reject(s: CoreState, reason: ProposeRejection, detail: string): ProposeResult {
  return { ok: false, reason, leader: s.leader, detail };
}

function sumBytes(items: readonly Uint8Array[]): number {
  let n = 0;
  for (const d of items) n += d.byteLength;
  return n;
}

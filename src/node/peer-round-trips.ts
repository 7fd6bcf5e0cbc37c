/**
 * The leader's replication round trip to each peer, measured on real appends:
 * from handing an append that carries entries to the transport until that
 * peer acknowledges an index at or past the append's last entry. It is what a
 * commit waits for from a follower: the network both ways, the follower's
 * queue, and its synced write. (etcd exports a peer round-trip time from
 * probes; a probe misses the follower's disk, which is most of this one.)
 *
 * One probe per peer at a time, so under load it samples rather than times
 * every append; the map holds at most one probe per member (pruned by
 * `retain`), and a probe whose ack never comes is replaced after `maxAgeMs`.
 * Time comes from the caller, as everywhere in the node's helpers.
 */
import type { Message, NodeId } from "../raft/index.js";

interface Probe {
  readonly index: number;
  readonly term: number;
  readonly sentMs: number;
}

/** A probe older than this is taken as lost (its append dropped): the next append starts a new one. */
export const PROBE_MAX_AGE_MS = 10_000;

export class PeerRoundTrips {
  private readonly probes = new Map<NodeId, Probe>();

  constructor(
    private readonly observe: (peer: NodeId, seconds: number) => void,
    private readonly maxAgeMs = PROBE_MAX_AGE_MS,
  ) {}

  /** Probes in flight (at most one per peer). */
  get size(): number {
    return this.probes.size;
  }

  /** Messages handed to the transport: an append with entries starts a probe to a peer that has none. */
  sent(messages: readonly Message[], nowMs: number): void {
    for (const m of messages) {
      if (m.type !== "append" || m.entries.length === 0) continue;
      const probe = this.probes.get(m.to);
      if (probe !== undefined && probe.term === m.term && nowMs - probe.sentMs < this.maxAgeMs) continue;
      this.probes.set(m.to, { index: m.entries[m.entries.length - 1]!.index, term: m.term, sentMs: nowMs });
    }
  }

  /** A message from a peer: an acknowledgement covering its probe ends it and is observed. */
  received(m: Message, nowMs: number): void {
    if (m.type !== "appendResp") return;
    const probe = this.probes.get(m.from);
    if (probe === undefined) return;
    // A refusal or another term: that append did not land as sent; nothing to time.
    if (m.reject || m.term !== probe.term) {
      this.probes.delete(m.from);
      return;
    }
    if (m.index < probe.index) return; // an ack of an earlier append
    this.probes.delete(m.from);
    this.observe(m.from, Math.max(0, nowMs - probe.sentMs) / 1000);
  }

  /** Forget probes to nodes that are no longer peers. */
  retain(peers: ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown>): void {
    for (const id of this.probes.keys()) if (!peers.has(id)) this.probes.delete(id);
  }
}

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * Every metric a raftq node exports on /metrics (docs/operations.md explains
 * each). One registry per node, so tests can run several nodes in a process.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly role: Gauge;
  readonly term: Gauge;
  readonly leaderChanges: Counter;
  readonly commitIndex: Gauge;
  readonly appliedIndex: Gauge;
  readonly proposalsPending: Gauge;
  readonly proposalsRejected: Counter;
  readonly proposalCommitSeconds: Histogram;
  readonly fsyncSeconds: Histogram;
  readonly appendBatchEntries: Histogram;
  readonly snapshots: Counter;
  readonly snapshotSeconds: Histogram;
  readonly snapshotBytes: Gauge;
  readonly snapshotsInstalled: Counter;
  readonly peerMatchIndex: Gauge;
  readonly peerLastContactSeconds: Gauge;
  readonly peerAppendRoundTripSeconds: Histogram;
  readonly jobs: Gauge;
  readonly workersLive: Gauge;
  readonly workersRegistered: Gauge;
  readonly eventLoopLagSeconds: Gauge;
  readonly eventLoopStalls: Counter;

  constructor(nodeId: string, clusterId: string) {
    const r = this.registry;
    r.setDefaultLabels({ node: nodeId, cluster: clusterId });
    collectDefaultMetrics({ register: r, prefix: "raftq_process_" });
    this.role = new Gauge({
      name: "raftq_raft_role",
      help: "1 for the role this node has now (leader, follower, candidate, precandidate, learner), 0 for the others",
      labelNames: ["role"],
      registers: [r],
    });
    this.term = new Gauge({ name: "raftq_raft_term", help: "Current Raft term", registers: [r] });
    this.leaderChanges = new Counter({
      name: "raftq_raft_leader_changes_total",
      help: "Leaderships this node learned of (a new leader, or the same one in a new term); losing touch with the leader and finding it again counts nothing",
      registers: [r],
    });
    this.commitIndex = new Gauge({
      name: "raftq_raft_commit_index",
      help: "Highest committed log index",
      registers: [r],
    });
    this.appliedIndex = new Gauge({
      name: "raftq_raft_applied_index",
      help: "Highest log index applied to the job queue",
      registers: [r],
    });
    this.proposalsPending = new Gauge({
      name: "raftq_proposals_pending",
      help: "Client commands accepted by this leader and not yet applied",
      registers: [r],
    });
    this.proposalsRejected = new Counter({
      name: "raftq_proposals_rejected_total",
      help: "Proposals refused or failed, by reason",
      labelNames: ["reason"],
      registers: [r],
    });
    this.proposalCommitSeconds = new Histogram({
      name: "raftq_proposal_commit_seconds",
      help: "Time from proposal to applied on the leader",
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [r],
    });
    this.fsyncSeconds = new Histogram({
      name: "raftq_storage_fsync_seconds",
      help: "Duration of one synced storage write (a Ready batch: group commit)",
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [r],
    });
    this.appendBatchEntries = new Histogram({
      name: "raftq_append_batch_entries",
      help: "Log entries persisted per synced write",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers: [r],
    });
    this.snapshots = new Counter({
      name: "raftq_snapshots_total",
      help: "Snapshots produced",
      registers: [r],
    });
    this.snapshotSeconds = new Histogram({
      name: "raftq_snapshot_seconds",
      help: "Time to produce a snapshot",
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [r],
    });
    this.snapshotBytes = new Gauge({
      name: "raftq_snapshot_bytes",
      help: "Size of the latest snapshot",
      registers: [r],
    });
    this.snapshotsInstalled = new Counter({
      name: "raftq_snapshots_installed_total",
      help: "Snapshots received from a leader and installed",
      registers: [r],
    });
    this.peerMatchIndex = new Gauge({
      name: "raftq_peer_match_index",
      help: "Leader only: highest log index known replicated on each peer",
      labelNames: ["peer"],
      registers: [r],
    });
    this.peerLastContactSeconds = new Gauge({
      name: "raftq_peer_last_contact_seconds",
      help: "Leader only: seconds since each peer last answered",
      labelNames: ["peer"],
      registers: [r],
    });
    this.peerAppendRoundTripSeconds = new Histogram({
      name: "raftq_peer_append_round_trip_seconds",
      help: "Leader only: from sending a peer an append with entries until the peer acknowledges them (network both ways plus the peer's synced write); one append per peer timed at a time",
      labelNames: ["peer"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [r],
    });
    this.jobs = new Gauge({
      name: "raftq_jobs",
      help: "Jobs by state and queue, as applied on this node",
      labelNames: ["state", "queue"],
      registers: [r],
    });
    this.workersLive = new Gauge({
      name: "raftq_workers_live",
      help: "Leader only: workers heard within the liveness window",
      registers: [r],
    });
    this.workersRegistered = new Gauge({
      name: "raftq_workers_registered",
      help: "Registered workers, as applied on this node",
      registers: [r],
    });
    this.eventLoopLagSeconds = new Gauge({
      name: "raftq_event_loop_lag_seconds",
      help: "Event-loop delay p99 over the last scrape interval",
      registers: [r],
    });
    this.eventLoopStalls = new Counter({
      name: "raftq_event_loop_stalls_total",
      help: "Times no timer ran for 100 ms or more (heartbeats and election checks late)",
      registers: [r],
    });
  }
}

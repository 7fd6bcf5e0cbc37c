import type * as grpc from "@grpc/grpc-js";
import type { Server as HttpServer } from "node:http";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { Logger } from "pino";
import type { HealthImplementation } from "grpc-health-check";
import { DEFAULT_LIMITS, type JobLimits } from "../jobs/index.js";
import { RaftCore, type Member } from "../raft/index.js";
import { openStorage, type RaftStorage } from "../storage/index.js";
import { GrpcTransport } from "../transport/index.js";
import { NodeMetrics } from "../observability/metrics.js";
import { startHttpServer, type Readiness } from "../observability/http.js";
import { Forwarder } from "../api/forwarder.js";
import { addApiServices, createGrpcServer } from "../api/server.js";
import { widenServerWindows } from "../api/flow-control.js";
import type { ApiContext } from "../api/context.js";
import { checkNodeConfig, type NodeConfig } from "../node/config.js";
import { JobMachine } from "../node/job-machine.js";
import { LeaderDuties } from "../node/leader-duties.js";
import { Replica } from "../node/replica.js";
import { WorkerHub } from "../node/worker-hub.js";

/** Applied may trail commit by this much and still count as ready. */
const READY_APPLY_LAG_ENTRIES = 1000;
const METRICS_REFRESH_MS = 1000;

export interface StartOptions {
  readonly logger: Logger;
  /** Called on a storage failure or broken invariant. Default: exit the process with status 1. */
  readonly onFatal?: (error: unknown) => void;
  readonly limits?: JobLimits;
}

/**
 * One raftq server: the replica (core, storage, transport), the job queue
 * state machine, the leader's duties, the gRPC API and the HTTP endpoint.
 */
export class RaftqNode implements ApiContext {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly tickMs: number;
  readonly livenessWindowMs: number;
  readonly heartbeatIntervalMs: number;
  readonly limits: JobLimits;
  readonly metrics: NodeMetrics;
  /** Ports actually bound (useful with port 0). */
  grpcPort = 0;
  httpPort = 0;
  readonly replica: Replica;
  readonly machine: JobMachine;
  readonly duties: LeaderDuties;
  readonly hub: WorkerHub;
  readonly forwarder: Forwarder;
  private readonly storage: RaftStorage;
  private readonly transport: GrpcTransport;
  private readonly server: grpc.Server;
  private health: HealthImplementation | null = null;
  private http: HttpServer | null = null;
  private metricsTimer: NodeJS.Timeout | null = null;
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly seedPeers: ReadonlyMap<string, string>;
  private readonly logger: Logger;
  private stopped = false;

  private constructor(
    readonly config: NodeConfig,
    parts: {
      storage: RaftStorage;
      core: RaftCore;
      machine: JobMachine;
      logger: Logger;
      onFatal: (e: unknown) => void;
      limits: JobLimits;
    },
  ) {
    this.nodeId = config.id;
    this.clusterId = config.clusterId;
    this.tickMs = config.tickMs;
    this.livenessWindowMs = config.livenessWindowMs;
    this.heartbeatIntervalMs = Math.max(100, Math.floor(config.livenessWindowMs / 6));
    this.limits = parts.limits;
    this.logger = parts.logger;
    this.storage = parts.storage;
    this.machine = parts.machine;
    this.metrics = new NodeMetrics(config.id, config.clusterId);
    this.seedPeers = new Map(config.peers.map((p) => [p.id, p.address]));
    this.transport = new GrpcTransport({
      clusterId: config.clusterId,
      selfId: config.id,
      logger: parts.logger,
    });
    this.replica = new Replica({
      core: parts.core,
      storage: parts.storage,
      transport: this.transport,
      stateMachine: parts.machine,
      logger: parts.logger,
      metrics: this.metrics,
      tickMs: config.tickMs,
      maxPendingProposals: config.maxPendingProposals,
      proposalTimeoutMs: config.proposalTimeoutMs,
      snapshotThreshold: config.snapshotThreshold,
      seedPeers: this.seedPeers,
      onFatal: parts.onFatal,
      onProgress: () => this.duties?.poke(),
    });
    this.duties = new LeaderDuties({
      replica: this.replica,
      machine: parts.machine,
      logger: parts.logger,
      livenessWindowMs: config.livenessWindowMs,
    });
    this.hub = new WorkerHub(parts.machine);
    this.forwarder = new Forwarder(config.proposalTimeoutMs);
    this.server = createGrpcServer();
  }

  /** Open storage, restore state, bind ports and start serving. */
  static async start(config: NodeConfig, options: StartOptions): Promise<RaftqNode> {
    const problems = checkNodeConfig(config);
    if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join("; ")}`);
    const logger = options.logger;
    const onFatal =
      options.onFatal ??
      ((e: unknown) => {
        logger.fatal({ err: e }, "exiting after a fatal error");
        logger.flush?.();
        setTimeout(() => process.exit(1), 50);
      });
    const limits = options.limits ?? DEFAULT_LIMITS;
    const storage = await openStorage(config.dataDir === null ? {} : { dataDir: config.dataDir });
    const persisted = await storage.load();
    if (persisted.meta !== null) {
      if (persisted.meta.clusterId !== config.clusterId || persisted.meta.nodeId !== config.id) {
        await storage.close();
        throw new Error(
          `data dir belongs to node ${persisted.meta.nodeId} of cluster ${persisted.meta.clusterId}, not ${config.id} of ${config.clusterId}`,
        );
      }
    } else {
      await storage.write({ meta: { clusterId: config.clusterId, nodeId: config.id } });
    }
    const machine = new JobMachine(limits);
    if (persisted.snapshot !== null)
      machine.restore(persisted.snapshot.data, persisted.snapshot.metadata.index);
    const hasState =
      persisted.snapshot !== null || persisted.entries.length > 0 || persisted.hardState.term > 0;
    const bootstrap = !config.join && config.peers.some((p) => p.id === config.id);
    const initialMembers: Member[] = bootstrap
      ? config.peers.map((p) => ({ id: p.id, address: p.address, role: "voter" as const }))
      : [];
    const ticks = (ms: number) => Math.max(1, Math.round(ms / config.tickMs));
    const core = new RaftCore(
      {
        id: config.id,
        initialMembers,
        random: Math.random,
        electionTimeoutMinTicks: ticks(config.electionTimeoutMinMs),
        electionTimeoutMaxTicks: ticks(config.electionTimeoutMaxMs),
        heartbeatTicks: ticks(config.heartbeatIntervalMs),
        // Followers learn a new commit index with the next append, or a tick (10 ms) later.
        commitNoticeOnTick: true,
      },
      hasState ? persisted : undefined,
    );
    const node = new RaftqNode(config, { storage, core, machine, logger, onFatal, limits });
    await node.listen();
    logger.info(
      {
        grpcPort: node.grpcPort,
        httpPort: node.httpPort,
        dataDir: config.dataDir,
        storage: storage.kind,
        restoredIndex: persisted.snapshot?.metadata.index ?? 0,
        logEntries: persisted.entries.length,
        mode: hasState ? "restart" : bootstrap ? "bootstrap" : "join",
      },
      "raftq node started",
    );
    return node;
  }

  private async listen(): Promise<void> {
    this.transport.addToServer(this.server);
    this.health = addApiServices(this.server, this);
    const grpcLib = await import("@grpc/grpc-js");
    this.grpcPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(
        `${this.config.host}:${this.config.grpcPort}`,
        grpcLib.ServerCredentials.createInsecure(),
        (e, port) => {
          if (e) return reject(e);
          // Before any connection is accepted: see src/api/flow-control.ts.
          widenServerWindows(this.server);
          resolve(port);
        },
      ),
    );
    const http = await startHttpServer({
      host: this.config.host,
      port: this.config.httpPort,
      registry: this.metrics.registry,
      readiness: () => this.readiness(),
    });
    this.http = http.server;
    this.httpPort = http.port;
    this.loopDelay.enable();
    this.replica.start();
    this.duties.start();
    this.metricsTimer = setInterval(() => this.refreshMetrics(), METRICS_REFRESH_MS);
    this.metricsTimer.unref();
  }

  leaderAddress(): { id: string | null; address: string | undefined } {
    const st = this.replica.core.status();
    const id = st.leader;
    if (id === null) return { id: null, address: undefined };
    const member = st.membership.members.find((m) => m.id === id);
    return { id, address: member?.address ?? this.seedPeers.get(id) };
  }

  /** Ready = knows a leader, is in the committed configuration, and has applied close to the commit index. */
  readiness(): Readiness {
    const st = this.replica.core.status();
    if (st.leader === null) return { ready: false, reason: "no leader known" };
    if (!st.membership.members.some((m) => m.id === this.nodeId))
      return { ready: false, reason: "not (yet) a member of the committed configuration" };
    const lag = st.commit - this.machine.appliedIndex;
    if (lag > READY_APPLY_LAG_ENTRIES)
      return { ready: false, reason: `applying: ${lag} entries behind commit` };
    return { ready: true, reason: `ready: ${st.role}, leader ${st.leader}, term ${st.term}` };
  }

  private refreshMetrics(): void {
    const st = this.replica.core.status();
    const m = this.metrics;
    for (const role of ["leader", "follower", "candidate", "preCandidate", "learner"])
      m.role.set({ role: role.toLowerCase() }, st.role === role ? 1 : 0);
    m.term.set(st.term);
    m.commitIndex.set(st.commit);
    m.appliedIndex.set(this.machine.appliedIndex);
    m.peerMatchIndex.reset();
    m.peerLastContactSeconds.reset();
    for (const p of st.peers) {
      m.peerMatchIndex.set({ peer: p.id }, p.match);
      if (p.lastContactTick >= 0)
        m.peerLastContactSeconds.set({ peer: p.id }, ((st.tick - p.lastContactTick) * this.tickMs) / 1000);
    }
    m.jobs.reset();
    for (const q of this.machine.state.countsByStateAndQueue()) {
      for (const [state, n] of Object.entries(q.counts)) m.jobs.set({ state, queue: q.queue }, n);
    }
    m.workersRegistered.set(this.machine.state.workers().length);
    m.workersLive.set(this.duties.liveWorkers());
    m.eventLoopLagSeconds.set(this.loopDelay.percentile(99) / 1e9);
    this.loopDelay.reset();
    this.health?.setStatus("", this.readiness().ready ? "SERVING" : "NOT_SERVING");
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.metricsTimer !== null) clearInterval(this.metricsTimer);
    this.loopDelay.disable();
    this.duties.stop();
    await this.replica.stop();
    // Peer streams are long-lived: close them first or graceful shutdown waits forever.
    await this.transport.close();
    this.forwarder.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
    this.http?.closeAllConnections();
    await this.storage.close();
  }
}

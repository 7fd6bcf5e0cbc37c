/**
 * One operator replica: health and metrics endpoints, leader election (or
 * not), and the controller while this replica leads. Losing the lease stops
 * the controller at once; the caller decides what follows (the CLI exits, so
 * the pod restarts clean, as client-go operators do).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { Controller, type ControllerOptions } from "./controller.js";
import { listen } from "./health.js";
import { LeaderElector } from "./leader-election.js";
import { OperatorMetrics } from "./metrics.js";

export interface OperatorOptions extends Omit<ControllerOptions, "metrics"> {
  kubeConfig: KubeConfig;
  leaderElect: boolean;
  /** Namespace of the Lease. */
  leaseNamespace: string;
  leaseName?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** 0 = any free port; null = do not serve. */
  healthPort: number | null;
  metricsPort: number | null;
  host?: string;
  /** Called when this replica lost the lease it held. */
  onLostLease?: () => void;
}

export interface RunningOperator {
  healthPort: number | null;
  metricsPort: number | null;
  isLeader(): boolean;
  controller(): Controller | null;
  /** Graceful: finish in-flight work, release the lease. */
  stop(): Promise<void>;
  /** As a killed process: abandon work, keep the lease until it expires. */
  kill(): Promise<void>;
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const metrics = new OperatorMetrics();
  let controller: Controller | null = null;
  let starting: Promise<void> | null = null;
  const servers: Server[] = [];
  const host = opts.host ?? "0.0.0.0";
  let elector: LeaderElector | null = null;

  const lead = () => {
    metrics.leader.set(1);
    controller = new Controller({ ...opts, metrics });
    starting = controller
      .start()
      .catch((e: unknown) => opts.log.error({ error: String(e) }, "controller failed"));
  };
  const unlead = () => {
    metrics.leader.set(0);
    controller?.kill();
    controller = null;
    opts.onLostLease?.();
  };

  const ready = () => (elector !== null && !elector.isLeader) || (controller?.hasSynced ?? false);
  let healthPort: number | null = null;
  let metricsPort: number | null = null;
  if (opts.healthPort !== null) {
    const same = opts.metricsPort === opts.healthPort && opts.healthPort !== 0;
    const h = await listen(opts.healthPort, host, {
      health: { ready, registry: metrics.registry },
      ...(same ? { metrics: metrics.registry } : {}),
    });
    servers.push(h.server);
    healthPort = h.port;
    if (same) metricsPort = h.port;
  }
  if (opts.metricsPort !== null && metricsPort === null) {
    const m = await listen(opts.metricsPort, host, { metrics: metrics.registry });
    servers.push(m.server);
    metricsPort = m.port;
  }

  if (opts.leaderElect) {
    elector = new LeaderElector(opts.kubeConfig, {
      namespace: opts.leaseNamespace,
      name: opts.leaseName ?? "raftq-operator",
      identity: opts.identity ?? `${hostname()}-${process.pid}`,
      ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
      ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      onStartedLeading: lead,
      onStoppedLeading: unlead,
      log: (msg, fields) => opts.log.info(fields ?? {}, msg),
    });
    elector.start();
  } else {
    lead();
  }

  const closeServers = () =>
    Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res())))).then(() => undefined);

  return {
    healthPort,
    metricsPort,
    isLeader: () => (elector === null ? true : elector.isLeader),
    controller: () => controller,
    stop: async () => {
      await starting;
      await controller?.stop();
      await elector?.stop(true);
      await closeServers();
    },
    kill: async () => {
      controller?.kill();
      controller = null;
      await elector?.stop(false);
      await closeServers();
    },
  };
}

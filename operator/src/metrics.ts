/** The operator's Prometheus metrics (its own registry, served on --metrics-port). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconciles = new Counter({
    name: "raftq_operator_reconciles_total",
    help: "Reconciles by result",
    labelNames: ["result"],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "raftq_operator_reconcile_seconds",
    help: "Time per reconcile",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15],
    registers: [this.registry],
  });
  private readonly steps = new Counter({
    name: "raftq_operator_steps_total",
    help: "Steps executed, by kind (add-learner, promote, remove-member, delete-pod, ...)",
    labelNames: ["kind"],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "raftq_operator_leader",
    help: "1 while this replica holds the leader-election lease",
    registers: [this.registry],
  });

  reconciled(result: "ok" | "error", ms: number): void {
    this.reconciles.inc({ result });
    this.duration.observe(ms / 1000);
  }

  step(kind: string): void {
    this.steps.inc({ kind });
  }
}

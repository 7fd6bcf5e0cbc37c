/**
 * Leader election among operator replicas through a coordination.k8s.io
 * Lease, as client-go does it: the holder renews every retry period; another
 * replica takes over only after it has seen the same lease record unchanged
 * for a whole lease duration (measured on its own clock, so clock skew
 * between replicas does not matter); a leader that cannot renew within the
 * renew deadline stops leading. Writes carry the resourceVersion they read,
 * so two replicas racing for an expired lease cannot both win (409).
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { httpCode } from "./kube.js";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private observed: { record: string; at: number } | null = null;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    kc: KubeConfig,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get durationMs(): number {
    return this.opts.leaseDurationMs ?? 15_000;
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        this.opts.log?.("lease request failed", { error: String(e) });
      }
      if (this.stopped) break;
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.opts.log?.("became leader", { lease: `${this.opts.namespace}/${this.opts.name}` });
          this.opts.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenew > (this.opts.renewDeadlineMs ?? 10_000)) {
        this.leading = false;
        this.opts.log?.("lost the lease", { lease: `${this.opts.namespace}/${this.opts.name}` });
        this.opts.onStoppedLeading();
      }
      await new Promise<void>((res) => {
        this.wake = res;
        this.timer = setTimeout(res, this.opts.retryPeriodMs ?? 2_000);
      });
    }
  }

  private spec(now: Date, transitions: number, acquire: Date | undefined): V1Lease["spec"] {
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.durationMs / 1000)),
      acquireTime: acquire ?? now,
      renewTime: now,
      leaseTransitions: transitions,
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (httpCode(e) !== 404) throw e;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: this.spec(now, 0, undefined) },
        });
        return true;
      } catch (e2) {
        if (httpCode(e2) === 409) return false;
        throw e2;
      }
    }
    const holder = lease.spec?.holderIdentity ?? "";
    const record = `${holder}|${lease.spec?.renewTime?.toString() ?? ""}|${lease.metadata?.resourceVersion ?? ""}`;
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const expired = holder === "" || Date.now() - this.observed.at > this.durationMs;
    if (holder !== identity && !expired) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { ...lease.metadata, name, namespace },
          spec: this.spec(now, transitions, holder === identity ? lease.spec?.acquireTime : undefined),
        },
      });
      return true;
    } catch (e) {
      if (httpCode(e) === 409) return false;
      throw e;
    }
  }

  /** Stops; with release, hands the lease back so another replica need not wait for it to expire. */
  async stop(release: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    if (release && this.leading) {
      try {
        const lease = await this.api.readNamespacedLease({
          name: this.opts.name,
          namespace: this.opts.namespace,
        });
        if (lease.spec?.holderIdentity === this.opts.identity) {
          await this.api.replaceNamespacedLease({
            name: this.opts.name,
            namespace: this.opts.namespace,
            body: {
              metadata: lease.metadata,
              spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
            },
          });
        }
      } catch (e) {
        this.opts.log?.("could not release the lease", { error: String(e) });
      }
    }
    this.leading = false;
  }
}

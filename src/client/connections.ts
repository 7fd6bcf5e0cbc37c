/**
 * The client's view of the cluster: one gRPC channel per node address, the
 * leader (learned from `raftq-leader-id` and GetClusterStatus), and the retry
 * loop every call goes through (exponential backoff with jitter, bounded by
 * the caller's deadline and a maximum number of attempts).
 */
import * as grpc from "@grpc/grpc-js";
import { loadRaftqProto } from "../wire/proto.js";
import { backoffDelayMs, sleep, type BackoffOptions } from "./backoff.js";
import { RaftqError, toRaftqError } from "./errors.js";
import type { WireClusterStatus } from "./wire.js";

export type ServiceName = "JobService" | "WorkerService" | "ClusterService" | "AdminService";

/** How the client reaches the cluster and retries. */
export interface ConnectionOptions {
  /** host:port of one or more nodes (any node will do; the leader is found). Required, non-empty. */
  endpoints: readonly string[];
  /** Deadline of a whole operation, retries included, in ms. Default 15000. */
  timeoutMs?: number;
  /** Deadline of one attempt in ms, so a hung node is left for another. Default 6000. */
  attemptTimeoutMs?: number;
  /** Spacing of retries. Default { initialMs: 50, maxMs: 2000, multiplier: 2 }. */
  backoff?: BackoffOptions;
  /** Most attempts of one operation. Default 30. */
  maxAttempts?: number;
  /** How long a node that could not be reached is skipped, in ms. Default 1000. */
  downPenaltyMs?: number;
  /**
   * Ping an idle connection this often, in ms. A node that froze or sits behind a
   * partition sends no reset, and a worker's assignment stream would wait on it
   * forever; pings notice within keepaliveTimeMs + keepaliveTimeoutMs. Default 10000.
   */
  keepaliveTimeMs?: number;
  /** How long a ping may go unanswered before the connection is dropped, in ms. Default 5000. */
  keepaliveTimeoutMs?: number;
  /** Called before each retry (for logs and metrics). Default: none. */
  onRetry?: (info: {
    service: string;
    method: string;
    error: RaftqError;
    attempt: number;
    delayMs: number;
  }) => void;
  /** Extra grpc-js channel options. Default: 64 MiB message limits. */
  channelOptions?: grpc.ChannelOptions;
}

/** Per-call options. */
export interface CallOptions {
  /** Deadline of this operation, retries included, in ms. Default: the client's timeoutMs. */
  timeoutMs?: number;
  /** Abort the operation (rejects with a CANCELLED RaftqError). */
  signal?: AbortSignal;
}

/** Where a call goes and what it may retry. */
export interface CallPolicy {
  /** "leader": writes (sent straight to the leader when known); "any": reads. */
  target: "leader" | "any";
  /** Safe to repeat after DEADLINE_EXCEEDED (reads, and submits thanks to the idempotency key). */
  idempotent: boolean;
}

/** Status codes worth another attempt: the cluster is busy or between leaders. */
function isRetryable(e: RaftqError, policy: CallPolicy): boolean {
  if (e.code === "UNAVAILABLE" || e.code === "RESOURCE_EXHAUSTED") return true;
  return e.code === "DEADLINE_EXCEEDED" && policy.idempotent;
}

/** Shortest interval between two leader look-ups, in ms. */
const REFRESH_INTERVAL_MS = 500;
/** Deadline of a leader look-up, in ms. */
const REFRESH_TIMEOUT_MS = 1_000;

export class Connections {
  readonly endpoints: readonly string[];
  private readonly clients = new Map<string, grpc.Client>();
  private readonly addressById = new Map<string, string>();
  private readonly downUntil = new Map<string, number>();
  private leaderId: string | null = null;
  private next = 0;
  private lastRefreshMs = 0;
  private refreshing: Promise<void> | null = null;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly downPenaltyMs: number;

  constructor(private readonly options: ConnectionOptions) {
    const endpoints = options.endpoints.map((e) => e.trim()).filter((e) => e !== "");
    if (endpoints.length === 0)
      throw new RaftqError("INVALID_ARGUMENT", "endpoints: give at least one host:port");
    this.endpoints = [...new Set(endpoints)];
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 6_000;
    this.maxAttempts = options.maxAttempts ?? 30;
    this.downPenaltyMs = options.downPenaltyMs ?? 1_000;
  }

  /** The leader's id as last learned, or null. */
  get leader(): string | null {
    return this.leaderId;
  }

  /** The address of member `id` as last learned from a cluster status. */
  addressOf(id: string): string | undefined {
    return this.addressById.get(id);
  }

  client(address: string): grpc.Client {
    if (this.closed) throw new RaftqError("CANCELLED", "the client is closed");
    let c = this.clients.get(address);
    if (c === undefined) {
      c = new grpc.Client(address, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1_000,
        "grpc.keepalive_time_ms": this.options.keepaliveTimeMs ?? 10_000,
        "grpc.keepalive_timeout_ms": this.options.keepaliveTimeoutMs ?? 5_000,
        "grpc.keepalive_permit_without_calls": 1,
        ...this.options.channelOptions,
      });
      this.clients.set(address, c);
    }
    return c;
  }

  /** Learn the leader and member addresses from a cluster status. */
  noteStatus(status: WireClusterStatus): void {
    for (const m of status.members ?? []) if (m.address) this.addressById.set(m.id, m.address);
    this.leaderId = status.leaderId || null;
  }

  /** Where the next call goes: the leader for writes when known and reachable, else the next node in turn. */
  pick(target: "leader" | "any"): string {
    const now = Date.now();
    if (target === "leader" && this.leaderId !== null) {
      const addr = this.addressById.get(this.leaderId);
      if (addr !== undefined && (this.downUntil.get(addr) ?? 0) <= now) return addr;
    }
    const candidates = [...new Set([...this.endpoints, ...this.addressById.values()])];
    for (let i = 0; i < candidates.length; i++) {
      const addr = candidates[(this.next + i) % candidates.length]!;
      if ((this.downUntil.get(addr) ?? 0) <= now) {
        this.next = (this.next + i + 1) % candidates.length;
        return addr;
      }
    }
    // All look down: try the one that has been down longest.
    const sorted = [...candidates].sort(
      (a, b) => (this.downUntil.get(a) ?? 0) - (this.downUntil.get(b) ?? 0),
    );
    return sorted[0]!;
  }

  /** Remember that `address` could not be reached, so calls try others first for a while. */
  markDown(address: string): void {
    this.downUntil.set(address, Date.now() + this.downPenaltyMs);
    if (this.leaderId !== null && this.addressById.get(this.leaderId) === address) this.leaderId = null;
  }

  /** Ask any node who leads (rate-limited; never throws). */
  refreshLeader(): Promise<void> {
    if (this.refreshing !== null) return this.refreshing;
    if (Date.now() - this.lastRefreshMs < REFRESH_INTERVAL_MS) return Promise.resolve();
    this.lastRefreshMs = Date.now();
    const address = this.pick("any");
    this.refreshing = this.once<WireClusterStatus>(
      "ClusterService",
      "GetClusterStatus",
      { local: false },
      address,
      {
        deadlineMs: Date.now() + REFRESH_TIMEOUT_MS,
      },
    )
      .then((s) => this.noteStatus(s))
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  private method(service: ServiceName, method: string): grpc.MethodDefinition<unknown, unknown> {
    const def = loadRaftqProto().definition[`raftq.v1.${service}`] as
      Record<string, grpc.MethodDefinition<unknown, unknown>> | undefined;
    const m = def?.[method];
    if (m === undefined) throw new RaftqError("UNIMPLEMENTED", `no method raftq.v1.${service}/${method}`);
    return m;
  }

  /** One attempt of a unary call to `address`. */
  once<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    address: string,
    opts: { deadlineMs: number; signal?: AbortSignal },
  ): Promise<Res> {
    const def = this.method(service, method);
    return new Promise<Res>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new RaftqError("CANCELLED", "the call was aborted", { endpoint: address }));
        return;
      }
      const call = this.client(address).makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: new Date(opts.deadlineMs) },
        (e, res) => {
          opts.signal?.removeEventListener("abort", onAbort);
          if (e) reject(toRaftqError(e, address));
          else resolve(res as Res);
        },
      );
      const onAbort = (): void => call.cancel();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A server-streaming call to `address`. */
  stream<Event>(
    service: ServiceName,
    method: string,
    request: unknown,
    address: string,
  ): grpc.ClientReadableStream<Event> {
    const def = this.method(service, method);
    return this.client(address).makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      new grpc.Metadata(),
      {},
    ) as grpc.ClientReadableStream<Event>;
  }

  /**
   * A unary call with leader following and retries: UNAVAILABLE and
   * RESOURCE_EXHAUSTED (and DEADLINE_EXCEEDED when `policy.idempotent`) are
   * retried with backoff until the operation's deadline; a follower naming
   * the leader sends the next attempt straight there.
   */
  async call<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    policy: CallPolicy,
    opts: CallOptions = {},
  ): Promise<Res> {
    const deadlineMs = Date.now() + (opts.timeoutMs ?? this.timeoutMs);
    let last: RaftqError | null = null;
    let attempts = 0;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      attempts = attempt + 1;
      const address = this.pick(policy.target);
      const attemptDeadlineMs = Math.min(deadlineMs, Date.now() + this.attemptTimeoutMs);
      try {
        const res = await this.once<Res>(service, method, request, address, {
          deadlineMs: attemptDeadlineMs,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        if (service === "ClusterService") this.noteStatus(res as WireClusterStatus);
        else if (policy.target === "leader" && this.leaderId === null) void this.refreshLeader();
        return res;
      } catch (e) {
        let err = toRaftqError(e, address);
        if (err.code === "DEADLINE_EXCEEDED" && last !== null && Date.now() >= deadlineMs - 5) {
          // The operation's deadline cut the last attempt short: the earlier answer says why it failed.
          err = last;
        }
        last = err;
        if (opts.signal?.aborted) throw err.withAttempts(attempt + 1);
        if (!isRetryable(err, policy)) throw err.withAttempts(attempt + 1);
        let redirected = false;
        if (err.leaderId !== null) {
          if (this.addressById.get(err.leaderId) === undefined) await this.refreshLeader();
          redirected = this.addressById.get(err.leaderId) !== undefined && this.leaderId !== err.leaderId;
          this.leaderId = err.leaderId;
        } else if (err.code === "UNAVAILABLE" && err.reason === null) {
          // No answer from the node itself: skip it for a while and look for the leader elsewhere.
          this.markDown(address);
          void this.refreshLeader();
        }
        // A fresh redirect to a newly named leader goes at once; everything else waits.
        const delayMs = redirected ? 0 : backoffDelayMs(attempt, this.options.backoff);
        if (Date.now() + delayMs >= deadlineMs) break;
        this.options.onRetry?.({ service, method, error: err, attempt: attempts, delayMs });
        try {
          await sleep(delayMs, opts.signal);
        } catch {
          throw new RaftqError("CANCELLED", "the call was aborted", {
            endpoint: address,
            attempts: attempt + 1,
          });
        }
      }
    }
    throw (
      last ?? new RaftqError("DEADLINE_EXCEEDED", "no attempt was made before the deadline")
    ).withAttempts(attempts);
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

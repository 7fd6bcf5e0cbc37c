/**
 * The outbound half towards one peer: one long-lived client stream, a
 * bounded queue in front of it, and reconnection with backoff.
 *
 * States: connecting -> connected -> (stream ends) backoff -> connecting ...
 * Only `connected` accepts batches; in every other state they are dropped
 * and counted rather than buffered, because by the time a peer comes back
 * Raft has resent whatever still matters.
 */

import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { NodeId } from "../raft/types.js";
import { reconnectDelayMs } from "./backoff.js";
import { BatchQueue } from "./batch-queue.js";
import {
  CLUSTER_ID_METADATA,
  FROM_METADATA,
  peerChannelOptions,
  peerService,
  type PeerBatchWire,
} from "./peer-service.js";
import type { PeerStats } from "./transport.js";

export interface PeerLinkOptions {
  readonly clusterId: string;
  readonly selfId: NodeId;
  readonly peerId: NodeId;
  readonly address: string;
  readonly maxQueuedBytes: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** A stream the peer has not accepted within this long is abandoned and retried. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly random: () => number;
}

type State = "connecting" | "connected" | "backoff" | "closed";

/** One stream attempt. A fresh channel per attempt re-resolves DNS: a pod may come back elsewhere. */
interface Attempt {
  readonly client: grpc.Client;
  readonly call: grpc.ClientWritableStream<PeerBatchWire>;
  /** Bytes written to the call whose write callback has not fired yet. */
  inflightBytes: number;
  waitingDrain: boolean;
  timedOut: boolean;
  connectTimer: NodeJS.Timeout | undefined;
}

export class PeerLink {
  private state: State = "backoff";
  private attempt: Attempt | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Consecutive failed attempts: drives the backoff. */
  private failedAttempts = 0;
  /** A warning was logged for the current outage: further failures log at debug. */
  private outageLogged = false;
  private readonly queue: BatchQueue;
  private readonly log: Logger;
  private readonly envelope: { cluster_id: string; from: string };

  private dropped = 0;
  private sentBatches = 0;
  private sentMessages = 0;
  private sentBytes = 0;
  private connects = 0;
  private failures = 0;

  constructor(private readonly opts: PeerLinkOptions) {
    this.queue = new BatchQueue(opts.maxQueuedBytes);
    this.log = opts.logger.child({ peer: opts.peerId, address: opts.address });
    this.envelope = { cluster_id: opts.clusterId, from: opts.selfId };
    this.connect();
  }

  get address(): string {
    return this.opts.address;
  }

  /** Whether a batch would be written now; lets the caller skip encoding for a peer that is down. */
  get accepting(): boolean {
    return this.state === "connected";
  }

  /** Counts messages the caller dropped without encoding them (peer not accepting). */
  countDropped(messages: number): void {
    this.dropped += messages;
  }

  enqueue(payload: Uint8Array, messages: number): void {
    const attempt = this.attempt;
    if (this.state !== "connected" || attempt === undefined) {
      this.dropped += messages;
      return;
    }
    if (!this.queue.push({ payload, messages }, attempt.inflightBytes)) {
      this.dropped += messages;
      return;
    }
    this.flush(attempt);
  }

  /**
   * The peer is up (it opened a stream to us): if this link is waiting out a
   * backoff, connect now. Without this, a node restarted after a few failed
   * attempts stayed unreachable in our direction for up to the longest delay,
   * and an election needing its votes waited that long (failover took 2 s).
   */
  retryNow(): void {
    if (this.state !== "backoff" || this.reconnectTimer === undefined) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failedAttempts = 0;
    this.connect();
  }

  stats(): PeerStats {
    return {
      address: this.opts.address,
      connected: this.state === "connected",
      queuedBytes: this.queue.queuedBytes + (this.attempt?.inflightBytes ?? 0),
      dropped: this.dropped,
      sentBatches: this.sentBatches,
      sentMessages: this.sentMessages,
      sentBytes: this.sentBytes,
      connects: this.connects,
      failures: this.failures,
    };
  }

  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.abandon();
  }

  /** Writes queued batches until the queue is empty or gRPC asks us to wait for 'drain'. */
  private flush(attempt: Attempt): void {
    if (attempt.waitingDrain) return;
    for (;;) {
      const batch = this.queue.shift();
      if (batch === undefined) return;
      const bytes = batch.payload.length;
      attempt.inflightBytes += bytes;
      this.sentBatches++;
      this.sentMessages += batch.messages;
      this.sentBytes += bytes;
      const writable = attempt.call.write({ ...this.envelope, payload: batch.payload }, () => {
        attempt.inflightBytes -= bytes;
      });
      if (!writable) {
        attempt.waitingDrain = true;
        return;
      }
    }
  }

  private connect(): void {
    const { address, clusterId, selfId, reconnectMinMs, reconnectMaxMs } = this.opts;
    this.state = "connecting";
    const method = peerService().stream;
    let client: grpc.Client;
    try {
      client = new grpc.Client(
        address,
        grpc.credentials.createInsecure(),
        peerChannelOptions(reconnectMinMs, reconnectMaxMs),
      );
    } catch (err) {
      // An unparsable address stays unparsable until setPeers replaces it: retry at the slowest pace.
      this.retryLater(`invalid address: ${(err as Error).message}`, false, true);
      return;
    }
    const metadata = new grpc.Metadata();
    metadata.set(CLUSTER_ID_METADATA, clusterId);
    metadata.set(FROM_METADATA, selfId);
    // `attempt` is referenced by the callbacks below before the call exists.
    const attempt = {} as Attempt;
    const call = client.makeClientStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      metadata,
      {},
      // Deferred: the attempt must be fully set up even if gRPC reports at once.
      (err) => queueMicrotask(() => this.onEnded(attempt, err)),
    );
    Object.assign(attempt, {
      client,
      call,
      inflightBytes: 0,
      waitingDrain: false,
      timedOut: false,
      connectTimer: setTimeout(() => {
        if (this.attempt !== attempt || this.state !== "connecting") return;
        attempt.timedOut = true;
        call.cancel();
      }, this.opts.connectTimeoutMs),
    } satisfies Attempt);
    this.attempt = attempt;
    // The peer answers with response headers once it accepted the stream.
    call.on("metadata", () => this.onAccepted(attempt));
    call.on("drain", () => {
      if (this.attempt !== attempt) return;
      attempt.waitingDrain = false;
      this.flush(attempt);
    });
    // Errors also arrive through the callback; this listener only keeps an
    // 'error' event from becoming an uncaught exception.
    call.on("error", (err) => this.log.debug({ err }, "peer stream error event"));
  }

  private onAccepted(attempt: Attempt): void {
    if (this.attempt !== attempt || this.state !== "connecting") return;
    clearTimeout(attempt.connectTimer);
    this.state = "connected";
    this.failedAttempts = 0;
    this.connects++;
    if (this.outageLogged) this.log.info("peer reachable again");
    else this.log.debug("peer stream open");
    this.outageLogged = false;
    this.flush(attempt);
  }

  private onEnded(attempt: Attempt, err: grpc.ServiceError | null): void {
    if (this.attempt !== attempt) return; // an abandoned attempt reporting late
    const wasConnected = this.state === "connected";
    this.abandon();
    if (this.state === "closed") return;
    const reason = attempt.timedOut
      ? `not accepted within ${this.opts.connectTimeoutMs} ms`
      : err
        ? `${grpc.status[err.code] ?? err.code}: ${err.details}`
        : "ended by peer";
    // Two clusters crossing wires will not fix itself in milliseconds: wait the longest.
    this.retryLater(reason, wasConnected, err?.code === grpc.status.FAILED_PRECONDITION);
  }

  private retryLater(reason: string, wasConnected: boolean, slowest: boolean): void {
    this.failures++;
    if (slowest) this.failedAttempts = 30;
    const delayMs = reconnectDelayMs(
      this.failedAttempts++,
      this.opts.reconnectMinMs,
      this.opts.reconnectMaxMs,
      this.opts.random,
    );
    if (!this.outageLogged) {
      this.outageLogged = true;
      this.log.warn(
        { reason, retryInMs: delayMs },
        wasConnected ? "peer stream lost; reconnecting" : "cannot reach peer; retrying with backoff",
      );
    } else {
      this.log.debug({ reason, retryInMs: delayMs }, "peer still unreachable");
    }
    this.state = "backoff";
    // Not unref'd on purpose: a transport someone forgot to close() keeps the
    // process alive, which tests notice, instead of leaking quietly.
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === "backoff") this.connect();
    }, delayMs);
  }

  /** Cancels the current attempt, releases its channel and drops what was queued for it. */
  private abandon(): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    this.dropped += this.queue.clear();
    if (attempt === undefined) return;
    clearTimeout(attempt.connectTimer);
    attempt.call.cancel();
    attempt.client.close();
  }
}

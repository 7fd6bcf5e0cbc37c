/**
 * A worker's StreamAssignments stream, kept open on some node: when it breaks,
 * or the node does not open it within `openTimeoutMs`, the next node is tried
 * with backoff. Assignments and revocations go to `onEvent` (a batch of them as
 * one event: the worker unrolls it).
 */
import type * as grpc from "@grpc/grpc-js";
import { backoffDelayMs, sleep, type BackoffOptions } from "./backoff.js";
import type { Connections } from "./connections.js";
import { RaftqError, toRaftqError } from "./errors.js";
import type { WireAssignmentEvent } from "./wire.js";

export interface AssignmentStreamOptions {
  readonly conn: Connections;
  readonly workerId: string;
  /** See WorkerOptions.maxEventsPerMessage. */
  readonly maxEventsPerMessage: number;
  /** See WorkerOptions.streamOpenTimeoutMs. */
  readonly openTimeoutMs: number;
  readonly reconnectBackoff: BackoffOptions | undefined;
  /** Aborted when the worker closes. */
  readonly signal: AbortSignal;
  readonly onEvent: (ev: WireAssignmentEvent) => void;
  /** A stream ended or failed and another is about to be opened. */
  readonly onReconnect: (address: string, error: RaftqError | null) => void;
}

export class AssignmentStream {
  private stream: grpc.ClientReadableStream<WireAssignmentEvent> | null = null;
  private streamAddress: string | null = null;

  constructor(private readonly o: AssignmentStreamOptions) {}

  /** The node (host:port) the stream is on, or null between streams. */
  get address(): string | null {
    return this.stream === null ? null : this.streamAddress;
  }

  /** Ends the current stream (the loop in run() stops once the signal is aborted). */
  cancel(): void {
    this.stream?.cancel();
  }

  /** Keeps one stream open until the signal is aborted. */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.o.signal.aborted) {
      const address = this.o.conn.pick("any");
      const { received, error } = await this.consume(address);
      if (this.o.signal.aborted) break;
      if (received) failures = 0;
      if (error !== null && error.code === "UNAVAILABLE" && error.reason === null)
        this.o.conn.markDown(address);
      this.o.onReconnect(address, error);
      const delayMs = backoffDelayMs(failures++, {
        initialMs: 100,
        maxMs: 2_000,
        ...this.o.reconnectBackoff,
      });
      await sleep(delayMs, this.o.signal).catch(() => undefined);
    }
  }

  private consume(address: string): Promise<{ received: boolean; error: RaftqError | null }> {
    return new Promise((resolve) => {
      let received = false;
      let settled = false;
      const settle = (error: RaftqError | null): void => {
        if (settled) return;
        settled = true;
        this.stream = null;
        resolve({ received, error });
      };
      let stream: grpc.ClientReadableStream<WireAssignmentEvent>;
      try {
        stream = this.o.conn.stream<WireAssignmentEvent>(
          "WorkerService",
          "StreamAssignments",
          { workerId: this.o.workerId, maxEventsPerMessage: this.o.maxEventsPerMessage },
          address,
        );
      } catch (e) {
        settle(toRaftqError(e, address));
        return;
      }
      this.stream = stream;
      this.streamAddress = address;
      const openTimeoutMs = this.o.openTimeoutMs;
      const openTimer = setTimeout(() => {
        settle(
          new RaftqError(
            "UNAVAILABLE",
            `${address} did not open the assignment stream within ${openTimeoutMs} ms`,
            {
              endpoint: address,
            },
          ),
        );
        stream.cancel();
      }, openTimeoutMs);
      // The node sends response headers as soon as it attached the stream.
      const opened = (): void => clearTimeout(openTimer);
      stream.on("metadata", opened);
      stream.on("data", (ev: WireAssignmentEvent) => {
        opened();
        received = true;
        this.o.onEvent(ev);
      });
      stream.on("error", (e) => {
        opened();
        settle(toRaftqError(e, address));
      });
      stream.on("end", () => {
        opened();
        settle(null);
      });
    });
  }
}

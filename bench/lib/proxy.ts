/**
 * A user-space TCP proxy for one directed peer link (a -> b), so the chaos
 * harness can cut, stall or delay that link without root or network
 * namespaces. In a cluster the link takes the connections that node b's
 * NodeProxy (node-proxy.ts) finds were dialled by node a; on its own
 * (listen()) it takes every connection to its port.
 *
 * Modes:
 * - "ok": bytes flow through.
 * - "stall": every connection on the link stops reading in both directions
 *   (data waits in kernel buffers, as on a partitioned network whose TCP
 *   connections survive); new connections are accepted and stalled too. Heal
 *   resumes them.
 * - "sever": open connections are reset and new ones are refused until healed.
 * - delayMs > 0 (with "ok"): each chunk is held that long. Bytes keep their
 *   order in every case, as TCP's do: a chunk never overtakes one still held,
 *   also after the delay is lowered or healed (a later chunk would otherwise be
 *   written at once, ahead of the held ones, and a reordered HTTP/2 stream can
 *   decode as wrong but valid frames: HPACK's shared header table makes one
 *   response's headers read as another's, e.g. a gRPC status of another call).
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export type LinkMode = "ok" | "stall" | "sever";

/** Chunks one direction of a delayed connection may hold (a bound: a flood on a slow link is cut). */
const MAX_HELD_CHUNKS = 100_000;

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

export class LinkProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private mode: LinkMode = "ok";
  private delay = 0;
  port = 0;
  bytes = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    private readonly target: { host: string; port: number },
  ) {}

  async listen(port: number): Promise<void> {
    const server = createServer({ noDelay: true }, (client) => this.adopt(client));
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(port, "127.0.0.1", () => res());
    });
    this.server = server;
    // The bound port (port 0 asks the system for a free one).
    this.port = (server.address() as { port: number }).port;
  }

  get state(): string {
    return this.delay > 0 && this.mode === "ok" ? `delay ${this.delay} ms` : this.mode;
  }

  setMode(mode: LinkMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    for (const p of [...this.pairs]) {
      if (mode === "sever") this.drop(p);
      else if (mode === "stall") {
        p.client.pause();
        p.upstream.pause();
      } else {
        p.client.resume();
        p.upstream.resume();
      }
    }
  }

  setDelay(ms: number): void {
    this.delay = Math.max(0, ms);
  }

  heal(): void {
    this.setDelay(0);
    this.setMode("ok");
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    const s = this.server;
    this.server = null;
    if (s !== null) await new Promise<void>((res) => s.close(() => res()));
  }

  /** Carry `client` (a connection on a -> b) to b, under this link's mode and delay. */
  adopt(client: Socket): void {
    if (this.mode === "sever" || client.destroyed) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    this.forward(client, upstream);
    this.forward(upstream, client);
    const end = () => this.drop(pair);
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    if (this.mode === "stall") {
      client.pause();
      upstream.pause();
    } else client.resume(); // a NodeProxy holds connections paused while it finds their source
  }

  private forward(src: Socket, dst: Socket): void {
    // Chunks held for the delay, oldest first, drained by one timer so they leave in order.
    const held: { chunk: Buffer; releaseAt: number }[] = [];
    let timer: NodeJS.Timeout | null = null;
    const pump = (): void => {
      timer = null;
      const now = Date.now();
      while (held.length > 0 && held[0]!.releaseAt <= now) {
        const { chunk } = held.shift()!;
        if (!dst.destroyed) dst.write(chunk);
      }
      if (held.length > 0) timer = setTimeout(pump, held[0]!.releaseAt - now);
    };
    src.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.delay <= 0 && held.length === 0) {
        if (!dst.write(chunk)) {
          src.pause();
          dst.once("drain", () => {
            if (this.mode === "ok") src.resume();
          });
        }
        return;
      }
      // Never before a chunk still held: release times only grow.
      const releaseAt = Math.max(held.at(-1)?.releaseAt ?? 0, Date.now() + this.delay);
      if (held.length >= MAX_HELD_CHUNKS) {
        // A bound on what a delayed link holds: past it the link is cut, as a full network buffer would drop.
        this.dropConnectionOf(src);
        return;
      }
      held.push({ chunk, releaseAt });
      timer ??= setTimeout(pump, releaseAt - Date.now());
    });
    src.once("close", () => {
      if (timer !== null) clearTimeout(timer);
    });
  }

  private dropConnectionOf(socket: Socket): void {
    for (const p of this.pairs) if (p.client === socket || p.upstream === socket) this.drop(p);
  }

  private drop(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    p.client.destroy();
    p.upstream.destroy();
  }
}

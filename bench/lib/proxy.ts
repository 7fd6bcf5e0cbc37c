/**
 * A user-space TCP proxy for one directed peer link (a -> b): node a's
 * --peers entry for b points here, so the chaos harness can cut, stall or
 * delay that link without root or network namespaces.
 *
 * Modes:
 * - "ok": bytes flow through.
 * - "stall": every connection on the link stops reading in both directions
 *   (data waits in kernel buffers, as on a partitioned network whose TCP
 *   connections survive); new connections are accepted and stalled too. Heal
 *   resumes them.
 * - "sever": open connections are reset and new ones are refused until healed.
 * - delayMs > 0 (with "ok"): each chunk is held that long, order preserved.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export type LinkMode = "ok" | "stall" | "sever";

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
    const server = createServer({ noDelay: true }, (client) => this.accept(client));
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(port, "127.0.0.1", () => res());
    });
    this.server = server;
    this.port = port;
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

  private accept(client: Socket): void {
    if (this.mode === "sever") {
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
    }
  }

  private forward(src: Socket, dst: Socket): void {
    let releaseAt = 0;
    src.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.delay <= 0) {
        if (!dst.write(chunk)) {
          src.pause();
          dst.once("drain", () => {
            if (this.mode === "ok") src.resume();
          });
        }
        return;
      }
      const now = Date.now();
      releaseAt = Math.max(releaseAt, now + this.delay);
      setTimeout(() => {
        if (!dst.destroyed) dst.write(chunk);
      }, releaseAt - now);
    });
  }

  private drop(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    p.client.destroy();
    p.upstream.destroy();
  }
}

/**
 * One proxy in front of a node (b) for all its peer traffic: every member's
 * address for b, in every node's --peers and so in every membership, is this
 * proxy. Each accepted connection is handed to the LinkProxy of the node that
 * dialled it (a -> b), found by the process that holds the connecting socket
 * (socket-owner.ts), so cutting a -> b cuts only a's connections.
 *
 * Why not one proxy port per directed link: a node's view of the others'
 * addresses is only its own until it installs a snapshot; the snapshot carries
 * the leader's membership, whose addresses are the leader's proxies, so the
 * node's links then bypassed their own proxies (or went through another
 * link's). With one address per node, every view is the same.
 */
import { createServer, type Server, type Socket } from "node:net";
import { LinkProxy } from "./proxy.js";
import { socketOwner } from "./socket-owner.js";

export class NodeProxy {
  private server: Server | null = null;
  private readonly links = new Map<string, LinkProxy>();
  private readonly accepted = new Set<Socket>();
  port = 0;
  /** Connections whose dialler was none of the nodes (refused: only nodes dial peers). */
  unknownSources = 0;

  /**
   * @param to the node behind this proxy
   * @param target its real gRPC address
   * @param nodePids the running nodes' pids by node id, asked at each accept (nodes restart)
   */
  constructor(
    readonly to: string,
    private readonly target: { host: string; port: number },
    private readonly nodePids: () => ReadonlyMap<number, string>,
  ) {}

  /** The link from `from` to this node (created on first use). */
  link(from: string): LinkProxy {
    let l = this.links.get(from);
    if (l === undefined) {
      l = new LinkProxy(from, this.to, this.target);
      this.links.set(from, l);
    }
    return l;
  }

  async listen(port: number): Promise<void> {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (c) => void this.accept(c));
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(port, "127.0.0.1", () => res());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const c of this.accepted) c.destroy();
    this.accepted.clear();
    await Promise.all([...this.links.values()].map((l) => l.close()));
    const s = this.server;
    this.server = null;
    if (s !== null) await new Promise<void>((res) => s.close(() => res()));
  }

  private async accept(client: Socket): Promise<void> {
    // Paused (pauseOnConnect) until the link that carries it resumes it.
    this.accepted.add(client);
    client.once("close", () => this.accepted.delete(client));
    client.on("error", () => client.destroy());
    const pids = this.nodePids();
    const owner = await socketOwner(client.remotePort ?? 0, this.port, [...pids.keys()]).catch(() => null);
    this.accepted.delete(client);
    const from = owner === null ? undefined : pids.get(owner);
    if (from === undefined || from === this.to || this.server === null) {
      if (from === undefined) this.unknownSources++;
      client.destroy();
      return;
    }
    this.link(from).adopt(client);
  }
}

/**
 * Which process holds the other end of a loopback TCP connection (Linux /proc).
 *
 * The chaos harness puts one proxy in front of each node and must know which
 * node dialled each connection it accepts: all nodes dial from 127.0.0.1, so the
 * source address says nothing, but the kernel does. The connecting socket is the
 * row of /proc/net/tcp{,6} whose local port is the accepted socket's remote port
 * and whose remote port is the proxy's; its inode appears as `socket:[inode]`
 * among the file descriptors of exactly one process.
 */
import { readdir, readFile, readlink } from "node:fs/promises";

/** A row of /proc/net/tcp{,6}: local and remote ports and the socket's inode. */
export interface TcpRow {
  readonly localPort: number;
  readonly remotePort: number;
  readonly inode: number;
}

/** Parses /proc/net/tcp or /proc/net/tcp6 text (ports are hex after the last ':' of each address). */
export function parseTcpTable(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const port = (addr: string): number => parseInt(addr.slice(addr.lastIndexOf(":") + 1), 16);
    rows.push({ localPort: port(f[1]!), remotePort: port(f[2]!), inode: Number(f[9]) });
  }
  return rows;
}

async function tcpRows(): Promise<TcpRow[]> {
  const tables = await Promise.all(
    ["/proc/net/tcp", "/proc/net/tcp6"].map((p) => readFile(p, "utf8").catch(() => "")),
  );
  return tables.flatMap(parseTcpTable);
}

/** Whether this machine exposes what socketOwner needs (Linux with /proc). */
export async function socketOwnersVisible(): Promise<boolean> {
  return readFile("/proc/net/tcp", "utf8").then(
    () => true,
    () => false,
  );
}

/** Socket inodes held by `pid` (empty if it is gone or unreadable). */
async function socketInodes(pid: number): Promise<Set<number>> {
  const out = new Set<number>();
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m !== null) out.add(Number(m[1]));
    }),
  );
  return out;
}

/**
 * The pid among `candidates` that holds the socket connected from loopback port
 * `clientPort` to `serverPort`, or null (no such socket, or another process's).
 */
export async function socketOwner(
  clientPort: number,
  serverPort: number,
  candidates: readonly number[],
): Promise<number | null> {
  const row = (await tcpRows()).find(
    (r) => r.localPort === clientPort && r.remotePort === serverPort && r.inode !== 0,
  );
  if (row === undefined) return null;
  for (const pid of candidates) if ((await socketInodes(pid)).has(row.inode)) return pid;
  return null;
}

/**
 * Connections that processes in `pids` hold to any port in `ports` (e.g. nodes
 * dialling each other's real ports, around their proxies): "pid>port" each.
 */
export async function connectionsTo(pids: readonly number[], ports: ReadonlySet<number>): Promise<string[]> {
  const rows = (await tcpRows()).filter((r) => ports.has(r.remotePort) && r.inode !== 0);
  if (rows.length === 0) return [];
  const out: string[] = [];
  for (const pid of pids) {
    const inodes = await socketInodes(pid);
    for (const r of rows) if (inodes.has(r.inode)) out.push(`${pid}>${r.remotePort}`);
  }
  return out;
}

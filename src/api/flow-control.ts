import type * as grpc from "@grpc/grpc-js";
import type * as http2 from "node:http2";

/**
 * HTTP/2 flow-control windows of the node's gRPC server: how many bytes a
 * client (a peer's Raft stream, an application's SubmitJobs) may send before
 * it must wait for this node to grant more.
 *
 * HTTP/2 starts every stream and connection with a 64 KiB window, and
 * grpc-js 1.14 has no server option to change it. A leader's appends under
 * SubmitJobs x100 are ~15 KiB per entry and ~45 KiB per write cycle, so every
 * few appends the leader's stream stalled until the follower's event loop had
 * read the data and a WINDOW_UPDATE came back: a hop took 7-12 ms under load
 * (docs/benchmarks.md, "Commit while writing, and HTTP/2 windows"). With wider windows the data
 * flows while the follower is busy.
 *
 * Bounded: a connection's peer can have at most `connectionWindowBytes`
 * unread bytes in flight towards us, one stream at most `streamWindowBytes`.
 */
export interface FlowControlWindows {
  /** SETTINGS_INITIAL_WINDOW_SIZE: each stream's window (HTTP/2 caps it at 2^31-1). */
  readonly streamWindowBytes: number;
  /** The connection's window, shared by all its streams. */
  readonly connectionWindowBytes: number;
}

export const DEFAULT_FLOW_CONTROL_WINDOWS: FlowControlWindows = Object.freeze({
  streamWindowBytes: 4 * 1024 * 1024,
  connectionWindowBytes: 16 * 1024 * 1024,
});

/** The largest window HTTP/2 allows (RFC 9113 §6.9.1). */
const MAX_WINDOW_BYTES = 2 ** 31 - 1;

export function validateWindows(w: FlowControlWindows): void {
  for (const [name, v] of Object.entries(w)) {
    if (!Number.isInteger(v) || v < 65_535 || v > MAX_WINDOW_BYTES)
      throw new Error(`${name} must be an integer in [65535, ${MAX_WINDOW_BYTES}], got ${v}`);
  }
  if (w.connectionWindowBytes < w.streamWindowBytes)
    throw new Error("connectionWindowBytes must be at least streamWindowBytes");
}

/** Opens the windows of one accepted HTTP/2 session (a new SETTINGS frame and a WINDOW_UPDATE). */
export function widenSession(session: http2.ServerHttp2Session, w: FlowControlWindows): void {
  // A session that closed before we got to it needs nothing.
  if (session.destroyed || session.closed) return;
  session.settings({ initialWindowSize: w.streamWindowBytes });
  session.setLocalWindowSize(w.connectionWindowBytes);
}

/**
 * Widens the windows of every session the server accepts from now on. Call it
 * from bindAsync's callback, before any connection can be accepted. It reaches
 * into grpc-js (its map of HTTP/2 servers, the only handle on their sessions):
 * if that ever changes shape, this throws at start-up rather than silently
 * leaving the windows at 64 KiB (test/api/flow-control.test.ts).
 */
export function widenServerWindows(
  server: grpc.Server,
  w: FlowControlWindows = DEFAULT_FLOW_CONTROL_WINDOWS,
): void {
  validateWindows(w);
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0)
    throw new Error("cannot widen HTTP/2 windows: grpc-js has no bound http2 servers (internals changed?)");
  for (const s of servers.keys() as IterableIterator<http2.Http2Server>) {
    s.on("session", (session: http2.ServerHttp2Session) => widenSession(session, w));
  }
}

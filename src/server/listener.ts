import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface ListenerOptions {
  /** Close a connection that sends nothing (or only part of the preface) for this long. */
  idleTimeoutMs: number;
  tls?: { certFile: string; keyFile: string };
}

/**
 * One socket for every protocol. The returned server is what Fastify listens on:
 * - cleartext: a net.Server that peeks at each connection's first bytes and hands it to an
 *   HTTP/2 server when they are the HTTP/2 preface (h2c prior knowledge: gRPC, Connect over h2),
 *   else to an HTTP/1.1 server (Connect, gRPC-Web, curl, browsers, WebSocket upgrades);
 * - TLS: an HTTP/2 secure server that negotiates h2 or http/1.1 with ALPN.
 * `drain()` is the graceful part of shutdown: idle HTTP/1.1 connections close, HTTP/2
 * sessions get GOAWAY and close once their streams finish.
 */
export class OnePortListener {
  readonly server: net.Server;
  private readonly h1?: http.Server;
  private readonly h2: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<Http2Session>();
  private readonly sockets = new Set<net.Socket>();
  private upgrade?: UpgradeHandler;
  private draining = false;
  private drainTimer?: NodeJS.Timeout;

  constructor(appHandler: Handler, private readonly opts: ListenerOptions) {
    // While draining, HTTP/1.1 responses close their connection once they are complete.
    const handler: Handler = (req, res) => {
      if (this.draining && res instanceof http.ServerResponse) res.shouldKeepAlive = false;
      appHandler(req, res);
    };
    if (opts.tls) {
      this.h2 = http2.createSecureServer(
        { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile), allowHTTP1: true },
        handler,
      );
      this.h2.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
      this.server = this.h2 as unknown as net.Server;
      this.server.on("connection", (s: net.Socket) => this.track(s));
    } else {
      this.h1 = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, handler as http.RequestListener);
      this.h1.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
      this.h2 = http2.createServer({}, handler);
      this.server = net.createServer({ pauseOnConnect: false }, (socket) => this.route(socket));
    }
    this.h2.on("session", (session: Http2Session) => {
      this.sessions.add(session);
      session.setTimeout(opts.idleTimeoutMs, () => session.close());
      session.once("close", () => this.sessions.delete(session));
      if (this.draining) session.close();
    });
  }

  /** Where WebSocket upgrades on this port go. */
  onUpgradeRequest(handler: UpgradeHandler): void {
    this.upgrade = handler;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.upgrade && !this.draining) this.upgrade(req, socket, head);
    else socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  private route(socket: net.Socket): void {
    this.track(socket);
    socket.setNoDelay(true);
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.opts.idleTimeoutMs);
    const onError = () => socket.destroy();
    socket.on("error", onError);
    // Read in paused mode: the HTTP/2 session reads from the socket's handle, so the bytes
    // peeked here go back with unshift() before the socket changes hands.
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read()) !== null) seen = Buffer.concat([seen, chunk]);
      if (seen.length === 0) return;
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && seen.length < H2_PREFACE.length) return; // wait for the rest of the preface
      clearTimeout(timer);
      socket.off("readable", onReadable);
      socket.off("error", onError);
      socket.unshift(seen);
      if (isH2) this.h2.emit("connection", socket);
      else this.h1!.emit("connection", socket);
    };
    socket.on("readable", onReadable);
  }

  /** Stop taking new work on open connections; in-flight requests and streams finish. */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions) s.close();
    this.h1?.closeIdleConnections();
    // Keep-alive connections whose last request was in flight become idle later: close them then.
    this.drainTimer ??= setInterval(() => this.h1?.closeIdleConnections(), 50).unref();
  }

  /** Ends whatever is still open (after the shutdown timeout). */
  destroyAll(): void {
    clearInterval(this.drainTimer);
    for (const s of this.sessions) s.destroy();
    this.h1?.closeAllConnections();
    for (const s of this.sockets) s.destroy();
  }

  get openConnections(): number {
    return this.sockets.size;
  }
}

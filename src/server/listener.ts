import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import net from "node:net";
import type tls from "node:tls";
import type { Duplex } from "node:stream";
import { FairDispatcher } from "./fair-dispatch.js";

/** The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface ListenerOptions {
  /** Close a connection that sends nothing (or only part of the preface) for this long. */
  idleTimeoutMs: number;
  /** An HTTP/1.1 request must have sent all its headers within this long (408 otherwise). */
  headersTimeoutMs: number;
  tls?: { certFile: string; keyFile: string };
  /**
   * How long `drain()` keeps idle connections and HTTP/2 sessions open before closing them, so
   * that requests already on the wire when shutdown began are read and answered rather than
   * reset (HTTP/1.1) or refused (HTTP/2). Default 100 ms.
   */
  drainGraceMs?: number;
  /** HTTP/2 caps per connection (plain and TLS); node's defaults are unlimited streams and 64 KB of headers. */
  http2?: Http2Limits;
  /** Called when a request or connection is refused by one of the limits above (its variable name). */
  onLimit?: (limit: string) => void;
  /** Called when an HTTP/2 session ends with a protocol error (e.g. a client exceeding the stream cap after acknowledging it). */
  onSessionError?: () => void;
}

/** The size of a header list as HTTP/2 counts it (RFC 9113 §6.5.2: name + value + 32 per field). */
export function headerListSize(raw: string[]): number {
  let n = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 32;
  return n;
}

export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS; streams above it are refused (RST_STREAM REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE in bytes; a larger header block resets its stream. */
  maxHeaderListSize: number;
  /** Memory one session may hold (header tables, queued data, streams), in MB; new streams are refused above it. */
  maxSessionMemoryMb: number;
}

/** The node:http2 server options for these limits. */
export function http2Options(l: Http2Limits | undefined): http2.ServerOptions {
  if (!l) return {};
  return {
    settings: { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: l.maxHeaderListSize },
    maxSessionMemory: l.maxSessionMemoryMb,
  };
}

/**
 * One socket for every protocol. The returned server is what Fastify listens on:
 * - cleartext: a net.Server that peeks at each connection's first bytes and hands it to an
 *   HTTP/2 server when they are the HTTP/2 preface (h2c prior knowledge: gRPC, Connect over h2),
 *   else to an HTTP/1.1 server (Connect, gRPC-Web, curl, browsers, WebSocket upgrades);
 * - TLS: an HTTP/2 secure server that negotiates h2 or http/1.1 with ALPN.
 * `drain()` is the graceful part of shutdown: the port stops accepting, HTTP/1.1 responses
 * carry `Connection: close`, idle connections close, HTTP/2 sessions get GOAWAY and close once
 * their streams finish; it resolves when the last connection is gone.
 */
export class OnePortListener {
  readonly server: net.Server;
  private readonly h1?: http.Server;
  private readonly h2: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<Http2Session>();
  /** Every accepted TCP socket (TLS: the raw socket). */
  private readonly sockets = new Set<net.Socket>();
  /**
   * Connections that are not HTTP/2 sessions (HTTP/1.1, or not yet routed) and how many of their
   * requests are unanswered; 0 means idle. Upgraded (WebSocket) sockets leave this map.
   */
  private readonly plain = new Map<net.Socket, number>();
  /** HTTP/1.1 responses in progress, to mark `Connection: close` when draining starts. */
  private readonly responses = new Set<ServerResponse>();
  private upgrade?: UpgradeHandler;
  private readonly fair = new FairDispatcher<Http2Session | undefined>(4);
  private draining = false;
  /** Set once the drain grace is over: idle connections close as soon as they are idle. */
  private closingIdle = false;
  private drainTimer?: NodeJS.Timeout;
  private drained?: Promise<void>;

  constructor(appHandler: Handler, private readonly opts: ListenerOptions) {
    const maxHeaderBytes = opts.http2?.maxHeaderListSize;
    const handler: Handler = (req, res) => {
      if (res instanceof http.ServerResponse) this.trackRequest(req.socket as net.Socket, res);
      else if (maxHeaderBytes !== undefined && headerListSize(req.rawHeaders) > maxHeaderBytes) {
        // nghttp2 enforces SETTINGS_MAX_HEADER_LIST_SIZE only once the client acknowledged it; a
        // client that sends before (or never) acknowledging is refused here.
        opts.onLimit?.("HTTP2_MAX_HEADER_LIST_BYTES");
        (res as Http2ServerResponse).writeHead(431, { "content-type": "text/plain" }).end("request header fields too large\n");
        return;
      } else {
        // One HTTP/2 connection's burst must not hold every other client (fair-dispatch.ts).
        const stream = (req as Http2ServerRequest).stream;
        this.fair.dispatch(stream.session, () => {
          // A stream reset while it waited for its turn has no one to answer.
          if (!stream.destroyed) appHandler(req, res);
        });
        return;
      }
      appHandler(req, res);
    };
    if (opts.tls) {
      this.h2 = http2.createSecureServer(
        { ...http2Options(opts.http2), cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile), allowHTTP1: true },
        handler,
      );
      this.h2.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
      this.server = this.h2 as unknown as net.Server;
      this.server.on("connection", (s: net.Socket) => this.track(s));
      // The TLS socket is what HTTP/1.1 requests see (h2 connections become sessions).
      this.server.on("secureConnection", (s: tls.TLSSocket) => {
        if (s.alpnProtocol !== "h2") this.trackPlain(s);
      });
    } else {
      // headersTimeout ends clients that dribble their headers; requestTimeout stays off because
      // request bodies may stream for as long as their deadline allows.
      this.h1 = http.createServer({
          keepAliveTimeout: 5_000,
          headersTimeout: opts.headersTimeoutMs,
          requestTimeout: 0,
          connectionsCheckingInterval: Math.min(2_000, opts.headersTimeoutMs),
        }, handler as http.RequestListener);
      this.h1.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
      // Node enforces headersTimeout from a timer it starts on "listening"; this server never
      // listens itself (the one-port socket hands it connections), so start that timer here.
      this.h1.emit("listening");
      this.h2 = http2.createServer(http2Options(opts.http2), handler);
      this.server = net.createServer({ pauseOnConnect: false }, (socket) => this.route(socket));
    }
    this.h2.on("sessionError", () => opts.onSessionError?.());
    this.h2.on("session", (session: Http2Session) => {
      this.sessions.add(session);
      session.setTimeout(opts.idleTimeoutMs, () => session.close());
      session.once("close", () => this.sessions.delete(session));
      if (this.closingIdle) session.close();
    });
  }

  /** Where WebSocket upgrades on this port go. */
  onUpgradeRequest(handler: UpgradeHandler): void {
    this.upgrade = handler;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.upgrade && !this.draining) {
      // The WebSocket server owns it now (and closes it with 1001 at shutdown).
      this.plain.delete(socket as net.Socket);
      this.upgrade(req, socket, head);
    } else socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  private trackPlain(socket: net.Socket): void {
    this.plain.set(socket, 0);
    socket.once("close", () => this.plain.delete(socket));
    if (this.closingIdle) this.closeIfIdle(socket);
  }

  private trackRequest(socket: net.Socket, res: ServerResponse): void {
    // While draining, HTTP/1.1 responses close their connection once they are complete.
    if (this.draining) res.shouldKeepAlive = false;
    this.responses.add(res);
    const n = this.plain.get(socket);
    if (n !== undefined) this.plain.set(socket, n + 1);
    // One listener function for every response (a response closes once): no closure per request.
    res.on("close", this.onResponseClose);
  }

  /** A response closed (`this` is the response; its request keeps the socket). */
  private readonly onResponseClose = ((listener: OnePortListener) =>
    function (this: ServerResponse) {
      listener.responses.delete(this);
      const socket = this.req.socket as net.Socket;
      const n = listener.plain.get(socket);
      if (n === undefined) return;
      listener.plain.set(socket, n - 1);
      if (listener.closingIdle) listener.closeIfIdle(socket);
    })(this);

  /** Closes a connection with no request in progress (after the response bytes are flushed). */
  private closeIfIdle(socket: net.Socket): void {
    if (this.plain.get(socket) !== 0) return;
    this.plain.delete(socket);
    socket.end(() => socket.destroy());
    // A client that never reads must not keep the socket half-open.
    setTimeout(() => socket.destroy(), 1_000).unref();
  }

  private route(socket: net.Socket): void {
    this.track(socket);
    this.trackPlain(socket);
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
      if (isH2) {
        this.plain.delete(socket);
        this.h2.emit("connection", socket);
      }
      else this.h1!.emit("connection", socket);
    };
    socket.on("readable", onReadable);
  }

  /**
   * Graceful shutdown of the port: stop accepting connections at once; answer what is in flight;
   * HTTP/1.1 responses from now on carry `Connection: close`. After the drain grace, idle
   * connections close, HTTP/2 sessions get GOAWAY (streams in progress finish), and every
   * connection closes as soon as it is idle. Resolves when the last connection has closed.
   */
  drain(): Promise<void> {
    if (this.drained) return this.drained;
    this.draining = true;
    this.drained = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Responses not yet started close their connection when done (no keep-alive race for the client).
    for (const res of this.responses) if (!res.headersSent) res.shouldKeepAlive = false;
    this.drainTimer = setTimeout(() => {
      this.closingIdle = true;
      for (const s of this.sessions) s.close();
      for (const socket of [...this.plain.keys()]) this.closeIfIdle(socket);
    }, this.opts.drainGraceMs ?? 100);
    this.drainTimer.unref();
    return this.drained;
  }

  /** Ends whatever is still open (after the shutdown timeout). */
  destroyAll(): void {
    clearTimeout(this.drainTimer);
    for (const s of this.sessions) s.destroy();
    for (const s of this.plain.keys()) s.destroy();
    for (const s of this.sockets) s.destroy();
  }

  get openConnections(): number {
    return this.sockets.size;
  }
}

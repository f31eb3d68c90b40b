import http, { type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import proxyAddr from "@fastify/proxy-addr";
import { fastifyTrustProxy, type TrustProxy } from "../config/trust-proxy.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";

export const STREAM_PATH = "/v1/stream";

/**
 * The client address of an upgrade request, by the same rule as the RPCs' (Fastify's trustProxy in
 * app.ts, through the same proxy-addr): the socket's address, or with TRUST_PROXY the address the
 * trusted proxies in front saw.
 */
export function clientAddress(req: IncomingMessage, trustProxy: TrustProxy): string {
  const trust = fastifyTrustProxy(trustProxy);
  if (trust === false) return req.socket.remoteAddress ?? "";
  return proxyAddr(req, trust);
}

/** Close codes the stream uses (4000-4999 are the application's). */
export const CloseCode = {
  goingAway: 1001,
  /** The realtime events are not served by this build yet; the client should not retry. */
  notAvailable: 4503,
} as const;

export interface StreamOptions {
  /** Subprotocols the stream speaks, preferred first; a client offering none gets the default. */
  protocols?: string[];
  maxConnections: number;
  heartbeatMs: number;
  maxPayloadBytes: number;
}

/**
 * The realtime WebSocket endpoint, reachable at /v1/stream on the API port (upgrade) and on
 * its own port. It owns heartbeats, the connection limit and the 1001 close at shutdown.
 * `onConnection` is where the realtime feature attaches; without it every client is told so
 * with a clear close code and reason.
 */
export class StreamServer {
  private readonly wss: WebSocketServer;
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;
  onConnection?: (ws: WebSocket, req: IncomingMessage) => void;

  constructor(private readonly opts: StreamOptions, private readonly logger: Logger, private readonly metrics: Metrics) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayloadBytes,
      clientTracking: true,
      handleProtocols: (offered) => (opts.protocols ?? []).find((p) => offered.has(p)) ?? false,
    });
    this.wss.on("connection", (ws: WebSocket, req: IncomingMessage, listener: string) => this.accept(ws, req, listener));
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs).unref();
  }

  get size(): number {
    return this.wss.clients.size;
  }

  /** Handles an HTTP upgrade from either listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, listener: "api" | "ws"): void {
    const path = (req.url ?? "").split("?")[0];
    const refuse = (status: number, text: string, reason: string) => {
      this.metrics.httpRejected.inc({ reason });
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
    };
    if (path !== STREAM_PATH) return refuse(404, "Not Found", "ws_path");
    if (this.closing) return refuse(503, "Service Unavailable", "ws_shutting_down");
    if (this.wss.clients.size >= this.opts.maxConnections) return refuse(503, "Service Unavailable", "ws_limit");
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req, listener));
  }

  private accept(ws: WebSocket, req: IncomingMessage, listener: string): void {
    this.alive.add(ws);
    this.metrics.wsConnections.inc({ listener });
    ws.on("pong", () => this.alive.add(ws));
    ws.on("error", (err) => this.logger.debug({ err }, "websocket error"));
    ws.once("close", () => this.metrics.wsConnections.dec({ listener }));
    if (this.onConnection) this.onConnection(ws, req);
    else ws.close(CloseCode.notAvailable, "realtime events are not available on this server yet");
  }

  private beat(): void {
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  /** A standalone listener for WS_PORT that only upgrades. */
  createStandaloneServer(): http.Server {
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" }).end(`connect with a WebSocket to ${STREAM_PATH}\n`);
    });
    server.on("upgrade", (req, socket, head) => this.handleUpgrade(req, socket, head, "ws"));
    return server;
  }

  /** Shutdown: refuse new sockets, close open ones with 1001, end stragglers after the timeout. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    const open = [...this.wss.clients];
    for (const ws of open) ws.close(CloseCode.goingAway, "server shutting down");
    await Promise.race([
      Promise.all(open.map((ws) => (ws.readyState === ws.CLOSED ? undefined : new Promise((r) => ws.once("close", r))))),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Server as NetServer } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createServiceImplSpec, type ConnectRouter, type ContextKey, type ContextValues, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { Config } from "../config/schema.js";
import { fastifyTrustProxy } from "../config/trust-proxy.js";
import type { Db } from "../db/client.js";
import { fileProblem, ping, takesWrites } from "../db/client.js";
import { migrationsCurrent } from "../db/migrator.js";
import { healthService } from "../health/service.js";
import { HealthState } from "../health/state.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { reflectionServices } from "../reflection/index.js";
import { requestInfoKey } from "../common/caller.js";
import type { ServiceEntry } from "../common/service.js";
import { writeUnaryToStream, type StreamingMethod } from "./early-error.js";
import { observe } from "./interceptors.js";
import { answerRequestFaults } from "./request-faults.js";
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_EXPOSE_HEADERS,
  applyDeadline,
  originAllowed,
  securityHeaders,
  setBaseHeaders,
} from "./http-policy.js";
import { OnePortListener } from "./listener.js";
import { registerConsole } from "./console.js";
import { registerDocs } from "./docs.js";
import { registerFastUnary, type FastUnaryStats } from "./fast-unary.js";
import { StreamServer } from "./ws.js";

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Db;
  /** Feature services (auth, sync, …); health and reflection are always added. */
  services?: ServiceEntry[];
  /** Interceptors that run inside observation (auth, rate limits). */
  interceptors?: Interceptor[];
  /** Subprotocols the /v1/stream WebSocket speaks. */
  socketProtocols?: string[];
  /** Extra plain Fastify routes on the API port, added before it listens (benchmark references). */
  routes?: (fastify: FastifyInstance) => void;
  /** Refusals before Connect's pipeline (a flood of Subscribe calls): true when the request was answered. */
  admission?: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, path: string) => boolean;
}

export interface App {
  fastify: FastifyInstance;
  listener: OnePortListener;
  stream: StreamServer;
  health: HealthState;
  /** The unary fast path's counters (undefined with RPC_FAST_PATH=false). */
  fastUnary?: FastUnaryStats;
  /** Aborted when the shutdown timeout expires: streams still open end with Unavailable. */
  shutdownController: AbortController;
  readonly shuttingDown: boolean;
  beginShutdown(): void;
}

/** Builds the API server: Fastify on the one-port listener with every Connect route, health, readiness and docs. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, logger, metrics, db } = deps;
  const features = deps.services ?? [];
  const served = [Health, ...features.map(([s]) => s)];
  const health = new HealthState(served.map((s) => s.typeName));
  const reflection = reflectionServices(served);
  const shutdownController = new AbortController();
  // Every in-flight RPC listens on this signal: that is not a leak.
  setMaxListeners(0, shutdownController.signal);
  const unaryPaths = new Set<string>();
  const routedPaths = new Set<string>();
  /** Streaming methods by path: what a unary Connect request to one is told. */
  const streamingPaths = new Map<string, StreamingMethod>();
  for (const s of [...served, ...reflection.map(([s]) => s)]) {
    for (const m of s.methods) {
      const path = `/${s.typeName}/${m.name}`;
      routedPaths.add(path);
      if (m.methodKind === "unary") unaryPaths.add(path);
      else streamingPaths.set(path, { name: `${s.typeName}/${m.name}`, kind: m.methodKind });
    }
  }

  let listener!: OnePortListener;
  const tls = config.server.tlsCertFile ? { certFile: config.server.tlsCertFile, keyFile: config.server.tlsKeyFile! } : undefined;
  const fastify = Fastify({
    http2: true,
    serverFactory: (handler) => {
      listener = new OnePortListener(handler as unknown as ConstructorParameters<typeof OnePortListener>[0], {
        idleTimeoutMs: config.server.idleTimeoutMs,
        headersTimeoutMs: config.server.headersTimeoutMs,
        tls,
        http2: {
          maxConcurrentStreams: config.server.http2MaxConcurrentStreams,
          maxHeaderListSize: config.server.http2MaxHeaderListBytes,
          maxSessionMemoryMb: config.server.http2MaxSessionMemoryMb,
        },
        onLimit: (limit) => metrics.limitHits.inc({ limit }),
        onSessionError: () => metrics.httpRejected.inc({ reason: "h2_session_error" }),
      });
      return listener.server as unknown as import("node:http2").Http2Server;
    },
    logger: false,
    bodyLimit: config.server.readMaxBytes,
    return503OnClosing: true,
    // The client address: the socket's, unless TRUST_PROXY names the proxies in front (hops or ranges).
    trustProxy: fastifyTrustProxy(config.auth.trustProxy),
    forceCloseConnections: false,
  }) as unknown as FastifyInstance;

  /** The headers every response carries but the request id, as name, value, name, value… */
  const baseHeaders = Object.entries(securityHeaders(tls !== undefined)).flat();
  // Development admits loopback origins (the desktop app, a local web console) beside CORS_ORIGINS.
  const cors = { loopback: config.environment === "development" };
  const limits = { maxDeadlineMs: config.server.maxDeadlineMs, defaultDeadlineMs: config.server.defaultDeadlineMs };
  let shuttingDown = false;
  /** The unary fast path, when on (registered below, before the server listens). */
  let fast: Awaited<ReturnType<typeof registerFastUnary>> | undefined;

  // A callback hook, not an async one: no promise per request for work that never waits.
  fastify.addHook("onRequest", (request, reply, done) => {
    const raw = request.raw;
    const res = reply.raw;
    // Request id: the client's (if sane) or a new one; echoed, and visible to interceptors.
    const given = raw.headers["x-request-id"];
    const requestId = typeof given === "string" && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    raw.headers["x-request-id"] = requestId;
    const url = raw.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    // The fast path writes these with its answer, in one go (fast-unary.ts: writeHead).
    if (raw.method === "OPTIONS" || !fast?.paths.has(path)) {
      setBaseHeaders(res, requestId, baseHeaders);
    }

    const origin = raw.headers.origin;
    if (typeof origin === "string" && originAllowed(origin, config.server.corsOrigins, cors)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
      res.setHeader("access-control-expose-headers", CORS_EXPOSE_HEADERS);
      if (raw.method === "OPTIONS") {
        res.setHeader("access-control-allow-methods", CORS_ALLOW_METHODS);
        res.setHeader("access-control-allow-headers", CORS_ALLOW_HEADERS);
        res.setHeader("access-control-max-age", "7200");
        reply.code(204).send();
        return;
      }
    }

    if (!routedPaths.has(path)) return done();
    const streaming = streamingPaths.get(path);
    if ((streaming && writeUnaryToStream(raw, res, streaming)) || deps.admission?.(raw, res, path)) {
      // Answered here; Fastify goes on to see the reply hijacked, as after an async hook.
      reply.hijack();
      return done();
    }
    if (!fast?.paths.has(path)) {
      // connect-node's writer waits for 'drain' on a full socket and never hears that the client
      // went away (a closed HTTP/1.1 response emits 'close', not 'error'): a stream to a vanished
      // client would wait forever, holding its database session. 'drain' after 'close' lets its
      // next write fail, so the call ends and its handler's finally blocks run.
      res.once("close", () => {
        if (!res.writableFinished) res.emit("drain");
      });
    }
    // The fast path reads its deadline itself (and applies it to what it hands to connect-node).
    if (!fast?.paths.has(path)) applyDeadline(raw.headers, unaryPaths.has(path), limits);
    done();
  });

  fastify.get("/health", async () => ({ status: "ok" }));
  let migrated = false;
  fastify.get("/ready", async (_req, reply) => {
    const problems: string[] = [];
    if (shuttingDown) problems.push("shutting down");
    else if (fileProblem(db)) problems.push("database file gone");
    else if (!(await ping(db))) problems.push("database unreachable");
    else if (!migrated && !(migrated = await migrationsCurrent(db).catch(() => false))) problems.push("migrations pending");
    else if (!(await takesWrites(db))) problems.push("database takes no writes");
    if (problems.length > 0) return reply.code(503).send({ status: "unavailable", problems });
    return { status: "ready" };
  });
  registerDocs(fastify);
  registerConsole(fastify);
  deps.routes?.(fastify);

  const contextValues = (req: FastifyRequest) =>
    new CallValues().set(requestInfoKey, {
      ip: req.ip,
      userAgent: String(req.headers["user-agent"] ?? "").slice(0, 512),
      requestId: String(req.headers["x-request-id"] ?? ""),
    });
  // The options connect-node's handlers get; the fast path runs the same interceptors under the same limits.
  const connectOptions = {
    interceptors: [observe(logger, metrics), ...(deps.interceptors ?? [])],
    readMaxBytes: config.server.readMaxBytes,
    writeMaxBytes: 64 * 1024 * 1024,
    shutdownSignal: shutdownController.signal,
    jsonOptions: { ignoreUnknownFields: false },
    // connect-fastify's default, spelled out so that both paths negotiate the same encodings.
    acceptCompression: [compressionGzip, compressionBrotli],
  };
  const all: ServiceEntry[] = [[Health, healthService(health)], ...reflection, ...features];
  // RPC_FAST_PATH: unary RPCs on our own route (fast-unary.ts), streams on connect-node's handlers.
  fast = config.server.rpcFastPath ? await registerFastUnary(fastify, { services: all, connect: connectOptions, contextValues, baseHeaders, deadlines: limits }) : undefined;

  await fastify.register(fastifyConnectPlugin, {
    routes(router: ConnectRouter) {
      for (const [desc, impl] of all) {
        if (!fast) {
          router.service(desc, impl);
          continue;
        }
        const spec = createServiceImplSpec(desc, impl);
        for (const m of desc.methods) if (m.methodKind !== "unary") router.rpc(m, spec.methods[m.localName]!.impl as never);
      }
      // Bad request bytes are the client's fault, never Internal (request-faults.ts).
      router.handlers.forEach((h, i) => (router.handlers[i] = answerRequestFaults(h)));
    },
    ...connectOptions,
    contextValues,
  });

  const stream = new StreamServer(
    { protocols: deps.socketProtocols, maxConnections: config.ws.maxConnections, heartbeatMs: config.ws.heartbeatMs, maxPayloadBytes: 64 * 1024 },
    logger,
    metrics,
  );
  listener.onUpgradeRequest((req, socket, head) => stream.handleUpgrade(req, socket, head, "api"));

  return {
    fastify,
    listener,
    stream,
    health,
    fastUnary: fast?.stats,
    shutdownController,
    get shuttingDown() {
      return shuttingDown;
    },
    beginShutdown() {
      shuttingDown = true;
      health.shutdown();
    },
  };
}

/**
 * A call's context values, as connect's createContextValues keeps them (under each key's symbol,
 * on the object itself), with the methods on the prototype: connect's makes three closures per call.
 */
class CallValues implements ContextValues {
  get<T>(key: ContextKey<T>): T {
    return key.id in this ? (this as unknown as Record<symbol, T>)[key.id]! : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    (this as unknown as Record<symbol, T>)[key.id] = value;
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    delete (this as unknown as Record<symbol, unknown>)[key.id];
    return this;
  }
}

/** The error streams still open at the shutdown deadline end with. */
export const shutdownError = () => new ConnectError("server shutting down", Code.Unavailable);

export type { NetServer };

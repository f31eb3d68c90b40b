import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Interceptor } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { systemRuntime, type Runtime } from "../common/runtime.js";
import type { Config } from "../config/schema.js";
import { JobRunner, type Job } from "../jobs/runner.js";
import { JobStore } from "../jobs/store.js";
import { openDb, type Db } from "../db/client.js";
import { migrate } from "../db/migrator.js";
import type { Logger } from "../observability/logger.js";
import { createMetricsServer, Metrics } from "../observability/metrics.js";
import type { ServiceEntry } from "../common/service.js";
import { buildApp, shutdownError, type App, type AppDeps } from "./app.js";

export interface Addresses {
  api: string;
  ws: string;
  metrics: string;
}

/** What the server needs of the features; src/features.ts builds them, main.ts hands the builder over. */
export interface ServerFeatures {
  services: ServiceEntry[];
  interceptors: Interceptor[];
  jobs: Job[];
  /** Attaches to /v1/stream (both listeners). */
  socketHandler: App["stream"]["onConnection"];
  /** Subprotocols /v1/stream speaks. */
  socketProtocols: string[];
  /** Refusals before Connect's pipeline. */
  admission: NonNullable<AppDeps["admission"]>;
  /** Live subscriptions: started once listening, ended first at shutdown. */
  hub: { start(): Promise<void>; stop(): Promise<void> };
  /** Emails still being sent: flushed at shutdown. */
  outbox: { flush(): Promise<void> };
  /** Closes the engine's pools and finishes its writes (at shutdown, before the database closes). */
  closeEngine(): Promise<void>;
  /** Tells the features the API's real port. */
  listening(apiPort: number): void;
}

/** What the features are built on: the server's database, metrics and clock. */
export interface FeatureDeps {
  config: Config;
  db: Db;
  logger: Logger;
  runtime: Runtime;
  metrics: Metrics;
}

export interface RunningServer<F extends ServerFeatures = ServerFeatures> {
  app: App;
  db: Db;
  metrics: Metrics;
  features: F;
  jobs: JobRunner;
  ports: { api: number; ws: number; metrics: number };
  addresses: Addresses;
  /** Graceful shutdown (DESIGN.md §9); resolves when everything is closed. */
  shutdown(reason?: string): Promise<void>;
}

export interface StartOptions<F extends ServerFeatures = ServerFeatures> {
  logger: Logger;
  /** Builds the features (src/features.ts: buildFeatures); the server never imports them. */
  features: (deps: FeatureDeps) => F;
  /** Extra services beside the features (benchmarks, tests). */
  services?: ServiceEntry[];
  /** An already-open database (tests); otherwise config.database is opened. */
  db?: Db;
  /** Clock, ids and randomness (tests inject their own). */
  runtime?: Runtime;
  /** Start the background jobs (default true). */
  jobs?: boolean;
  /** Extra plain Fastify routes on the API port (benchmarks: a bare reference route beside Connect). */
  routes?: AppDeps["routes"];
}

/** config → database → migrate → app → listen. */
export async function startServer<F extends ServerFeatures>(config: Config, opts: StartOptions<F>): Promise<RunningServer<F>> {
  const { logger } = opts;
  const db = opts.db ?? (await openDb({ url: config.database.url, authToken: config.database.authToken }));
  if (config.database.autoMigrate) {
    const ran = await migrate(db);
    for (const m of ran) logger.info({ migration: `${m.version}_${m.name}` }, "migration applied");
  }
  const metrics = new Metrics();
  const runtime = opts.runtime ?? systemRuntime;
  const features = opts.features({ config, db, logger, runtime, metrics });
  const calls = new CallsInFlight();
  const app = await buildApp({
    config,
    logger,
    metrics,
    db,
    services: [...features.services, ...(opts.services ?? [])],
    interceptors: [calls.interceptor, ...features.interceptors],
    routes: opts.routes,
    socketProtocols: features.socketProtocols,
    admission: features.admission,
  });
  app.stream.onConnection = features.socketHandler;
  await features.hub.start();
  const { host } = config.server;
  await app.fastify.listen({ port: config.server.port, host });
  const wsServer = app.stream.createStandaloneServer();
  const metricsServer = createMetricsServer(metrics);
  await Promise.all([listen(wsServer, config.server.wsPort, host), listen(metricsServer, config.server.metricsPort, config.server.metricsHost)]);

  const ports = {
    api: (app.listener.server.address() as AddressInfo).port,
    ws: (wsServer.address() as AddressInfo).port,
    metrics: (metricsServer.address() as AddressInfo).port,
  };
  features.listening(ports.api);
  const scheme = config.server.tlsCertFile ? "https" : "http";
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  const addresses = {
    api: `${scheme}://${shown}:${ports.api}`,
    ws: `ws://${shown}:${ports.ws}/v1/stream`,
    metrics: `http://${shown}:${ports.metrics}/metrics`,
  };

  // JOB_INTERVAL_MS: every leased job at one interval instead of its own (per-instance jobs keep theirs).
  const every = config.jobs.intervalMs;
  const scheduled = every ? features.jobs.map((j) => (j.perInstance ? j : { ...j, intervalMs: every })) : features.jobs;
  const jobs = new JobRunner({ jobs: scheduled, store: new JobStore(db), runtime, logger, metrics, holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}` });
  if (opts.jobs !== false) jobs.start();

  let stopping: Promise<void> | undefined;
  const shutdown = (reason = "shutdown") =>
    (stopping ??= (async () => {
      const started = runtime.now();
      const budget = config.server.shutdownTimeoutMs;
      logger.info({ reason, timeoutMs: budget }, "shutting down: not ready, refusing new connections, finishing in-flight work");
      app.beginShutdown();
      // Subscriptions never end by themselves: they end now (sockets 1001, streams Unavailable).
      await features.hub.stop();
      // The listener stops accepting and drains; Fastify closes only afterwards, since closing it
      // first would answer requests already on the wire with 503.
      const drained = app.listener.drain();
      wsServer.close();
      const sockets = app.stream.close(Math.max(0, budget / 2));
      // Finish in-flight work within the budget, keeping a quarter of it (at least 750 ms) for the
      // rest: closing the listeners, the engine, jobs, the outbox and the database take longer on a
      // loaded machine, and past the budget main exits hard (code 1).
      const inTime = await Promise.race([drained.then(() => true), sleep(Math.max(0, budget - Math.max(750, budget / 4))).then(() => false)]);
      if (!inTime) {
        logger.warn({ open: app.listener.openConnections }, "shutdown timeout: ending remaining streams with Unavailable");
        app.shutdownController.abort(shutdownError());
        calls.endAll(shutdownError());
        // Database sockets end now: a statement on a server that ignores the cancel cannot hold a stream.
        const engineClosed = features.closeEngine();
        engineClosed.catch(() => undefined);
        await Promise.race([drained, sleep(250)]);
        app.listener.destroyAll();
        await drained;
      }
      const left = () => Math.max(0, budget - (runtime.now() - started));
      await app.fastify.close();
      await sockets;
      // The engine first: its pools end at once (busy connections destroyed), so neither a
      // statement nor a job's health check on a database that never answers can hold the exit.
      await Promise.race([features.closeEngine(), sleep(left())]);
      await Promise.race([jobs.stop(), sleep(left())]);
      await Promise.race([features.outbox.flush(), sleep(left())]);
      await closeServer(metricsServer);
      await closeServer(wsServer);
      db.close();
      logger.info({ ms: runtime.now() - started }, "shutdown complete");
    })());

  return { app, db, metrics, features, jobs, ports, addresses, shutdown };
}

/**
 * Lets the shutdown deadline end every call still running, with Unavailable, even when its handler
 * never looks at ctx.signal (a bidi or client stream waiting for the client's next message, a
 * stuck unary handler); otherwise such a call would only end by a connection reset.
 */
class CallsInFlight {
  private readonly stops = new Set<(reason: unknown) => void>();
  private ended = false;
  private reason: unknown;

  readonly interceptor: Interceptor = (next) => (req) => {
    const answer = this.race(next(req));
    // A unary answer as it is (no promise of ours in between); a stream's messages become endable.
    if (req.method.methodKind === "unary" || req.method.methodKind === "client_streaming") return answer;
    return answer.then((res) => (res.stream ? { ...res, message: this.endable(res.message) } : res));
  };

  endAll(reason: unknown): void {
    this.ended = true;
    this.reason = reason;
    for (const stop of this.stops) stop(reason);
    this.stops.clear();
  }

  private race<T>(work: Promise<T>): Promise<T> {
    if (this.ended) {
      // The work was already started (a stream's next message): its failure, later, is nobody's
      // to hear, and unheard it would take the process down.
      work.catch(() => undefined);
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.stops.add(reject);
      work.then(
        (v) => {
          this.stops.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.stops.delete(reject);
          reject(e);
        },
      );
    });
  }

  private async *endable<T>(messages: AsyncIterable<T>): AsyncGenerator<T> {
    const it = messages[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const r = await this.race(it.next());
        if (r.done) {
          done = true;
          return;
        }
        yield r.value;
      }
    } finally {
      // Abandoned (client gone): let the handler clean up. Ended at the deadline: the handler may be
      // stuck, so do not wait for it.
      if (!done) {
        const returned = it.return?.();
        if (this.ended) void returned?.catch(() => undefined);
        else await returned;
      }
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

import http from "node:http";
import { RpcMetrics } from "./rpc-metrics.js";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Every metric the server exports, on its own registry (several servers may share a process in tests). */
export class Metrics {
  readonly registry = new Registry();
  /** rpc_requests_total, rpc_duration_seconds and rpc_in_flight (rpc-metrics.ts: no label hashing per call). */
  readonly rpc = new RpcMetrics().register(this.registry);
  readonly wsConnections = new Gauge({
    name: "websocket_connections",
    help: "Open WebSocket connections, by listener.",
    labelNames: ["listener"] as const,
    registers: [this.registry],
  });
  readonly limitHits = new Counter({
    name: "limit_hits_total",
    help: "Requests, streams, sockets and writes refused by a configured limit, by the limit's variable name.",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  readonly httpRejected = new Counter({
    name: "http_rejected_total",
    help: "Requests refused before reaching a handler, by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly jobRuns = new Counter({
    name: "job_runs_total",
    help: "Background job runs, by job and result (ok, error, skipped: another instance holds the lease).",
    labelNames: ["job", "result"] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: "job_duration_seconds",
    help: "Background job run time.",
    labelNames: ["job"] as const,
    buckets: [0.001, 0.01, 0.1, 1, 10, 60],
    registers: [this.registry],
  });
  readonly logins = new Counter({
    name: "auth_logins_total",
    help: "Login attempts by result (ok, invalid, locked, throttled).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly realtimeEvents = new Counter({
    name: "realtime_events_total",
    help: "Realtime events by type and stage (published here, delivered to a subscriber here).",
    labelNames: ["type", "stage"] as const,
    registers: [this.registry],
  });
  readonly realtimeSubscribers = new Gauge({
    name: "realtime_subscribers",
    help: "Open realtime subscriptions (authenticated WebSockets and Subscribe streams).",
    registers: [this.registry],
  });
  readonly engineStatements = new Counter({
    name: "engine_statements_total",
    help: "Statements run by ExecuteQuery, by engine and result (ok, error, canceled, timeout).",
    labelNames: ["engine", "result"] as const,
    registers: [this.registry],
  });
  readonly engineRows = new Counter({
    name: "engine_rows_streamed_total",
    help: "Rows streamed to clients by ExecuteQuery, by engine.",
    labelNames: ["engine"] as const,
    registers: [this.registry],
  });
  readonly enginePools = new Gauge({
    name: "engine_pools",
    help: "Open connection pools (one per user and connection profile) in this instance.",
    registers: [this.registry],
  });
  readonly engineLimits = new Counter({
    name: "engine_limits_total",
    help: "Engine limits hit, by limit: a per-user or per-host cap (ENGINE_MAX_*), a cell or result over its cap, a database that broke the protocol, a refused password exchange, a stop the database did not obey (its connection destroyed).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  readonly engineConnections = new Gauge({
    name: "engine_connections",
    help: "Open connections to users' PostgreSQL and MySQL databases in this instance.",
    registers: [this.registry],
  });
  readonly syncChanges = new Counter({
    name: "sync_changes_total",
    help: "Pushed changes by result (applied, duplicate, conflict, rejected).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly syncPulls = new Counter({
    name: "sync_pulls_total",
    help: "Pull calls, by outcome (records, empty, reset).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: "rpc_rate_limited_total",
    help: "RPCs refused by the rate limits (ResourceExhausted RATE_LIMITED), by cost class (read, write, engine, public) or address (the ceiling of every call from one client address).",
    labelNames: ["class"] as const,
    registers: [this.registry],
  });
  readonly rateLimitRequests = new Counter({
    name: "rpc_rate_limit_requests_total",
    help: "Chunks of rate-limit tokens this instance asked the database for, by result (granted: the whole chunk, short: the window is used up, error: the database could not be asked and the call was admitted).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

/** The metrics port: GET /metrics in Prometheus text format, nothing else. */
export function createMetricsServer(metrics: Metrics): http.Server {
  return http.createServer((req, res) => {
    if (req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500).end();
        });
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
}

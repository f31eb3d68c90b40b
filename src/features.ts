import { mkdirSync } from "node:fs";
import type { Interceptor } from "@connectrpc/connect";
import { AuthService } from "../gen/sqlstudio/auth/v1/auth_pb.js";
import { RealtimeService } from "../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { SyncService } from "../gen/sqlstudio/sync/v1/sync_pb.js";
import { Accounts } from "./auth/accounts.js";
import { authInterceptor } from "./auth/interceptor.js";
import { refreshCookie } from "./auth/refresh-cookie.js";
import { authJobs } from "./auth/jobs.js";
import { PasswordHasher } from "./auth/passwords.js";
import { Sealer } from "./auth/seal.js";
import { authService } from "./auth/service.js";
import { AuthStore } from "./auth/store.js";
import { AccessTokens, RefreshTokens } from "./auth/tokens.js";
import type { Runtime } from "./common/runtime.js";
import type { Config } from "./config/schema.js";
import type { Db } from "./db/client.js";
import { ConsoleMailer, Outbox, ResendMailer, type Mailer } from "./email/mailer.js";
import type { Job } from "./jobs/runner.js";
import type { Logger } from "./observability/logger.js";
import type { Metrics } from "./observability/metrics.js";
import { RealtimeHub } from "./realtime/hub.js";
import { realtimeJobs } from "./realtime/jobs.js";
import { realtimeService } from "./realtime/service.js";
import { RealtimeStore } from "./realtime/store.js";
import { PROTOCOL_JSON, PROTOCOL_PROTO, realtimeSocketHandler } from "./realtime/ws.js";
import type { ServiceEntry } from "./server/app.js";
import { ConnectionService } from "../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService } from "../gen/sqlstudio/database/v1/schema_pb.js";
import { TableService } from "../gen/sqlstudio/database/v1/table_pb.js";
import { Catalog } from "./engine/catalog.js";
import { Connections } from "./engine/connections.js";
import { engineKey } from "./engine/key.js";
import { Pools } from "./engine/pools.js";
import { Queries } from "./engine/queries.js";
import { SecretBox } from "./engine/secret-box.js";
import { connectionService, queryService, schemaService, tableService } from "./engine/service.js";
import { CancelRelay } from "./engine/cancel-relay.js";
import { ConnectionStore, RunningQueryStore } from "./engine/store.js";
import { Tables } from "./engine/tables.js";
import { syncJobs } from "./sync/jobs.js";
import { syncService } from "./sync/service.js";
import { SyncStore } from "./sync/store.js";
import { Sync } from "./sync/sync.js";

export interface Features {
  services: ServiceEntry[];
  interceptors: Interceptor[];
  jobs: Job[];
  outbox: Outbox;
  accounts: Accounts;
  hub: RealtimeHub;
  /** The query engine's connection pools. */
  pools: Pools;
  /** Closes the engine's pools and finishes its writes (at shutdown, before the database closes). */
  closeEngine: () => Promise<void>;
  /** Attaches to /v1/stream (both listeners). */
  socketHandler: ReturnType<typeof realtimeSocketHandler>;
  /** Subprotocols /v1/stream speaks. */
  socketProtocols: string[];
}

/** The composition root of the features: each gets its store, logic and service here. */
export function buildFeatures(deps: { config: Config; db: Db; logger: Logger; runtime: Runtime; metrics: Metrics }): Features {
  const { config, db, logger, runtime } = deps;
  const mailer: Mailer = config.email.resendApiKey
    ? new ResendMailer(config.email.resendApiKey, config.email.from, config.email.resendBaseUrl)
    : new ConsoleMailer();
  const outbox = new Outbox(mailer, logger);

  let secret = config.auth.jwtSecret;
  if (!secret) {
    // Development only (production refuses to start without one): access tokens from a
    // previous run stop working on restart; clients refresh and carry on.
    secret = runtime.random(32).toString("base64url");
    logger.warn("JWT_SECRET is not set: using a random secret for this process");
  }
  const a = config.auth;
  const store = new AuthStore(db);
  const realtimeStore = new RealtimeStore(db);
  const hub = new RealtimeHub(realtimeStore, runtime, logger, deps.metrics, config.realtime.pollMs);
  const accounts = new Accounts(
    store,
    new PasswordHasher(a.bcryptCost),
    new AccessTokens({ secret, previousSecret: a.jwtPreviousSecret, issuer: a.jwtIssuer, audience: a.jwtAudience, ttlMs: a.accessTokenTtlMs }, runtime),
    new RefreshTokens([secret, a.jwtPreviousSecret], runtime),
    new Sealer(secret, "refresh-grace", runtime),
    outbox,
    runtime,
    { publicUrl: config.server.publicUrl, refreshTokenTtlMs: a.refreshTokenTtlMs, refreshGraceMs: a.refreshGraceMs, sessionCacheMs: a.sessionCacheMs },
    logger,
    {
      onLogin: (result) => deps.metrics.logins.inc({ result }),
      onSessionsRevoked: (userId, ids) => {
        hub.publishQuietly(userId, ...ids.map((sessionId) => ({ case: "sessionRevoked" as const, sessionId })));
      },
    },
  );
  const syncStore = new SyncStore(db);
  const sync = new Sync(syncStore, runtime, config.sync, {
    changed: (userId, headSeq, deviceId) => hub.publishQuietly(userId, { case: "syncChanged", headSeq, deviceId }),
    conflictsCreated: (userId, conflicts) =>
      hub.publishQuietly(userId, ...conflicts.map((c) => ({ case: "conflictCreated" as const, conflictId: c.id, recordId: c.recordId }))),
    pushed: (results) => {
      for (const r of results) deps.metrics.syncChanges.inc({ result: r.status });
    },
    pulled: (outcome) => deps.metrics.syncPulls.inc({ outcome }),
  });
  const e = config.engine;
  if (e.sqliteDir) mkdirSync(e.sqliteDir, { recursive: true });
  const pools = new Pools({ max: e.poolMax, idleMs: e.poolIdleMs, perUser: e.poolsPerUser }, () => runtime.now(), logger, (n) => deps.metrics.enginePools.set(n));
  const connections = new Connections(
    new ConnectionStore(db),
    new SecretBox(engineKey(e, logger)),
    runtime,
    { allowPrivateHosts: e.allowPrivateHosts, allowlist: e.hostAllowlist, sqliteDir: e.sqliteDir, connectTimeoutMs: e.connectTimeoutMs, maxPerUser: e.maxConnectionsPerUser },
    pools,
  );
  const runningStore = new RunningQueryStore(db);
  // The relay stops a query of this instance when another instance was asked to cancel it.
  const relay = new CancelRelay(runningStore, runtime.newId(), config.realtime.pollMs, () => runtime.now(), logger, (userId, queryId) =>
    queries.stopLocal(userId, queryId),
  );
  const queries = new Queries(
    connections,
    e,
    sync,
    runtime,
    logger,
    {
      statement: (engine, result, rows) => {
        deps.metrics.engineStatements.inc({ engine, result });
        if (rows > 0) deps.metrics.engineRows.inc({ engine }, rows);
      },
    },
    relay,
  );
  const catalog = new Catalog(connections);
  return {
    services: [
      [AuthService, authService(accounts)],
      [SyncService, syncService(sync)],
      [RealtimeService, realtimeService(hub, { maxQueued: config.realtime.maxQueued, now: () => runtime.now() })],
      [ConnectionService, connectionService(connections, pools)],
      [QueryService, queryService(queries, sync)],
      [SchemaService, schemaService(catalog)],
      [TableService, tableService(new Tables(connections, catalog))],
    ],
    interceptors: [refreshCookie(() => runtime.now()), authInterceptor(accounts, { requireVerifiedEmail: a.requireVerifiedEmail })],
    jobs: [
      ...authJobs(store, { refreshGraceMs: a.refreshGraceMs }),
      ...syncJobs(syncStore, config.sync),
      ...realtimeJobs(realtimeStore),
      { name: "engine.pools", intervalMs: e.healthCheckMs, perInstance: true, run: () => pools.check() },
      // Records of queries whose instance died without ending them.
      { name: "engine.queries", intervalMs: 3_600_000, run: async (now) => ({ deleted: await runningStore.deleteBefore(now - 86_400_000) }) },
    ],
    outbox,
    accounts,
    hub,
    pools,
    closeEngine: async () => {
      await pools.closeAll();
      await relay.flush();
    },
    socketHandler: realtimeSocketHandler(hub, accounts, {
      authTimeoutMs: config.realtime.authTimeoutMs,
      maxBufferedBytes: config.realtime.maxBufferedBytes,
      now: () => runtime.now(),
    }),
    socketProtocols: [PROTOCOL_PROTO, PROTOCOL_JSON],
  };
}

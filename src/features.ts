import { mkdirSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { AuthService } from "../gen/sqlstudio/auth/v1/auth_pb.js";
import { RealtimeService } from "../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { SyncService } from "../gen/sqlstudio/sync/v1/sync_pb.js";
import { Accounts } from "./auth/accounts.js";
import { authInterceptor } from "./auth/interceptor.js";
import { AccountDataStore } from "./auth/account-store.js";
import type { ExportSources } from "./auth/export.js";
import { refreshCookie } from "./auth/refresh-cookie.js";
import { authJobs } from "./auth/jobs.js";
import { jwtSecret } from "./auth/jwt-secret.js";
import { AccountMail } from "./auth/mail.js";
import { PasswordHasher } from "./auth/passwords.js";
import { Profiles } from "./auth/profile.js";
import { Sealer } from "./auth/seal.js";
import { authService } from "./auth/service.js";
import { AuthStore } from "./auth/store.js";
import { AccessTokens, RefreshTokens } from "./auth/tokens.js";
import type { Runtime } from "./common/runtime.js";
import type { Config } from "./config/schema.js";
import type { Db } from "./db/client.js";
import { scrubFreedSpace } from "./db/scrub.js";
import { ConsoleMailer, LogOnlyMailer, Outbox, ResendMailer, type Mailer } from "./email/mailer.js";
import type { Job } from "./jobs/runner.js";
import type { Logger } from "./observability/logger.js";
import type { Metrics } from "./observability/metrics.js";
import { RealtimeHub } from "./realtime/hub.js";
import { realtimeJobs } from "./realtime/jobs.js";
import { realtimeService } from "./realtime/service.js";
import { RealtimeStore } from "./realtime/store.js";
import { PROTOCOL_JSON, PROTOCOL_PROTO, realtimeSocketHandler } from "./realtime/ws.js";
import type { ServiceEntry } from "./common/service.js";
import type { AppDeps } from "./server/app.js";
import { SUBSCRIBE_PATH, SubscribeGate } from "./realtime/gate.js";
import { SUBSCRIPTION_LIMIT } from "./realtime/hub.js";
import { writeStreamError } from "./server/early-error.js";
import { clientAddress } from "./server/ws.js";
import { ConnectionService } from "../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "../gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService } from "../gen/sqlstudio/database/v1/schema_pb.js";
import { TableService } from "../gen/sqlstudio/database/v1/table_pb.js";
import { Catalog } from "./engine/catalog.js";
import { Connections } from "./engine/connections.js";
import { Budget } from "./engine/budget.js";
import { builtinEngines } from "./engine/engines.js";
import { engineKey } from "./engine/key.js";
import { wireLimits } from "./engine/limits.js";
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
import { assistantFeature } from "./assistant/feature.js";
import { ChunkedLimiter } from "./ratelimit/limiter.js";
import { LIMIT_VARIABLES, rateLimitInterceptor, userOfBucket } from "./ratelimit/interceptor.js";
import { rateLimitJobs } from "./ratelimit/jobs.js";
import { RateLimitStore } from "./ratelimit/store.js";

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
  /** Tells the features the API's real port (email links follow it when PUBLIC_URL is unset). */
  listening(apiPort: number): void;
  /** Refusals before Connect's pipeline (AppDeps.admission). */
  admission: NonNullable<AppDeps["admission"]>;
  /** Over-limit Subscribe calls refused before Connect's pipeline. */
  gate: SubscribeGate;
  /** The RPC rate limits' in-process buckets (its stats count database round trips). */
  rateLimiter: ChunkedLimiter;
}

/**
 * The composition root of the features: each gets its store, logic and service here. main.ts hands
 * it to the server, which calls it on its database, metrics and clock.
 */
export function buildFeatures(deps: { config: Config; db: Db; logger: Logger; runtime: Runtime; metrics: Metrics }): Features {
  const { config, db, logger, runtime } = deps;
  const mailer: Mailer =
    config.email.provider === "resend" && config.email.resendApiKey
      ? new ResendMailer(config.email.resendApiKey, config.email.from, config.email.resendBaseUrl)
      : config.environment === "development"
        ? new ConsoleMailer()
        : new LogOnlyMailer(logger);
  const outbox = new Outbox(mailer, logger);
  // Email links: PUBLIC_URL, else (outside production) the address the API really listens on.
  let listening = "";
  const publicUrl = () => config.server.publicUrl ?? listening;

  const secret = jwtSecret(config.auth, runtime, logger);
  const a = config.auth;
  const store = new AuthStore(db);
  const hour = { windowMs: 3_600_000 };
  const mail = new AccountMail({
    outbox,
    store,
    runtime,
    rules: { perAccount: { max: config.email.maxPerAccountPerHour, ...hour }, perAddress: { max: config.email.maxPerAddressPerHour, ...hour } },
    logger,
    secret,
  });
  const hasher = new PasswordHasher(a.bcryptCost);
  const realtimeStore = new RealtimeStore(db);
  const hub = new RealtimeHub(realtimeStore, runtime, logger, deps.metrics, {
    pollMs: config.realtime.pollMs,
    maxPerUser: config.realtime.maxSubscriptionsPerUser,
  });
  const accounts = new Accounts({
    store,
    hasher,
    tokens: new AccessTokens({ secret, previousSecret: a.jwtPreviousSecret, issuer: a.jwtIssuer, audience: a.jwtAudience, ttlMs: a.accessTokenTtlMs }, runtime),
    refreshTokens: new RefreshTokens([secret, a.jwtPreviousSecret], runtime),
    graceSealer: new Sealer(secret, "refresh-grace", runtime),
    mail,
    runtime,
    logger,
    config: { publicUrl, refreshTokenTtlMs: a.refreshTokenTtlMs, refreshGraceMs: a.refreshGraceMs, sessionCacheMs: a.sessionCacheMs },
    hooks: {
      onLogin: (result) => deps.metrics.logins.inc({ result }),
      onSessionsRevoked: (userId, ids) => {
        hub.publishQuietly(userId, ...ids.map((sessionId) => ({ case: "sessionRevoked" as const, sessionId })));
      },
    },
  });
  const gate = new SubscribeGate(hub, () => deps.metrics.limitHits.inc({ limit: SUBSCRIPTION_LIMIT }), writeStreamError);
  const syncStore = new SyncStore(db);
  const sync = new Sync(syncStore, runtime, config.sync, {
    changed: (userId, headSeq, deviceId) => hub.publishQuietly(userId, { case: "syncChanged", headSeq, deviceId }),
    conflictsCreated: (userId, conflicts) =>
      hub.publishQuietly(userId, ...conflicts.map((c) => ({ case: "conflictCreated" as const, conflictId: c.id, recordId: c.recordId }))),
    pushed: (results) => {
      for (const r of results) deps.metrics.syncChanges.inc({ result: r.status });
    },
    pulled: (outcome) => deps.metrics.syncPulls.inc({ outcome }),
    limitHit: (limit) => deps.metrics.limitHits.inc({ limit }),
  });
  const e = config.engine;
  if (e.sqliteDir) {
    mkdirSync(e.sqliteDir, { recursive: true });
    // Before per-user folders, profiles named files right in this folder: those stay unreachable
    // until an operator moves each into its owner's folder (docs/security.md).
    const loose = readdirSync(e.sqliteDir, { withFileTypes: true }).filter((f) => f.isFile()).length;
    if (loose > 0) logger.warn({ dir: e.sqliteDir, files: loose }, "files directly in ENGINE_SQLITE_DIR are not reachable: SQLite profiles open files in <dir>/<user id>/");
  }
  const limitHit = (limit: string) => deps.metrics.engineLimits.inc({ limit });
  const budget = new Budget(
    { streamsPerUser: e.maxStreamsPerUser, connectionsPerUser: e.maxOpenConnectionsPerUser, connectionsPerHost: e.maxConnectionsPerHost },
    limitHit,
    (open) => deps.metrics.engineConnections.set(open),
  );
  const engines = builtinEngines();
  const pools = new Pools(engines.drivers, { max: e.poolMax, idleMs: e.poolIdleMs, perUser: e.poolsPerUser, wire: wireLimits(e.maxCellBytes), onLimit: limitHit }, {
    now: () => runtime.now(),
    logger,
    onCount: (n) => deps.metrics.enginePools.set(n),
    budget,
  });
  const connections = new Connections(
    new ConnectionStore(db),
    new SecretBox(engineKey(e, logger)),
    runtime,
    { allowPrivateHosts: e.allowPrivateHosts, allowlist: e.hostAllowlist, sqliteDir: e.sqliteDir, connectTimeoutMs: e.connectTimeoutMs, maxPerUser: e.maxConnectionsPerUser },
    pools,
    // A profile moved to another server is a security event of its owner.
    (userId, move, from) =>
      store.addEvent({
        id: runtime.newId(),
        userId,
        type: "connection_moved",
        sessionId: null,
        ipAddress: from.ip,
        userAgent: from.userAgent,
        details: { connection_id: move.connectionId, from: move.from, to: move.to, password: move.password },
        createdAt: runtime.now(),
      }),
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
      forcedStop: () => limitHit("stop_forced"),
      limit: limitHit,
    },
    relay,
    budget,
  );
  const catalog = new Catalog(connections, engines.introspectors);
  const connectionStore = new ConnectionStore(db);
  const profiles = new Profiles({
    store,
    data: new AccountDataStore(db),
    accounts,
    hasher,
    mail,
    runtime,
    publicUrl,
    logger,
    sources: exportSources(connectionStore, syncStore),
    scrub: () => scrubFreedSpace(db, config.database.url),
    resources: {
      // This instance's pools of the user's profiles close now (others close theirs when idle).
      release: async (userId) => {
        for (const c of await connectionStore.list(userId, 10_000)) await pools.close(userId, c.id);
      },
      // The user's own SQLite files (<ENGINE_SQLITE_DIR>/<user id>/).
      remove: async (userId) => {
        if (e.sqliteDir && /^[0-9a-f-]{36}$/i.test(userId)) await rm(join(resolve(e.sqliteDir), userId), { recursive: true, force: true });
      },
    },
  });
  const rl = config.rateLimit;
  const rateStore = new RateLimitStore(db);
  let storeWarned = 0;
  const rateLimiter = new ChunkedLimiter({
    windowMs: rl.windowMs,
    maxChunk: rl.chunk,
    maxKeys: rl.maxKeys,
    now: () => runtime.now(),
    grant: async (bucket, windowStart, want, limit, now) => {
      const granted = await rateStore.grant(bucket, windowStart, want, limit, now, userOfBucket(bucket));
      deps.metrics.rateLimitRequests.inc({ result: granted < want ? "short" : "granted" });
      return granted;
    },
    onStoreError: (err) => {
      deps.metrics.rateLimitRequests.inc({ result: "error" });
      // At most one line every 10 s while the database cannot be asked (calls are admitted meanwhile).
      if (Date.now() - storeWarned < 10_000) return;
      storeWarned = Date.now();
      logger.warn({ err }, "rate limits: the database could not be asked; calls admitted");
    },
  });
  const rateLimit = rateLimitInterceptor(
    rateLimiter,
    { read: rl.readPerUser, write: rl.writePerUser, engine: rl.enginePerUser, public: rl.publicPerAddress, perAddress: rl.perAddress, windowMs: rl.windowMs },
    (cls) => {
      deps.metrics.rateLimited.inc({ class: cls });
      deps.metrics.limitHits.inc({ limit: LIMIT_VARIABLES[cls] });
    },
  );
  const assistant = assistantFeature({ config, db, logger, runtime, metrics: deps.metrics, connections, catalog, sync });
  return {
    services: [
      [AuthService, authService(accounts, profiles)],
      [SyncService, syncService(sync)],
      [RealtimeService, realtimeService(hub, { maxQueued: config.realtime.maxQueued, now: () => runtime.now() })],
      [ConnectionService, connectionService(connections, pools)],
      [QueryService, queryService(queries, sync)],
      [SchemaService, schemaService(catalog)],
      [TableService, tableService(new Tables(connections, catalog, budget))],
      ...assistant.services,
    ],
    interceptors: [refreshCookie(() => runtime.now()), authInterceptor(accounts, { requireVerifiedEmail: a.requireVerifiedEmail }), rateLimit],
    jobs: [
      ...authJobs(store, { refreshGraceMs: a.refreshGraceMs }),
      ...syncJobs(syncStore, config.sync),
      ...realtimeJobs(realtimeStore),
      { name: "engine.pools", intervalMs: e.healthCheckMs, perInstance: true, run: () => pools.check() },
      // Records of queries whose instance died without ending them.
      { name: "engine.queries", intervalMs: 3_600_000, run: async (now) => ({ deleted: await runningStore.deleteBefore(now - 86_400_000) }) },
      ...assistant.jobs,
      ...rateLimitJobs(rateStore, rl.windowMs),
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
      maxUnauthenticatedPerAddress: config.ws.maxUnauthenticatedPerAddress,
      authMessagesPerMinute: config.ws.authMessagesPerMinute,
      addressOf: (req) => clientAddress(req, config.auth.trustProxy),
      onLimit: (limit) => deps.metrics.limitHits.inc({ limit }),
    }),
    socketProtocols: [PROTOCOL_PROTO, PROTOCOL_JSON],
    admission: (req, res, path) => path === SUBSCRIBE_PATH && gate.admit(req, res),
    gate,
    rateLimiter,
    listening(apiPort) {
      const host = config.server.host;
      const local = ["127.0.0.1", "::1", "0.0.0.0", "::", "localhost"].includes(host);
      const shown = local ? "localhost" : host.includes(":") ? `[${host}]` : host;
      listening = `${config.server.tlsCertFile ? "https" : "http"}://${shown}:${apiPort}`;
    },
  };
}

/** What ExportMyData reads of the engine and sync features, through their own stores. */
function exportSources(connections: ConnectionStore, sync: SyncStore): ExportSources {
  return {
    async connections(userId) {
      const out: Record<string, unknown>[] = [];
      for (let after: { name: string; id: string } | undefined; ; ) {
        const page = await connections.list(userId, 500, after);
        for (const { passwordSealed, userId: _owner, createdAt, updatedAt, ...c } of page) {
          out.push({ ...c, hasPassword: passwordSealed !== null, createdAt: new Date(createdAt).toISOString(), updatedAt: new Date(updatedAt).toISOString() });
        }
        if (page.length < 500) return out;
        after = { name: page[page.length - 1].name, id: page[page.length - 1].id };
      }
    },
    async records(userId) {
      const out: { id: string; kind: string; version: number; updatedAt: number; payload: unknown }[] = [];
      for (let since = 0; ; ) {
        const page = await sync.changedSince(userId, since, 1000);
        for (const r of page) if (!r.deleted && r.payload !== null) out.push({ id: r.id, kind: r.kind, version: r.version, updatedAt: r.updatedAt, payload: JSON.parse(r.payload) });
        if (page.length < 1000) return out;
        since = page[page.length - 1].seq;
      }
    },
  };
}

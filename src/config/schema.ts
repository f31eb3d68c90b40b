import { z } from "zod";
import { trustProxySetting } from "./trust-proxy.js";

export const environments = ["development", "staging", "production"] as const;
export type Environment = (typeof environments)[number];

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.preprocess((v) => {
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return true;
    if (["0", "false", "no", "off", ""].includes(s)) return false;
  }
  return v;
}, z.boolean());
const list = z.preprocess(
  (v) =>
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
      : v,
  z.array(z.string()),
);

/** The AI assistant (DESIGN.md §8, issue 11): a provider by configuration only, never per request. */
const assistantSchema = z
  .object({
    /** openai (also every OpenAI-compatible server with baseUrl) | anthropic | unset (no assistant). */
    provider: z.enum(["openai", "anthropic"]).optional(),
    apiKey: z.string().optional(),
    /** The provider's API root, e.g. http://127.0.0.1:11434/v1 for Ollama. Default: the provider's own. */
    baseUrl: z.url().optional(),
    /** The default model. */
    model: z.string().optional(),
    /** Further models a request may name. */
    models: list,
    maxOutputTokens: positiveInt,
    timeoutMs: positiveInt,
    /** Retries of the SDK for connection errors, timeouts and 5xx (and 429s asking for a short wait). */
    maxRetries: z.coerce.number().int().min(0).max(10),
    /** Tokens of schema context per request. */
    contextTokens: z.coerce.number().int().min(200).max(200_000),
    /** Times a rejected answer goes back to the model with the database's error. */
    repairRounds: z.coerce.number().int().min(0).max(5),
    /** Per user; 0: unlimited. */
    requestsPerMinute: z.coerce.number().int().min(0),
    /** Per user and UTC day, input and output tokens; 0: unlimited. */
    tokensPerDay: z.coerce.number().int().min(0),
    /** How long a connection's schema is reused before it is read again. */
    schemaCacheMs: positiveInt,
    /** Time limit of the EXPLAIN check of an answer. */
    validateTimeoutMs: positiveInt,
  })
  .superRefine((a, ctx) => {
    if (!a.provider) return;
    if (!a.model) ctx.addIssue({ code: "custom", path: ["model"], message: `required with AI_PROVIDER=${a.provider}` });
    // OpenAI-compatible local servers (Ollama) take any key; the hosted APIs need one.
    if (!a.apiKey && (a.provider === "anthropic" || !a.baseUrl)) {
      ctx.addIssue({ code: "custom", path: ["apiKey"], message: `required with AI_PROVIDER=${a.provider}${a.provider === "openai" ? " unless AI_BASE_URL names a server that needs none" : ""}` });
    }
  });

/**
 * The whole configuration, in one typed object. Every key has an environment variable
 * (see ENV_KEYS) and a place in configs/config.yaml (the same path, camelCase).
 */
export const configSchema = z.object({
  environment: z.enum(environments),
  server: z.object({
    host: z.string().min(1),
    port,
    wsPort: port,
    metricsPort: port,
    /** The address the metrics port listens on: loopback unless the operator opens it (it has no authentication). */
    metricsHost: z.string().min(1),
    /** The URL users reach the server at (email links). Unset outside production: the listening address. */
    publicUrl: z.url().optional(),
    tlsCertFile: z.string().optional(),
    tlsKeyFile: z.string().optional(),
    corsOrigins: list,
    readMaxBytes: positiveInt,
    maxDeadlineMs: positiveInt,
    defaultDeadlineMs: positiveInt,
    shutdownTimeoutMs: positiveInt,
    idleTimeoutMs: positiveInt,
    headersTimeoutMs: positiveInt,
    /** HTTP/2 (h2c and TLS): streams open at once per connection. */
    http2MaxConcurrentStreams: positiveInt,
    /** HTTP/2: largest header block per request, in bytes (uncompressed). */
    http2MaxHeaderListBytes: z.coerce.number().int().min(1024),
    /** HTTP/2: memory one connection may hold, in MB (node's maxSessionMemory). */
    http2MaxSessionMemoryMb: positiveInt,
    /**
     * Unary RPCs (every protocol) on the fast path (src/server/fast-unary.ts); false: every RPC on
     * connect-node's handlers, as before it existed.
     */
    rpcFastPath: bool,
  }),
  database: z.object({
    url: z.string().min(1),
    authToken: z.string().optional(),
    autoMigrate: bool,
    allowFileInProduction: bool,
  }),
  auth: z.object({
    jwtSecret: z.string().optional(),
    /** Development: where a generated JWT secret is kept when JWT_SECRET is unset (tokens survive a restart). */
    jwtSecretFile: z.string().optional(),
    /** The previous secret, still accepted for verification during a key rotation. */
    jwtPreviousSecret: z.string().optional(),
    jwtIssuer: z.string().min(1),
    jwtAudience: z.string().min(1),
    accessTokenTtlMs: positiveInt,
    refreshTokenTtlMs: positiveInt,
    refreshGraceMs: z.coerce.number().int().min(0),
    bcryptCost: z.coerce.number().int().min(4).max(15),
    requireVerifiedEmail: bool,
    /** How long a verified session stays cached in-process before it is checked again. */
    sessionCacheMs: z.coerce.number().int().min(0).max(5000),
    /** Proxies trusted for the client address (X-Forwarded-For): 0 = none; see trust-proxy.ts. */
    trustProxy: trustProxySetting,
  }),
  email: z.object({
    /** resend (RESEND_API_KEY) or console (printed in development; elsewhere only logged, never a link). Default: resend with a key. */
    provider: z.enum(["resend", "console"]).optional(),
    resendApiKey: z.string().optional(),
    resendBaseUrl: z.url().optional(),
    from: z.string().min(3),
    /** Emails one account may cause per hour, all kinds together (every instance counts together). */
    maxPerAccountPerHour: positiveInt,
    /** Emails one address may receive per hour, whichever accounts cause them. */
    maxPerAddressPerHour: positiveInt,
  }),
  log: z.object({
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    pretty: bool,
  }),
  sync: z.object({
    maxChangesPerPush: positiveInt,
    maxPushBytes: positiveInt,
    maxRecordsPerUser: positiveInt,
    /** Bytes one user may store in sync: records, history, conflicts and rejected changes. */
    quotaBytes: positiveInt,
    maxOpenConflictsPerRecord: positiveInt,
    maxOpenConflictsPerUser: positiveInt,
    tombstoneRetentionDays: positiveInt,
    historyRetentionDays: positiveInt,
  }),
  realtime: z.object({
    pollMs: positiveInt,
    authTimeoutMs: positiveInt,
    maxQueued: positiveInt,
    maxBufferedBytes: positiveInt,
    /** Authenticated WebSockets plus Subscribe streams of one user, per instance. */
    maxSubscriptionsPerUser: positiveInt,
  }),
  ws: z.object({
    maxConnections: positiveInt,
    heartbeatMs: positiveInt,
    /** WebSockets of one client address that have not authenticated yet, per instance. */
    maxUnauthenticatedPerAddress: positiveInt,
    /** `authenticate` messages one socket may send per minute (a burst of as many, then one per 60/n s). */
    authMessagesPerMinute: positiveInt,
  }),
  engine: z.object({
    /** AES-256-GCM key for stored connection passwords: 32 bytes, base64. */
    secretKey: z.string().optional(),
    /** Development: where a generated key is kept when ENGINE_SECRET_KEY is unset. */
    secretKeyFile: z.string().optional(),
    /** SQLite profiles may only name files inside this directory; unset disables SQLite. */
    sqliteDir: z.string().optional(),
    /** Allow hosts on loopback, private, link-local and metadata addresses. */
    allowPrivateHosts: bool,
    /** Hosts, addresses or CIDR ranges allowed even when private. */
    hostAllowlist: list,
    poolMax: z.coerce.number().int().min(2).max(100),
    poolsPerUser: positiveInt,
    maxConnectionsPerUser: positiveInt,
    poolIdleMs: positiveInt,
    connectTimeoutMs: positiveInt,
    defaultMaxRows: positiveInt,
    defaultTimeoutMs: positiveInt,
    batchRows: positiveInt,
    batchBytes: positiveInt,
    healthCheckMs: positiveInt,
    /** Largest cell (and row) read from a user's database; larger ends the statement. */
    maxCellBytes: z.coerce.number().int().min(1024).max(512 * 1024 * 1024),
    /** ExecuteQuery and ExportRows streams one user may run at once in an instance. */
    maxStreamsPerUser: positiveInt,
    /** Open database connections one user may hold across all their pools in an instance. */
    maxOpenConnectionsPerUser: positiveInt,
    /** Open connections to one database host, all users together, in an instance. */
    maxConnectionsPerHost: positiveInt,
    /** The longest SQL text ExecuteQuery and ExplainQuery accept (UTF-8 bytes). */
    maxSqlBytes: positiveInt,
  }),
  /** Rate limits of every RPC (src/ratelimit/): calls per fixed window, 0 = unlimited. */
  rateLimit: z.object({
    windowMs: positiveInt,
    /** Per user: cheap reads, writes (and heavy app-database work), statements on the user's own database. */
    readPerUser: z.coerce.number().int().min(0),
    writePerUser: z.coerce.number().int().min(0),
    enginePerUser: z.coerce.number().int().min(0),
    /** Per client address: calls without a caller (Register, Login, RefreshToken, password reset…). */
    publicPerAddress: z.coerce.number().int().min(0),
    /** Per client address: every call but health and reflection, authenticated or not (a coarse ceiling). */
    perAddress: z.coerce.number().int().min(0),
    /** Most tokens an instance takes from the database at once (a twentieth of the limit, at most this). */
    chunk: positiveInt,
    /** Most keys (users and addresses) an instance keeps in memory; idle ones are dropped beyond it. */
    maxKeys: z.coerce.number().int().min(100),
  }),
  jobs: z.object({
    /** When set, every leased background job runs at this interval instead of its own (tests; cleanup more often). */
    intervalMs: positiveInt.optional(),
  }),
  assistant: assistantSchema,
});

export type Config = z.infer<typeof configSchema>;

/** Environment variable → config path. `.env.example` documents each one. */
export const ENV_KEYS: Record<string, string> = {
  ENVIRONMENT: "environment",
  HOST: "server.host",
  PORT: "server.port",
  WS_PORT: "server.wsPort",
  METRICS_PORT: "server.metricsPort",
  METRICS_HOST: "server.metricsHost",
  PUBLIC_URL: "server.publicUrl",
  TLS_CERT_FILE: "server.tlsCertFile",
  TLS_KEY_FILE: "server.tlsKeyFile",
  CORS_ORIGINS: "server.corsOrigins",
  READ_MAX_BYTES: "server.readMaxBytes",
  MAX_DEADLINE_MS: "server.maxDeadlineMs",
  DEFAULT_DEADLINE_MS: "server.defaultDeadlineMs",
  SHUTDOWN_TIMEOUT_MS: "server.shutdownTimeoutMs",
  IDLE_TIMEOUT_MS: "server.idleTimeoutMs",
  HEADERS_TIMEOUT_MS: "server.headersTimeoutMs",
  HTTP2_MAX_CONCURRENT_STREAMS: "server.http2MaxConcurrentStreams",
  HTTP2_MAX_HEADER_LIST_BYTES: "server.http2MaxHeaderListBytes",
  HTTP2_MAX_SESSION_MEMORY_MB: "server.http2MaxSessionMemoryMb",
  RPC_FAST_PATH: "server.rpcFastPath",
  DATABASE_URL: "database.url",
  TURSO_AUTH_TOKEN: "database.authToken",
  AUTO_MIGRATE: "database.autoMigrate",
  ALLOW_FILE_DATABASE_IN_PRODUCTION: "database.allowFileInProduction",
  JWT_SECRET: "auth.jwtSecret",
  JWT_SECRET_FILE: "auth.jwtSecretFile",
  JWT_PREVIOUS_SECRET: "auth.jwtPreviousSecret",
  JWT_ISSUER: "auth.jwtIssuer",
  JWT_AUDIENCE: "auth.jwtAudience",
  ACCESS_TOKEN_TTL_MS: "auth.accessTokenTtlMs",
  REFRESH_TOKEN_TTL_MS: "auth.refreshTokenTtlMs",
  REFRESH_GRACE_MS: "auth.refreshGraceMs",
  BCRYPT_COST: "auth.bcryptCost",
  REQUIRE_VERIFIED_EMAIL: "auth.requireVerifiedEmail",
  SESSION_CACHE_MS: "auth.sessionCacheMs",
  TRUST_PROXY: "auth.trustProxy",
  EMAIL_PROVIDER: "email.provider",
  RESEND_API_KEY: "email.resendApiKey",
  RESEND_BASE_URL: "email.resendBaseUrl",
  EMAIL_FROM: "email.from",
  MAIL_MAX_PER_ACCOUNT_PER_HOUR: "email.maxPerAccountPerHour",
  MAIL_MAX_PER_ADDRESS_PER_HOUR: "email.maxPerAddressPerHour",
  LOG_LEVEL: "log.level",
  LOG_PRETTY: "log.pretty",
  SYNC_MAX_CHANGES_PER_PUSH: "sync.maxChangesPerPush",
  SYNC_MAX_PUSH_BYTES: "sync.maxPushBytes",
  SYNC_MAX_RECORDS_PER_USER: "sync.maxRecordsPerUser",
  SYNC_QUOTA_BYTES: "sync.quotaBytes",
  SYNC_MAX_OPEN_CONFLICTS_PER_RECORD: "sync.maxOpenConflictsPerRecord",
  SYNC_MAX_OPEN_CONFLICTS_PER_USER: "sync.maxOpenConflictsPerUser",
  SYNC_TOMBSTONE_RETENTION_DAYS: "sync.tombstoneRetentionDays",
  SYNC_HISTORY_RETENTION_DAYS: "sync.historyRetentionDays",
  REALTIME_POLL_MS: "realtime.pollMs",
  REALTIME_AUTH_TIMEOUT_MS: "realtime.authTimeoutMs",
  REALTIME_MAX_QUEUED: "realtime.maxQueued",
  REALTIME_MAX_BUFFERED_BYTES: "realtime.maxBufferedBytes",
  REALTIME_MAX_SUBSCRIPTIONS_PER_USER: "realtime.maxSubscriptionsPerUser",
  WS_MAX_CONNECTIONS: "ws.maxConnections",
  WS_HEARTBEAT_MS: "ws.heartbeatMs",
  WS_MAX_UNAUTHENTICATED_PER_ADDRESS: "ws.maxUnauthenticatedPerAddress",
  WS_AUTH_MESSAGES_PER_MINUTE: "ws.authMessagesPerMinute",
  ENGINE_SECRET_KEY: "engine.secretKey",
  ENGINE_SECRET_KEY_FILE: "engine.secretKeyFile",
  ENGINE_SQLITE_DIR: "engine.sqliteDir",
  ENGINE_ALLOW_PRIVATE_HOSTS: "engine.allowPrivateHosts",
  ENGINE_HOST_ALLOWLIST: "engine.hostAllowlist",
  ENGINE_POOL_MAX: "engine.poolMax",
  ENGINE_POOLS_PER_USER: "engine.poolsPerUser",
  ENGINE_MAX_CONNECTIONS_PER_USER: "engine.maxConnectionsPerUser",
  ENGINE_POOL_IDLE_MS: "engine.poolIdleMs",
  ENGINE_CONNECT_TIMEOUT_MS: "engine.connectTimeoutMs",
  ENGINE_DEFAULT_MAX_ROWS: "engine.defaultMaxRows",
  ENGINE_DEFAULT_TIMEOUT_MS: "engine.defaultTimeoutMs",
  ENGINE_BATCH_ROWS: "engine.batchRows",
  ENGINE_BATCH_BYTES: "engine.batchBytes",
  ENGINE_HEALTH_CHECK_MS: "engine.healthCheckMs",
  ENGINE_MAX_CELL_BYTES: "engine.maxCellBytes",
  ENGINE_MAX_STREAMS_PER_USER: "engine.maxStreamsPerUser",
  ENGINE_MAX_OPEN_CONNECTIONS_PER_USER: "engine.maxOpenConnectionsPerUser",
  ENGINE_MAX_CONNECTIONS_PER_HOST: "engine.maxConnectionsPerHost",
  ENGINE_MAX_SQL_BYTES: "engine.maxSqlBytes",
  RATE_LIMIT_WINDOW_MS: "rateLimit.windowMs",
  RATE_LIMIT_READ_PER_USER: "rateLimit.readPerUser",
  RATE_LIMIT_WRITE_PER_USER: "rateLimit.writePerUser",
  RATE_LIMIT_ENGINE_PER_USER: "rateLimit.enginePerUser",
  RATE_LIMIT_PUBLIC_PER_ADDRESS: "rateLimit.publicPerAddress",
  RATE_LIMIT_PER_ADDRESS: "rateLimit.perAddress",
  RATE_LIMIT_CHUNK: "rateLimit.chunk",
  RATE_LIMIT_MAX_KEYS: "rateLimit.maxKeys",
  JOB_INTERVAL_MS: "jobs.intervalMs",
  AI_PROVIDER: "assistant.provider",
  AI_API_KEY: "assistant.apiKey",
  AI_BASE_URL: "assistant.baseUrl",
  AI_MODEL: "assistant.model",
  AI_MODELS: "assistant.models",
  AI_MAX_OUTPUT_TOKENS: "assistant.maxOutputTokens",
  AI_TIMEOUT_MS: "assistant.timeoutMs",
  AI_MAX_RETRIES: "assistant.maxRetries",
  AI_CONTEXT_TOKENS: "assistant.contextTokens",
  AI_REPAIR_ROUNDS: "assistant.repairRounds",
  AI_REQUESTS_PER_MINUTE: "assistant.requestsPerMinute",
  AI_TOKENS_PER_DAY: "assistant.tokensPerDay",
  AI_SCHEMA_CACHE_MS: "assistant.schemaCacheMs",
  AI_VALIDATE_TIMEOUT_MS: "assistant.validateTimeoutMs",
};

/**
 * Other names of variables (alias → the ENV_KEYS variable it stands for), so deployments written
 * for the original system start unchanged. Both set to different values is an error: one of them
 * is a mistake.
 */
export const ENV_ALIASES: Record<string, string> = {
  TURSO_URL: "DATABASE_URL",
};

/** Defaults per profile. Development needs no configuration at all. */
export function defaultsFor(environment: Environment): Record<string, unknown> {
  const dev = environment === "development";
  return {
    environment,
    server: {
      host: dev ? "127.0.0.1" : "0.0.0.0",
      port: 8080,
      wsPort: 8081,
      metricsPort: 9090,
      // Every environment: a sidecar (Cloud Run's collector) scrapes it over localhost.
      metricsHost: "127.0.0.1",
      corsOrigins: [],
      readMaxBytes: 4 * 1024 * 1024,
      maxDeadlineMs: 5 * 60_000,
      defaultDeadlineMs: 60_000,
      shutdownTimeoutMs: 10_000,
      idleTimeoutMs: 65_000,
      headersTimeoutMs: 15_000,
      http2MaxConcurrentStreams: 100,
      http2MaxHeaderListBytes: 16 * 1024,
      http2MaxSessionMemoryMb: 10,
      rpcFastPath: true,
    },
    database: {
      url: "file:./data/development.db",
      autoMigrate: true,
      allowFileInProduction: false,
    },
    auth: {
      jwtSecretFile: dev ? "./data/jwt.secret" : undefined,
      jwtIssuer: "sqlstudio",
      jwtAudience: "sqlstudio-api",
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 30 * 24 * 3_600_000,
      refreshGraceMs: 30_000,
      bcryptCost: 12,
      requireVerifiedEmail: environment === "production",
      sessionCacheMs: 2_000,
      trustProxy: 0,
    },
    email: { from: "SQL Studio <no-reply@sqlstudio.local>", maxPerAccountPerHour: 10, maxPerAddressPerHour: 6 },
    log: { level: "info", pretty: dev },
    sync: {
      maxChangesPerPush: 500,
      maxPushBytes: 4 * 1024 * 1024,
      maxRecordsPerUser: 50_000,
      quotaBytes: 64 * 1024 * 1024,
      maxOpenConflictsPerRecord: 5,
      maxOpenConflictsPerUser: 200,
      tombstoneRetentionDays: 90,
      historyRetentionDays: 90,
    },
    realtime: { pollMs: 250, authTimeoutMs: 5_000, maxQueued: 1_000, maxBufferedBytes: 1024 * 1024, maxSubscriptionsPerUser: 16 },
    ws: { maxConnections: 10_000, heartbeatMs: 30_000, maxUnauthenticatedPerAddress: 16, authMessagesPerMinute: 10 },
    engine: {
      secretKeyFile: dev ? "./data/engine.key" : undefined,
      sqliteDir: dev ? "./data/sqlite" : undefined,
      allowPrivateHosts: dev,
      hostAllowlist: [],
      poolMax: 5,
      poolsPerUser: 16,
      maxConnectionsPerUser: 1_000,
      poolIdleMs: 60_000,
      connectTimeoutMs: 10_000,
      defaultMaxRows: 10_000,
      defaultTimeoutMs: 5 * 60_000,
      batchRows: 1_000,
      batchBytes: 256 * 1024,
      healthCheckMs: 30_000,
      maxCellBytes: 16 * 1024 * 1024,
      maxStreamsPerUser: 8,
      maxOpenConnectionsPerUser: 20,
      maxConnectionsPerHost: 50,
      maxSqlBytes: 1024 * 1024,
    },
    rateLimit: {
      windowMs: 60_000,
      readPerUser: 3_000,
      writePerUser: 1_200,
      enginePerUser: 1_200,
      publicPerAddress: 600,
      perAddress: 30_000,
      chunk: 150,
      maxKeys: 100_000,
    },
    jobs: {},
    assistant: {
      models: [],
      maxOutputTokens: 1_024,
      timeoutMs: 60_000,
      maxRetries: 2,
      contextTokens: 4_000,
      repairRounds: 1,
      requestsPerMinute: 20,
      tokensPerDay: 200_000,
      schemaCacheMs: 5 * 60_000,
      validateTimeoutMs: 10_000,
    },
  };
}

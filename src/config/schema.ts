import { z } from "zod";

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
    publicUrl: z.url(),
    tlsCertFile: z.string().optional(),
    tlsKeyFile: z.string().optional(),
    corsOrigins: list,
    readMaxBytes: positiveInt,
    maxDeadlineMs: positiveInt,
    defaultDeadlineMs: positiveInt,
    shutdownTimeoutMs: positiveInt,
    idleTimeoutMs: positiveInt,
    headersTimeoutMs: positiveInt,
  }),
  database: z.object({
    url: z.string().min(1),
    authToken: z.string().optional(),
    autoMigrate: bool,
    allowFileInProduction: bool,
  }),
  auth: z.object({
    jwtSecret: z.string().optional(),
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
    trustProxy: bool,
  }),
  email: z.object({
    resendApiKey: z.string().optional(),
    resendBaseUrl: z.url().optional(),
    from: z.string().min(3),
  }),
  log: z.object({
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    pretty: bool,
  }),
  sync: z.object({
    maxChangesPerPush: positiveInt,
    maxPushBytes: positiveInt,
    maxRecordsPerUser: positiveInt,
    tombstoneRetentionDays: positiveInt,
    historyRetentionDays: positiveInt,
  }),
  realtime: z.object({
    pollMs: positiveInt,
    authTimeoutMs: positiveInt,
    maxQueued: positiveInt,
    maxBufferedBytes: positiveInt,
  }),
  ws: z.object({
    maxConnections: positiveInt,
    heartbeatMs: positiveInt,
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
  DATABASE_URL: "database.url",
  TURSO_AUTH_TOKEN: "database.authToken",
  AUTO_MIGRATE: "database.autoMigrate",
  ALLOW_FILE_DATABASE_IN_PRODUCTION: "database.allowFileInProduction",
  JWT_SECRET: "auth.jwtSecret",
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
  RESEND_API_KEY: "email.resendApiKey",
  RESEND_BASE_URL: "email.resendBaseUrl",
  EMAIL_FROM: "email.from",
  LOG_LEVEL: "log.level",
  LOG_PRETTY: "log.pretty",
  SYNC_MAX_CHANGES_PER_PUSH: "sync.maxChangesPerPush",
  SYNC_MAX_PUSH_BYTES: "sync.maxPushBytes",
  SYNC_MAX_RECORDS_PER_USER: "sync.maxRecordsPerUser",
  SYNC_TOMBSTONE_RETENTION_DAYS: "sync.tombstoneRetentionDays",
  SYNC_HISTORY_RETENTION_DAYS: "sync.historyRetentionDays",
  REALTIME_POLL_MS: "realtime.pollMs",
  REALTIME_AUTH_TIMEOUT_MS: "realtime.authTimeoutMs",
  REALTIME_MAX_QUEUED: "realtime.maxQueued",
  REALTIME_MAX_BUFFERED_BYTES: "realtime.maxBufferedBytes",
  WS_MAX_CONNECTIONS: "ws.maxConnections",
  WS_HEARTBEAT_MS: "ws.heartbeatMs",
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
      publicUrl: "http://localhost:8080",
      corsOrigins: dev ? ["*"] : [],
      readMaxBytes: 4 * 1024 * 1024,
      maxDeadlineMs: 5 * 60_000,
      defaultDeadlineMs: 60_000,
      shutdownTimeoutMs: 10_000,
      idleTimeoutMs: 65_000,
      headersTimeoutMs: 15_000,
    },
    database: {
      url: "file:./data/development.db",
      autoMigrate: true,
      allowFileInProduction: false,
    },
    auth: {
      jwtIssuer: "sqlstudio",
      jwtAudience: "sqlstudio-api",
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 30 * 24 * 3_600_000,
      refreshGraceMs: 30_000,
      bcryptCost: 12,
      requireVerifiedEmail: environment === "production",
      sessionCacheMs: 2_000,
      trustProxy: !dev,
    },
    email: { from: "SQL Studio <no-reply@sqlstudio.local>" },
    log: { level: dev ? "debug" : "info", pretty: dev },
    sync: { maxChangesPerPush: 500, maxPushBytes: 4 * 1024 * 1024, maxRecordsPerUser: 100_000, tombstoneRetentionDays: 90, historyRetentionDays: 90 },
    realtime: { pollMs: 250, authTimeoutMs: 5_000, maxQueued: 1_000, maxBufferedBytes: 1024 * 1024 },
    ws: { maxConnections: 10_000, heartbeatMs: 30_000 },
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
    },
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

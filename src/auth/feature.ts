import type { Interceptor } from "@connectrpc/connect";
import { AuthService } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import type { RequestInfo } from "../common/caller.js";
import type { Runtime } from "../common/runtime.js";
import type { ServiceEntry } from "../common/service.js";
import type { Config } from "../config/schema.js";
import type { Db } from "../db/client.js";
import { scrubFreedSpace } from "../db/scrub.js";
import { ConsoleMailer, LogOnlyMailer, Outbox, ResendMailer, type Mailer } from "../email/mailer.js";
import type { Job } from "../jobs/runner.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { AccountDataStore } from "./account-store.js";
import { Accounts } from "./accounts.js";
import type { ExportSources } from "./export.js";
import { authInterceptor } from "./interceptor.js";
import { authJobs } from "./jobs.js";
import { jwtSecret } from "./jwt-secret.js";
import { AccountMail } from "./mail.js";
import { PasswordHasher } from "./passwords.js";
import { Profiles, type ProfilesDeps } from "./profile.js";
import { refreshCookie } from "./refresh-cookie.js";
import { Sealer } from "./seal.js";
import { authService } from "./service.js";
import { securityEvent, type EventType } from "./shared.js";
import { AuthStore } from "./store.js";
import { AccessTokens, RefreshTokens } from "./tokens.js";

export interface AuthFeatureDeps {
  config: Config;
  db: Db;
  logger: Logger;
  runtime: Runtime;
  metrics: Metrics;
  /** Where email links point: PUBLIC_URL, or the address the API listens on. */
  publicUrl: () => string;
  /** Sessions just ended (realtime closes their sockets at once). */
  onSessionsRevoked: (userId: string, sessionIds: string[]) => void;
  /** What the account holds in other features: exported with it, released before and removed after its deletion. */
  accountData: ExportSources & ProfilesDeps["resources"];
}

export interface AuthFeature {
  services: ServiceEntry[];
  interceptors: Interceptor[];
  jobs: Job[];
  accounts: Accounts;
  /** Emails still being sent: flushed at shutdown. */
  outbox: Outbox;
  /** Writes a security event of a user that another feature saw (a connection profile moved). */
  recordEvent(e: { userId: string; type: EventType; info: RequestInfo; details: Record<string, string> }): Promise<void>;
}

/** The mailer the configuration names: Resend, the console in development, else only a log line. */
function mailerFor(config: Config, logger: Logger): Mailer {
  const m = config.email;
  if (m.provider === "resend" && m.resendApiKey) return new ResendMailer(m.resendApiKey, m.from, m.resendBaseUrl);
  return config.environment === "development" ? new ConsoleMailer() : new LogOnlyMailer(logger);
}

/** Accounts and sessions (DESIGN.md §5): AuthService, the auth and refresh-cookie interceptors, the cleanup jobs. */
export function authFeature(deps: AuthFeatureDeps): AuthFeature {
  const { config, db, logger, runtime, metrics, publicUrl } = deps;
  const a = config.auth;
  const outbox = new Outbox(mailerFor(config, logger), logger);
  const secret = jwtSecret(a, runtime, logger);
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
    hooks: { onLogin: (result) => metrics.logins.inc({ result }), onSessionsRevoked: deps.onSessionsRevoked },
  });
  const { connections, records, release, remove } = deps.accountData;
  const profiles = new Profiles({
    store,
    data: new AccountDataStore(db),
    sessions: accounts.sessions,
    hasher,
    mail,
    runtime,
    publicUrl,
    logger,
    sources: { connections, records },
    scrub: () => scrubFreedSpace(db, config.database.url),
    resources: { release, remove },
  });
  return {
    services: [[AuthService, authService(accounts, profiles)]],
    interceptors: [refreshCookie(() => runtime.now()), authInterceptor(accounts.sessions, { requireVerifiedEmail: a.requireVerifiedEmail })],
    jobs: authJobs(store, { refreshGraceMs: a.refreshGraceMs }),
    accounts,
    outbox,
    recordEvent: (e) => store.addEvent(securityEvent(runtime, { ...e, sessionId: null })),
  };
}

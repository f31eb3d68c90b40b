import type { Interceptor } from "@connectrpc/connect";
import { AuthService } from "../gen/sqlstudio/auth/v1/auth_pb.js";
import { Accounts } from "./auth/accounts.js";
import { authInterceptor } from "./auth/interceptor.js";
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
import type { ServiceEntry } from "./server/app.js";

export interface Features {
  services: ServiceEntry[];
  interceptors: Interceptor[];
  jobs: Job[];
  outbox: Outbox;
  accounts: Accounts;
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
    (result) => deps.metrics.logins.inc({ result }),
  );
  return {
    services: [[AuthService, authService(accounts)]],
    interceptors: [authInterceptor(accounts, { requireVerifiedEmail: a.requireVerifiedEmail })],
    jobs: authJobs(store, { refreshGraceMs: a.refreshGraceMs }),
    outbox,
    accounts,
  };
}

import type { Runtime } from "../common/runtime.js";
import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import { passwordChangedEmail } from "../email/templates.js";
import type { Logger } from "../observability/logger.js";
import type { AuthContext, RequestInfo } from "../common/caller.js";
import { invalidArgument, R } from "../common/errors.js";
import { AbuseGuard, type LoginResult } from "./abuse.js";
import { EmailFlows } from "./email-flows.js";
import type { AccountMail } from "./mail.js";
import { checkNewPassword, type PasswordHasher } from "./passwords.js";
import type { Sealer } from "./seal.js";
import { Sessions, type TokenPair } from "./sessions.js";
import { nameFor, securityEvent, wrongPassword } from "./shared.js";
import type { AuthStore, SecurityEventRow } from "./store.js";
import type { AccessTokens, RefreshTokens } from "./tokens.js";

export { RESET_TOKEN_TTL_MS, VERIFY_TOKEN_TTL_MS } from "./shared.js";
export { rateLimits } from "./abuse.js";
export { LAST_USE_RESOLUTION_MS, type TokenPair } from "./sessions.js";
export type { EventType } from "./shared.js";

export interface AccountsConfig {
  /** Where email links point: PUBLIC_URL, or a function of the listening address. */
  publicUrl: string | (() => string);
  refreshTokenTtlMs: number;
  refreshGraceMs: number;
  sessionCacheMs: number;
}

/** What the rest of the server hears from accounts. */
export interface AccountsHooks {
  onLogin?: (result: LoginResult) => void;
  onSessionsRevoked?: (userId: string, sessionIds: string[]) => void;
}

export interface AccountsDeps {
  store: AuthStore;
  hasher: PasswordHasher;
  tokens: AccessTokens;
  refreshTokens: RefreshTokens;
  /** Seals the current refresh token for the grace window's retries. */
  graceSealer: Sealer;
  mail: AccountMail;
  runtime: Runtime;
  logger: Logger;
  config: AccountsConfig;
  hooks?: AccountsHooks;
}

/**
 * Accounts and sessions: the logic behind AuthService and the auth interceptor, in three parts
 * (sessions and their tokens, the emailed-link flows, abuse protection) and login and password
 * changes, which join them. Callers use the parts directly (`accounts.sessions.refresh(…)`).
 */
export class Accounts {
  readonly sessions: Sessions;
  readonly emailFlows: EmailFlows;
  readonly guard: AbuseGuard;

  constructor(private readonly d: AccountsDeps) {
    const { store, runtime, config, hooks = {} } = d;
    this.guard = new AbuseGuard({ store, runtime, onLogin: hooks.onLogin });
    this.sessions = new Sessions({
      store,
      tokens: d.tokens,
      refreshTokens: d.refreshTokens,
      graceSealer: d.graceSealer,
      runtime,
      logger: d.logger,
      refreshTokenTtlMs: config.refreshTokenTtlMs,
      refreshGraceMs: config.refreshGraceMs,
      sessionCacheMs: config.sessionCacheMs,
      onSessionsRevoked: hooks.onSessionsRevoked,
    });
    this.emailFlows = new EmailFlows({ store, hasher: d.hasher, mail: d.mail, guard: this.guard, sessions: this.sessions, runtime, publicUrl: config.publicUrl });
  }

  // ── login and password ───────────────────────────────────────────────────

  async login(identifier: string, password: string, deviceName: string, info: RequestInfo): Promise<TokenPair> {
    const user = await this.d.store.userByIdentifier(identifier);
    const attempt = await this.guard.admitLogin(identifier, user, info.ip);
    const ok = user ? await this.d.hasher.verify(password, user.passwordHash) : await this.d.hasher.verifyNothing(password);
    if (!user || !ok) throw await this.guard.loginFailed(user, attempt, info);
    const pair = await this.sessions.open(user, deviceName, info, attempt);
    this.guard.loginSucceeded();
    return pair;
  }

  async changePassword(auth: AuthContext, current: string, next: string, info: RequestInfo): Promise<number> {
    const { store, runtime } = this.d;
    const user = await this.sessions.requireUser(auth);
    if (!(await this.d.hasher.verify(current, user.passwordHash))) throw wrongPassword();
    checkNewPassword(next, "new_password", [user.email, user.username, user.displayName]);
    if (current === next) throw invalidArgument("new_password", "must differ from the current password", R.PASSWORD_UNCHANGED);
    const now = runtime.now();
    const revoked = await store.setPassword(user.id, await this.d.hasher.hash(next), now, { keepSessionId: auth.sessionId }, [
      securityEvent(runtime, { userId: user.id, type: "password_changed", info, sessionId: auth.sessionId }),
    ]);
    this.sessions.revoked(user.id, revoked ?? []);
    // The change is made; the notice goes within the mail limits (a flood of changes is not a flood of mail).
    await this.d.mail.sendOrSkip(user.id, passwordChangedEmail(user.email, nameFor(user, user.email)));
    return revoked?.length ?? 0;
  }

  async listEvents(auth: AuthContext, size: number, token: string): Promise<{ events: SecurityEventRow[]; next: string }> {
    const limit = pageSize(size);
    const scope: PageScope = ["security_events"];
    const rows = await this.d.store.listEvents(auth.userId, limit + 1, decodePageToken(token, scope));
    const { page, next } = pageOf(rows, limit, scope, (last) => last.id);
    return { events: page, next };
  }
}

import { Code } from "@connectrpc/connect";
import type { Runtime } from "../common/runtime.js";
import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import { passwordChangedEmail, passwordResetEmail, verificationEmail } from "../email/templates.js";
import type { Logger } from "../observability/logger.js";
import type { AuthContext, RequestInfo } from "../common/caller.js";
import { fail, invalidArgument, R, resourceExhausted, type Reason } from "../common/errors.js";
import { judgeAttempt, lockoutPolicy } from "./lockout.js";
import type { AccountMail } from "./mail.js";
import { checkNewPassword, type PasswordHasher } from "./passwords.js";
import type { Sealer } from "./seal.js";
import { alreadyExists, emailLink, nameFor, RESET_TOKEN_TTL_MS, securityEvent, VERIFY_TOKEN_TTL_MS, wrongPassword, type EventType } from "./shared.js";
import { AuthStore, uniqueViolation, type SecurityEventRow, type SessionRow, type UserRow } from "./store.js";
import { hashToken, newOpaqueToken, type AccessTokens, type RefreshTokens } from "./tokens.js";

export { RESET_TOKEN_TTL_MS, VERIFY_TOKEN_TTL_MS } from "./shared.js";
/** A session's last use is written at most this often (every call would be a write). */
export const LAST_USE_RESOLUTION_MS = 60_000;

/** Rate limits (fixed windows shared by all instances through the database). */
export const rateLimits = {
  registerPerIp: { max: 10, windowMs: 3_600_000 },
  resendPerUser: { max: 3, windowMs: 3_600_000 },
  resetPerIp: { max: 10, windowMs: 3_600_000 },
  resetPerEmail: { max: 3, windowMs: 3_600_000 },
};

export interface AccountsConfig {
  /** Where email links point: PUBLIC_URL, or a function of the listening address. */
  publicUrl: string | (() => string);
  refreshTokenTtlMs: number;
  refreshGraceMs: number;
  sessionCacheMs: number;
}

/** What the rest of the server hears from accounts. */
export interface AccountsHooks {
  onLogin?: (result: "ok" | "invalid" | "locked" | "throttled") => void;
  onSessionsRevoked?: (userId: string, sessionIds: string[]) => void;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
  sessionId: string;
  user: UserRow;
}

export type { EventType } from "./shared.js";

const invalidCredentials = () => fail(R.INVALID_CREDENTIALS, "invalid username/email or password");
const unauthenticated = (reason: Reason, message: string) => fail(reason, message, {}, Code.Unauthenticated);

/** Accounts and sessions: the logic behind AuthService and the auth interceptor. */
export class Accounts {
  private readonly sessionCache = new Map<string, { at: number; check: Awaited<ReturnType<AuthStore["checkSession"]>> }>();

  constructor(
    private readonly store: AuthStore,
    private readonly hasher: PasswordHasher,
    private readonly tokens: AccessTokens,
    private readonly refreshTokens: RefreshTokens,
    private readonly graceSealer: Sealer,
    private readonly mail: AccountMail,
    private readonly runtime: Runtime,
    private readonly cfg: AccountsConfig,
    private readonly logger: Logger,
    private readonly hooks: AccountsHooks = {},
  ) {}

  private onLogin(result: "ok" | "invalid" | "locked" | "throttled"): void {
    this.hooks.onLogin?.(result);
  }

  /** Forgets revoked sessions here and tells the others (realtime: their sockets close at once). */
  revoked(userId: string, sessionIds: string[]): void {
    for (const id of sessionIds) this.sessionCache.delete(id);
    if (sessionIds.length > 0) this.hooks.onSessionsRevoked?.(userId, sessionIds);
  }

  private event(userId: string, type: EventType, info: RequestInfo, sessionId: string | null = null, details: Record<string, string> = {}): SecurityEventRow {
    return securityEvent(this.runtime, { userId, type, info, sessionId, details });
  }

  private async limit(bucket: string, rule: { max: number; windowMs: number }): Promise<boolean> {
    const now = this.runtime.now();
    const windowStart = now - (now % rule.windowMs);
    const count = await this.store.hit(bucket, windowStart, now);
    return count <= rule.max;
  }

  private async enforce(bucket: string, rule: { max: number; windowMs: number }, what: string): Promise<void> {
    if (!(await this.limit(bucket, rule))) {
      const now = this.runtime.now();
      throw resourceExhausted(`too many ${what}; try again later`, rule.windowMs - (now % rule.windowMs));
    }
  }

  private link(path: string, token: string): string {
    return emailLink(this.cfg.publicUrl, path, token);
  }

  // ── registration and email ───────────────────────────────────────────────

  async register(input: { email: string; username: string; password: string; displayName: string }, info: RequestInfo): Promise<UserRow> {
    checkNewPassword(input.password, "password", [input.email, input.username, input.displayName]);
    await this.enforce(`register:ip:${info.ip}`, rateLimits.registerPerIp, "registrations from this address");
    const taken = await this.store.emailOrUsernameTaken(input.email, input.username);
    if (taken) throw alreadyExists(taken);
    const now = this.runtime.now();
    const id = this.runtime.newId();
    const passwordHash = await this.hasher.hash(input.password);
    const token = newOpaqueToken(this.runtime);
    try {
      await this.store.createUser(
        { id, email: input.email, username: input.username, displayName: input.displayName, passwordHash, now },
        { hash: hashToken(token), expiresAt: now + VERIFY_TOKEN_TTL_MS },
        this.event(id, "registered", info),
      );
    } catch (e) {
      const field = uniqueViolation(e);
      if (field) throw alreadyExists(field);
      throw e;
    }
    // The account exists whatever the mail limits say (ResendVerificationEmail can follow).
    await this.mail.sendOrSkip(id, verificationEmail(input.email, this.link("verify-email", token)));
    return (await this.store.userById(id))!;
  }

  async verifyEmail(token: string, info: RequestInfo): Promise<UserRow> {
    const now = this.runtime.now();
    const done = await this.store.verifyEmail(hashToken(token), now, (uid, changed) => [
      this.event(uid, "email_verified", info),
      ...(changed ? [this.event(uid, "email_changed", info)] : []),
    ]);
    if (done === "taken") throw alreadyExists("email");
    if (!done) throw fail(R.TOKEN_INVALID_OR_USED, "the verification link is invalid, expired or already used");
    this.forgetUserSessions(done.userId);
    return (await this.store.userById(done.userId))!;
  }

  async resendVerification(auth: AuthContext): Promise<boolean> {
    const user = await this.requireUser(auth);
    if (user.emailVerified) return false;
    await this.enforce(`resend:user:${user.id}`, rateLimits.resendPerUser, "verification emails");
    const now = this.runtime.now();
    const token = newOpaqueToken(this.runtime);
    await this.mail.reserveOrRefuse(user.id, [user.email]);
    await this.store.addEmailToken(hashToken(token), user.id, "verify_email", user.email, now + VERIFY_TOKEN_TTL_MS, now);
    this.mail.enqueueReserved(verificationEmail(user.email, this.link("verify-email", token)));
    return true;
  }

  // ── login and tokens ─────────────────────────────────────────────────────

  async login(identifier: string, password: string, deviceName: string, info: RequestInfo): Promise<TokenPair> {
    const now = this.runtime.now();
    const p = lockoutPolicy;
    const user = await this.store.userByIdentifier(identifier);
    // Unknown identifiers are counted and locked exactly like real accounts.
    const key = user ? `user:${user.id}` : `id:${identifier}`;
    // Counted before the password is judged, so concurrent attempts cannot all be judged.
    const decision = await this.store.countLoginAttempt(key, info.ip, now, { key: now - p.horizonMs, ip: now - p.ipWindowMs }, (s) => judgeAttempt(s, now));
    if (!decision.admit) {
      this.onLogin(decision.why);
      if (decision.why === "throttled") throw resourceExhausted("too many failed logins from this address; try again later", decision.retryAfterMs, R.LOGIN_THROTTLED);
      throw resourceExhausted("too many failed logins; try again later", decision.retryAfterMs, R.LOGIN_LOCKED);
    }
    const ok = user ? await this.hasher.verify(password, user.passwordHash) : await this.hasher.verifyNothing(password);
    if (!user || !ok) {
      if (user) {
        const events = [this.event(user.id, "login_failed", info)];
        if (decision.lockUntil > now) events.push(this.event(user.id, "login_locked", info, null, { seconds: String(Math.round((decision.lockUntil - now) / 1000)) }));
        await this.store.recordLoginFailure(events);
      }
      this.onLogin("invalid");
      throw invalidCredentials();
    }
    const sessionId = this.runtime.newId();
    const refreshToken = this.refreshTokens.issue(sessionId);
    const refreshExpiresAt = now + this.cfg.refreshTokenTtlMs;
    await this.store.createSession(
      { id: sessionId, userId: user.id, deviceName, userAgent: info.userAgent, ipAddress: info.ip, refreshHash: hashToken(refreshToken), expiresAt: refreshExpiresAt, now },
      [this.event(user.id, "login_succeeded", info, sessionId, deviceName ? { device: deviceName } : {})],
      [key],
    );
    this.onLogin("ok");
    return this.pair(user.id, sessionId, refreshToken, refreshExpiresAt, user);
  }

  /**
   * Rotates a refresh token. A retry with the previous token inside the grace window gets the
   * current pair; any other authentic but replaced token of the session (however old) is a
   * reuse and revokes the session. Concurrent calls rotate once.
   */
  async refresh(refreshToken: string, info: RequestInfo): Promise<TokenPair> {
    const invalid = () => unauthenticated(R.INVALID_REFRESH_TOKEN, "refresh token is invalid or expired");
    const sessionId = this.refreshTokens.sessionOf(refreshToken);
    if (!sessionId) throw invalid();
    const now = this.runtime.now();
    const oldHash = hashToken(refreshToken);
    const next = this.refreshTokens.issue(sessionId);
    const expiresAt = now + this.cfg.refreshTokenTtlMs;
    const rotated = await this.store.rotateRefresh(sessionId, oldHash, hashToken(next), this.graceSealer.seal(next), now, expiresAt, info.ip);
    if (rotated) return this.pair(rotated.userId, sessionId, next, expiresAt);

    const prev = await this.store.sessionByPreviousRefresh(oldHash);
    if (prev && prev.id === sessionId && !prev.revoked && prev.expiresAt > now && prev.graceSealed !== null && now - prev.rotatedAt <= this.cfg.refreshGraceMs) {
      const current = this.graceSealer.open(prev.graceSealed);
      if (current !== undefined) return this.pair(prev.userId, prev.id, current, prev.expiresAt);
    }
    const owner = await this.store.sessionOwner(sessionId);
    if (!owner || owner.revoked || owner.expiresAt <= now) throw invalid();
    const ids = await this.store.revokeSessions(owner.userId, { only: sessionId }, "refresh_token_reused", now, (sid) =>
      this.event(owner.userId, "refresh_token_reused", info, sid),
    );
    this.revoked(owner.userId, ids);
    this.logger.warn({ userId: owner.userId, sessionId }, "refresh token reused after rotation: session revoked");
    throw unauthenticated(R.REFRESH_TOKEN_REUSED, "refresh token was already used; the session has been revoked");
  }

  private async pair(userId: string, sessionId: string, refreshToken: string, refreshExpiresAt: number, known?: UserRow): Promise<TokenPair> {
    const user = known ?? (await this.store.userById(userId));
    if (!user) throw unauthenticated(R.INVALID_REFRESH_TOKEN, "refresh token is invalid or expired");
    const access = await this.tokens.sign({ sub: user.id, sid: sessionId, role: user.role, email_verified: user.emailVerified });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt: refreshExpiresAt, sessionId, user };
  }

  /**
   * The caller of an RPC, from `Authorization: Bearer <jwt>`: a valid token of a live session.
   * Session liveness is cached for at most `sessionCacheMs` so revocations reach every instance fast.
   */
  async authenticate(authorization: string | null, ip = ""): Promise<AuthContext> {
    const m = authorization ? /^Bearer\s+([A-Za-z0-9_.-]{10,4096})$/i.exec(authorization.trim()) : null;
    if (!m) throw unauthenticated(R.MISSING_TOKEN, "missing or malformed Authorization: Bearer token");
    const claims = await this.tokens.verify(m[1]);
    if (!claims) throw unauthenticated(R.INVALID_TOKEN, "access token is invalid or expired");
    const now = this.runtime.now();
    let cached = this.sessionCache.get(claims.sid);
    if (!cached || now - cached.at > this.cfg.sessionCacheMs) {
      cached = { at: now, check: await this.store.checkSession(claims.sid, now) };
      if (this.sessionCache.size > 50_000) this.sessionCache.clear();
      this.sessionCache.set(claims.sid, cached);
    }
    const check = cached.check;
    if (!check || !check.live || check.userId !== claims.sub) throw unauthenticated(R.SESSION_REVOKED, "session has ended; log in again");
    if (now - check.lastSeenAt >= LAST_USE_RESOLUTION_MS) {
      // The session's last use, written at most once a minute (on every instance together).
      check.lastSeenAt = now;
      await this.store.touchSession(claims.sid, now, ip, now - LAST_USE_RESOLUTION_MS).catch((err: unknown) => this.logger.warn({ err }, "could not record a session's last use"));
    }
    return { userId: check.userId, sessionId: claims.sid, role: check.role, emailVerified: check.emailVerified, tokenExpiresAt: claims.expiresAt };
  }

  /** Drops this user's cached session checks (their email_verified changed, or they are gone). */
  forgetUserSessions(userId: string): void {
    for (const [sid, entry] of this.sessionCache) if (entry.check?.userId === userId) this.sessionCache.delete(sid);
  }

  async requireUser(auth: AuthContext): Promise<UserRow> {
    const user = await this.store.userById(auth.userId);
    if (!user) throw unauthenticated(R.SESSION_REVOKED, "session has ended; log in again");
    return user;
  }

  // ── the signed-in user ───────────────────────────────────────────────────

  currentUser(auth: AuthContext): Promise<UserRow> {
    return this.requireUser(auth);
  }

  async logout(auth: AuthContext, info: RequestInfo): Promise<void> {
    await this.revoke(auth, { only: auth.sessionId }, "logout", info);
  }

  async changePassword(auth: AuthContext, current: string, next: string, info: RequestInfo): Promise<number> {
    const user = await this.requireUser(auth);
    if (!(await this.hasher.verify(current, user.passwordHash))) throw wrongPassword();
    checkNewPassword(next, "new_password", [user.email, user.username, user.displayName]);
    if (current === next) throw invalidArgument("new_password", "must differ from the current password", R.PASSWORD_UNCHANGED);
    const now = this.runtime.now();
    const revoked = await this.store.setPassword(user.id, await this.hasher.hash(next), now, { keepSessionId: auth.sessionId }, [
      this.event(user.id, "password_changed", info, auth.sessionId),
    ]);
    this.revoked(user.id, revoked ?? []);
    // The change is made; the notice goes within the mail limits (a flood of changes is not a flood of mail).
    await this.mail.sendOrSkip(user.id, passwordChangedEmail(user.email, nameFor(user, user.email)));
    return revoked?.length ?? 0;
  }

  /** Always answers OK; sends a link only to an existing account, within limits. */
  async requestPasswordReset(email: string, info: RequestInfo): Promise<void> {
    await this.enforce(`reset:ip:${info.ip}`, rateLimits.resetPerIp, "password reset requests from this address");
    const user = await this.store.userByIdentifier(email);
    // No bcrypt here, and one write either way (the counters, plus the token for an account), so
    // an unknown email answers as fast as a known one.
    if (!user) {
      await this.mail.reserveAlong(undefined, [email], { hits: [], statements: [] });
      return;
    }
    const now = this.runtime.now();
    const token = newOpaqueToken(this.runtime);
    const event = this.event(user.id, "password_reset_requested", info);
    const { wait } = await this.mail.reserveAlong(user.id, [user.email], {
      hits: [{ bucket: `reset:email:${user.id}`, ...rateLimits.resetPerEmail }],
      statements: this.store.emailTokenStmts(hashToken(token), user.id, "reset_password", user.email, now + RESET_TOKEN_TTL_MS, now, event),
    });
    // Over a limit: the token stays unsent (it expires unused); the answer is OK either way.
    if (wait > 0) return;
    this.mail.enqueueReserved(passwordResetEmail(user.email, nameFor(user, user.email), this.link("reset-password", token)));
  }

  /**
   * Sets a new password with an emailed token and ends every session: a reset link, or the
   * secure-account link of an email-change notice, which also makes the address it was sent to
   * the account's again (verified by the link itself) and drops a pending change.
   */
  async resetPassword(token: string, newPassword: string, info: RequestInfo): Promise<void> {
    const now = this.runtime.now();
    const hash = hashToken(token);
    const owner = await this.store.peekEmailToken(hash, ["reset_password", "secure_account"], now);
    const invalid = () => fail(R.TOKEN_INVALID_OR_USED, "the reset link is invalid, expired or already used");
    if (!owner) throw invalid();
    const user = await this.store.userById(owner.userId);
    if (!user) throw invalid();
    checkNewPassword(newPassword, "new_password", [user.email, user.username, user.displayName]);
    const secure = owner.purpose === "secure_account";
    const events = [this.event(user.id, "password_reset", info)];
    if (secure) events.push(this.event(user.id, "account_secured", info));
    const revoked = await this.store.setPassword(user.id, await this.hasher.hash(newPassword), now, { consumeTokenHash: hash, restoreEmail: secure ? owner.email : undefined }, events);
    if (revoked === undefined) throw invalid(); // another request consumed the token first
    this.revoked(user.id, revoked);
    this.forgetUserSessions(user.id);
    const after = (await this.store.userById(user.id)) ?? user;
    await this.mail.sendOrSkip(user.id, passwordChangedEmail(after.email, nameFor(after, after.email)));
  }

  // ── sessions and events ──────────────────────────────────────────────────

  async listSessions(auth: AuthContext, size: number, token: string): Promise<{ sessions: (SessionRow & { current: boolean })[]; next: string }> {
    const limit = pageSize(size);
    const scope: PageScope = ["sessions"];
    const after = decodePageToken(token, scope, (key) => {
      const [at, id] = key.split("|");
      return /^\d+$/.test(at ?? "") && id ? { lastSeenAt: Number(at), id } : undefined;
    });
    const rows = await this.store.listSessions(auth.userId, this.runtime.now(), limit + 1, after);
    const { page, next } = pageOf(rows, limit, scope, (last) => `${last.lastSeenAt}|${last.id}`);
    return { sessions: page.map((s) => ({ ...s, current: s.id === auth.sessionId })), next };
  }

  async revokeSession(auth: AuthContext, sessionId: string, info: RequestInfo): Promise<void> {
    const ids = await this.revoke(auth, { only: sessionId }, "revoked", info);
    if (ids.length === 0) {
      // Another user's session, an unknown id, or one already ended: all look the same.
      const own = await this.store.sessionById(auth.userId, sessionId);
      if (!own) throw fail(R.SESSION_NOT_FOUND, "session not found");
    }
  }

  async revokeOthers(auth: AuthContext, info: RequestInfo): Promise<number> {
    return (await this.revoke(auth, { except: auth.sessionId }, "revoked_others", info)).length;
  }

  private async revoke(auth: AuthContext, which: { only?: string; except?: string }, reason: string, info: RequestInfo): Promise<string[]> {
    const ids = await this.store.revokeSessions(auth.userId, which, reason, this.runtime.now(), (sid) =>
      this.event(auth.userId, "session_revoked", info, sid, { reason }),
    );
    this.revoked(auth.userId, ids);
    return ids;
  }

  async listEvents(auth: AuthContext, size: number, token: string): Promise<{ events: SecurityEventRow[]; next: string }> {
    const limit = pageSize(size);
    const scope: PageScope = ["security_events"];
    const rows = await this.store.listEvents(auth.userId, limit + 1, decodePageToken(token, scope));
    const { page, next } = pageOf(rows, limit, scope, (last) => last.id);
    return { events: page, next };
  }
}


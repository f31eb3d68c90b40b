import { Code } from "@connectrpc/connect";
import type { Runtime } from "../common/runtime.js";
import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import type { Logger } from "../observability/logger.js";
import type { AuthContext, RequestInfo } from "../common/caller.js";
import { fail, R, type Reason } from "../common/errors.js";
import type { Sealer } from "./seal.js";
import { securityEvent } from "./shared.js";
import type { AuthStore, SessionRow, UserRow } from "./store.js";
import { hashToken, type AccessTokens, type RefreshTokens } from "./tokens.js";

/** A session's last use is written at most this often (every call would be a write). */
export const LAST_USE_RESOLUTION_MS = 60_000;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
  sessionId: string;
  user: UserRow;
}

export interface SessionsDeps {
  store: AuthStore;
  tokens: AccessTokens;
  refreshTokens: RefreshTokens;
  /** Seals the current refresh token for the grace window's retries. */
  graceSealer: Sealer;
  runtime: Runtime;
  logger: Logger;
  refreshTokenTtlMs: number;
  refreshGraceMs: number;
  sessionCacheMs: number;
  /** Sessions just ended (realtime: their sockets close at once). */
  onSessionsRevoked?: (userId: string, sessionIds: string[]) => void;
}

export const unauthenticated = (reason: Reason, message: string) => fail(reason, message, {}, Code.Unauthenticated);

/** Sessions and their tokens: opening, refreshing, checking on every call, listing, revoking. */
export class Sessions {
  private readonly cache = new Map<string, { at: number; check: Awaited<ReturnType<AuthStore["checkSession"]>> }>();

  constructor(private readonly d: SessionsDeps) {}

  /**
   * A new session for a user who just proved their password in the login attempt counted at
   * `attempt.at`; the failures of `attempt.key` are forgiven.
   */
  async open(user: UserRow, deviceName: string, info: RequestInfo, attempt: { key: string; at: number }): Promise<TokenPair> {
    const { store, runtime } = this.d;
    const now = attempt.at;
    const sessionId = runtime.newId();
    const refreshToken = this.d.refreshTokens.issue(sessionId);
    const refreshExpiresAt = now + this.d.refreshTokenTtlMs;
    await store.createSession(
      { id: sessionId, userId: user.id, deviceName, userAgent: info.userAgent, ipAddress: info.ip, refreshHash: hashToken(refreshToken), expiresAt: refreshExpiresAt, now },
      [securityEvent(runtime, { userId: user.id, type: "login_succeeded", info, sessionId, details: deviceName ? { device: deviceName } : {} })],
      [attempt.key],
    );
    return this.pair({ userId: user.id, sessionId, refreshToken, refreshExpiresAt, known: user });
  }

  /**
   * Rotates a refresh token. A retry with the previous token inside the grace window gets the
   * current pair; any other authentic but replaced token of the session (however old) is a
   * reuse and revokes the session. Concurrent calls rotate once.
   */
  async refresh(refreshToken: string, info: RequestInfo): Promise<TokenPair> {
    const { store, runtime } = this.d;
    const invalid = () => unauthenticated(R.INVALID_REFRESH_TOKEN, "refresh token is invalid or expired");
    const sessionId = this.d.refreshTokens.sessionOf(refreshToken);
    if (!sessionId) throw invalid();
    const now = runtime.now();
    const oldHash = hashToken(refreshToken);
    const next = this.d.refreshTokens.issue(sessionId);
    const expiresAt = now + this.d.refreshTokenTtlMs;
    const rotated = await store.rotateRefresh(sessionId, oldHash, { hash: hashToken(next), graceSealed: this.d.graceSealer.seal(next), expiresAt }, now, info.ip);
    if (rotated) return this.pair({ userId: rotated.userId, sessionId, refreshToken: next, refreshExpiresAt: expiresAt });

    const prev = await store.sessionByPreviousRefresh(oldHash);
    if (prev && prev.id === sessionId && !prev.revoked && prev.expiresAt > now && prev.graceSealed !== null && now - prev.rotatedAt <= this.d.refreshGraceMs) {
      const current = this.d.graceSealer.open(prev.graceSealed);
      if (current !== undefined) return this.pair({ userId: prev.userId, sessionId: prev.id, refreshToken: current, refreshExpiresAt: prev.expiresAt });
    }
    const owner = await store.sessionOwner(sessionId);
    if (!owner || owner.revoked || owner.expiresAt <= now) throw invalid();
    const ids = await store.revokeSessions(owner.userId, { only: sessionId }, "refresh_token_reused", now, (sid) =>
      securityEvent(runtime, { userId: owner.userId, type: "refresh_token_reused", info, sessionId: sid }),
    );
    this.revoked(owner.userId, ids);
    this.d.logger.warn({ userId: owner.userId, sessionId }, "refresh token reused after rotation: session revoked");
    throw unauthenticated(R.REFRESH_TOKEN_REUSED, "refresh token was already used; the session has been revoked");
  }

  private async pair(p: { userId: string; sessionId: string; refreshToken: string; refreshExpiresAt: number; known?: UserRow }): Promise<TokenPair> {
    const user = p.known ?? (await this.d.store.userById(p.userId));
    if (!user) throw unauthenticated(R.INVALID_REFRESH_TOKEN, "refresh token is invalid or expired");
    const access = await this.d.tokens.sign({ sub: user.id, sid: p.sessionId, role: user.role, email_verified: user.emailVerified });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: p.refreshToken,
      refreshTokenExpiresAt: p.refreshExpiresAt,
      sessionId: p.sessionId,
      user,
    };
  }

  /**
   * The caller of an RPC, from `Authorization: Bearer <jwt>`: a valid token of a live session.
   * Session liveness is cached for at most `sessionCacheMs` so revocations reach every instance fast.
   */
  async authenticate(authorization: string | null, ip = ""): Promise<AuthContext> {
    const m = authorization ? /^Bearer\s+([A-Za-z0-9_.-]{10,4096})$/i.exec(authorization.trim()) : null;
    if (!m) throw unauthenticated(R.MISSING_TOKEN, "missing or malformed Authorization: Bearer token");
    const claims = await this.d.tokens.verify(m[1]);
    if (!claims) throw unauthenticated(R.INVALID_TOKEN, "access token is invalid or expired");
    const now = this.d.runtime.now();
    let cached = this.cache.get(claims.sid);
    if (!cached || now - cached.at > this.d.sessionCacheMs) {
      cached = { at: now, check: await this.d.store.checkSession(claims.sid, now) };
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(claims.sid, cached);
    }
    const check = cached.check;
    if (!check || !check.live || check.userId !== claims.sub) throw unauthenticated(R.SESSION_REVOKED, "session has ended; log in again");
    if (now - check.lastSeenAt >= LAST_USE_RESOLUTION_MS) {
      // The session's last use, written at most once a minute (on every instance together).
      check.lastSeenAt = now;
      await this.d.store
        .touchSession(claims.sid, now, ip, now - LAST_USE_RESOLUTION_MS)
        .catch((err: unknown) => this.d.logger.warn({ err }, "could not record a session's last use"));
    }
    return { userId: check.userId, sessionId: claims.sid, role: check.role, emailVerified: check.emailVerified, tokenExpiresAt: claims.expiresAt };
  }

  /** Forgets revoked sessions here and tells the others (realtime: their sockets close at once). */
  revoked(userId: string, sessionIds: string[]): void {
    for (const id of sessionIds) this.cache.delete(id);
    if (sessionIds.length > 0) this.d.onSessionsRevoked?.(userId, sessionIds);
  }

  /** Drops this user's cached session checks (their email_verified changed, or they are gone). */
  forgetUserSessions(userId: string): void {
    for (const [sid, entry] of this.cache) if (entry.check?.userId === userId) this.cache.delete(sid);
  }

  async requireUser(auth: AuthContext): Promise<UserRow> {
    const user = await this.d.store.userById(auth.userId);
    if (!user) throw unauthenticated(R.SESSION_REVOKED, "session has ended; log in again");
    return user;
  }

  async logout(auth: AuthContext, info: RequestInfo): Promise<void> {
    await this.revoke(auth, { only: auth.sessionId }, "logout", info);
  }

  async list(auth: AuthContext, size: number, token: string): Promise<{ sessions: (SessionRow & { current: boolean })[]; next: string }> {
    const limit = pageSize(size);
    const scope: PageScope = ["sessions"];
    const after = decodePageToken(token, scope, (key) => {
      const [at, id] = key.split("|");
      return /^\d+$/.test(at ?? "") && id ? { lastSeenAt: Number(at), id } : undefined;
    });
    const rows = await this.d.store.listSessions(auth.userId, this.d.runtime.now(), limit + 1, after);
    const { page, next } = pageOf(rows, limit, scope, (last) => `${last.lastSeenAt}|${last.id}`);
    return { sessions: page.map((s) => ({ ...s, current: s.id === auth.sessionId })), next };
  }

  async revokeOne(auth: AuthContext, sessionId: string, info: RequestInfo): Promise<void> {
    const ids = await this.revoke(auth, { only: sessionId }, "revoked", info);
    if (ids.length === 0) {
      // Another user's session, an unknown id, or one already ended: all look the same.
      const own = await this.d.store.sessionById(auth.userId, sessionId);
      if (!own) throw fail(R.SESSION_NOT_FOUND, "session not found");
    }
  }

  async revokeOthers(auth: AuthContext, info: RequestInfo): Promise<number> {
    return (await this.revoke(auth, { except: auth.sessionId }, "revoked_others", info)).length;
  }

  private async revoke(auth: AuthContext, which: { only?: string; except?: string }, reason: string, info: RequestInfo): Promise<string[]> {
    const { runtime } = this.d;
    const ids = await this.d.store.revokeSessions(auth.userId, which, reason, runtime.now(), (sid) =>
      securityEvent(runtime, { userId: auth.userId, type: "session_revoked", info, sessionId: sid, details: { reason } }),
    );
    this.revoked(auth.userId, ids);
    return ids;
  }
}

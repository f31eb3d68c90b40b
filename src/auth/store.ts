import type { InStatement } from "@libsql/client";
import { inWriteTransaction, type Db } from "../db/client.js";
import { AbuseStore } from "./abuse-store.js";
import { EVENT_COLS, SESSION_COLS, securityEvent, session, USER_COLS, user, type EmailToken, type EmailTokenPurpose, type SecurityEventRow, type SessionCheck, type SessionRow, type UserRow } from "./store-rows.js";

/** The only code with SQL for the auth tables (migrations/0002_auth.sql). */

export type { EmailToken, EmailTokenPurpose, SecurityEventRow, SessionCheck, SessionRow, UserRow } from "./store-rows.js";
export { uniqueViolation } from "./store-rows.js";

export class AuthStore extends AbuseStore {
  constructor(db: Db) {
    super(db);
  }

  // ── users ────────────────────────────────────────────────────────────────

  /** Inserts the user, their first email token and the audit event in one transaction. */
  async createUser(
    u: { id: string; email: string; username: string; displayName: string; passwordHash: string; now: number },
    token: { hash: string; expiresAt: number },
    event: SecurityEventRow,
  ): Promise<void> {
    await this.db.batch(
      [
        {
          sql: `INSERT INTO users (id, email, username, username_key, display_name, password_hash, password_changed_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [u.id, u.email, u.username, u.username.toLowerCase(), u.displayName, u.passwordHash, u.now, u.now, u.now],
        },
        this.insertTokenStmt({ hash: token.hash, userId: u.id, purpose: "verify_email", email: u.email, expiresAt: token.expiresAt }, u.now),
        this.insertEventStmt(event),
      ],
      "write",
    );
  }

  async userById(id: string): Promise<UserRow | undefined> {
    const rs = await this.db.execute({ sql: `SELECT ${USER_COLS} FROM users WHERE id = ?`, args: [id] });
    return rs.rows[0] ? user(rs.rows[0]) : undefined;
  }

  /** By email (contains "@") or by username, case-insensitively. */
  async userByIdentifier(identifier: string): Promise<UserRow | undefined> {
    const rs = identifier.includes("@")
      ? await this.db.execute({ sql: `SELECT ${USER_COLS} FROM users WHERE email = ?`, args: [identifier] })
      : await this.db.execute({ sql: `SELECT ${USER_COLS} FROM users WHERE username_key = ?`, args: [identifier] });
    return rs.rows[0] ? user(rs.rows[0]) : undefined;
  }

  async emailOrUsernameTaken(email: string | undefined, username: string | undefined, exceptUserId = ""): Promise<"email" | "username" | undefined> {
    if (email !== undefined) {
      const rs = await this.db.execute({ sql: "SELECT 1 FROM users WHERE email = ? AND id <> ?", args: [email, exceptUserId] });
      if (rs.rows.length > 0) return "email";
    }
    if (username !== undefined) {
      const rs = await this.db.execute({ sql: "SELECT 1 FROM users WHERE username_key = ? AND id <> ?", args: [username.toLowerCase(), exceptUserId] });
      if (rs.rows.length > 0) return "username";
    }
    return undefined;
  }

  /**
   * Applies the set display name and username and, with `emailChange`, records the new address
   * as pending (email stays the account's address until it is verified): a verification token for
   * the new address, a secure-account token for the current one, and links of an earlier pending
   * change stop working. One transaction.
   */
  async updateProfile(
    userId: string,
    changes: { displayName?: string; username?: string },
    now: number,
    events: SecurityEventRow[],
    emailChange?: { next: string; current: string; verify: { hash: string; expiresAt: number }; secure: { hash: string; expiresAt: number } },
  ): Promise<void> {
    const stmts: InStatement[] = [];
    if (changes.displayName !== undefined) {
      stmts.push({ sql: "UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?", args: [changes.displayName, now, userId] });
    }
    if (changes.username !== undefined) {
      stmts.push({
        sql: "UPDATE users SET username = ?, username_key = ?, updated_at = ? WHERE id = ?",
        args: [changes.username, changes.username.toLowerCase(), now, userId],
      });
    }
    if (emailChange) {
      const { next, current, verify, secure } = emailChange;
      stmts.push(
        {
          sql: "UPDATE email_tokens SET used_at = ?, updated_at = ? WHERE user_id = ? AND purpose = 'verify_email' AND email <> ? AND used_at IS NULL",
          args: [now, now, userId, current],
        },
        { sql: "UPDATE users SET pending_email = ?, updated_at = ? WHERE id = ?", args: [next, now, userId] },
        this.insertTokenStmt({ hash: verify.hash, userId, purpose: "verify_email", email: next, expiresAt: verify.expiresAt }, now),
        this.insertTokenStmt({ hash: secure.hash, userId, purpose: "secure_account", email: current, expiresAt: secure.expiresAt }, now),
      );
    }
    for (const e of events) stmts.push(this.insertEventStmt(e));
    await this.db.batch(stmts, "write");
  }

  /**
   * Sets a new password hash and revokes sessions (all, or all but `keepSessionId`), with the
   * audit events, in one transaction. Returns the ids of the sessions revoked.
   */
  async setPassword(
    userId: string,
    passwordHash: string,
    now: number,
    opts: { keepSessionId?: string; consumeTokenHash?: string; restoreEmail?: string },
    events: SecurityEventRow[],
  ): Promise<string[] | undefined> {
    const stmts: InStatement[] = [];
    if (opts.consumeTokenHash) {
      // Guard: the batch fails (and nothing is written) unless the token is still unused.
      stmts.push({
        sql: "UPDATE email_tokens SET used_at = ?, updated_at = ? WHERE token_hash = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?",
        args: [now, now, opts.consumeTokenHash, userId, now],
      });
    }
    stmts.push({ sql: "UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?", args: [passwordHash, now, now, userId] });
    const sessionsStmt = stmts.length;
    stmts.push({
      sql: `UPDATE sessions SET revoked_at = ?, revoked_reason = ?, updated_at = ?
            WHERE user_id = ? AND revoked_at IS NULL AND id <> ?
            RETURNING id`,
      args: [now, opts.consumeTokenHash ? "password_reset" : "password_changed", now, userId, opts.keepSessionId ?? ""],
    });
    // Reset links still out there die with the old password.
    stmts.push({
      sql: "UPDATE email_tokens SET used_at = ?, updated_at = ? WHERE user_id = ? AND purpose = 'reset_password' AND used_at IS NULL",
      args: [now, now, userId],
    });
    if (opts.consumeTokenHash) {
      // A reset proves the account's address: an email change still pending is dropped with it.
      stmts.push({ sql: "UPDATE users SET pending_email = NULL WHERE id = ?", args: [userId] });
      stmts.push({
        sql: "UPDATE email_tokens SET used_at = ?, updated_at = ? WHERE user_id = ? AND purpose = 'verify_email' AND used_at IS NULL AND email <> (SELECT email FROM users WHERE id = ?)",
        args: [now, now, userId, userId],
      });
    }
    if (opts.restoreEmail) {
      // The address the secure-account link was sent to is the account's again, verified by this
      // very link, unless another account has taken it meanwhile.
      stmts.push({
        sql: `UPDATE users SET email = ?, email_verified = 1, pending_email = NULL, updated_at = ?
              WHERE id = ? AND NOT EXISTS (SELECT 1 FROM users WHERE email = ? AND id <> ?)`,
        args: [opts.restoreEmail, now, userId, opts.restoreEmail, userId],
      });
    }
    for (const e of events) stmts.push(this.insertEventStmt(e));
    return inWriteTransaction(this.db, async (tx) => {
      const results = [];
      for (const s of stmts) results.push(await tx.execute(s));
      if (opts.consumeTokenHash && results[0].rowsAffected !== 1) {
        await tx.rollback();
        return undefined;
      }
      await tx.commit();
      return results[sessionsStmt].rows.map((r) => String(r.id));
    });
  }

  // ── email tokens ─────────────────────────────────────────────────────────

  private insertTokenStmt(t: EmailToken, now: number): InStatement {
    return {
      sql: "INSERT INTO email_tokens (token_hash, user_id, purpose, email, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      args: [t.hash, t.userId, t.purpose, t.email, t.expiresAt, now, now],
    };
  }

  async addEmailToken(t: EmailToken, now: number, event?: SecurityEventRow): Promise<void> {
    const stmts = [this.insertTokenStmt(t, now)];
    if (event) stmts.push(this.insertEventStmt(event));
    await this.db.batch(stmts, "write");
  }

  /** The user a live, unused token of one of the purposes belongs to (without consuming it). */
  async peekEmailToken(
    hash: string,
    purposes: EmailTokenPurpose | EmailTokenPurpose[],
    now: number,
  ): Promise<{ userId: string; email: string; purpose: EmailTokenPurpose } | undefined> {
    const list = Array.isArray(purposes) ? purposes : [purposes];
    const rs = await this.db.execute({
      sql: `SELECT user_id, email, purpose FROM email_tokens WHERE token_hash = ? AND purpose IN (${list.map(() => "?").join(", ")}) AND used_at IS NULL AND expires_at > ?`,
      args: [hash, ...list, now],
    });
    const r = rs.rows[0];
    return r ? { userId: String(r.user_id), email: String(r.email), purpose: String(r.purpose) as EmailTokenPurpose } : undefined;
  }

  /**
   * Consumes a verification token, atomically (of two racing requests exactly one sees it): the
   * token's address is marked verified when it is the account's, or becomes the account's when
   * it is the pending one (then the old address's links stop working). Returns the user and
   * whether the address changed, "taken" when another account has the pending address now, or
   * undefined when the token is not (or no longer) good.
   */
  async verifyEmail(
    hash: string,
    now: number,
    events: (userId: string, changed: boolean) => SecurityEventRow[],
  ): Promise<{ userId: string; changed: boolean } | "taken" | undefined> {
    return inWriteTransaction(this.db, async (tx) => {
      const rs = await tx.execute({
        sql: `UPDATE email_tokens SET used_at = ?, updated_at = ?
              WHERE token_hash = ? AND purpose = 'verify_email' AND used_at IS NULL AND expires_at > ?
              RETURNING user_id, email`,
        args: [now, now, hash, now],
      });
      const r = rs.rows[0];
      if (!r) {
        await tx.rollback();
        return undefined;
      }
      const userId = String(r.user_id);
      const email = String(r.email);
      let changed = false;
      const same = await tx.execute({ sql: "UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ? AND email = ?", args: [now, userId, email] });
      if (same.rowsAffected !== 1) {
        const taken = await tx.execute({ sql: "SELECT 1 FROM users WHERE email = ? AND id <> ?", args: [email, userId] });
        if (taken.rows.length > 0) {
          await tx.rollback();
          return "taken";
        }
        const moved = await tx.execute({
          sql: "UPDATE users SET email = pending_email, pending_email = NULL, email_verified = 1, updated_at = ? WHERE id = ? AND pending_email = ?",
          args: [now, userId, email],
        });
        if (moved.rowsAffected !== 1) {
          await tx.rollback();
          return undefined;
        }
        // Reset and verification links of the address left behind die with it (the secure-account
        // link stays: it is the way back if this change was not the owner's).
        await tx.execute({
          sql: `UPDATE email_tokens SET used_at = ?, updated_at = ? WHERE user_id = ? AND purpose IN ('reset_password', 'verify_email') AND used_at IS NULL`,
          args: [now, now, userId],
        });
        changed = true;
      }
      for (const e of events(userId, changed)) await tx.execute(this.insertEventStmt(e));
      await tx.commit();
      return { userId, changed };
    });
  }

  // ── sessions ─────────────────────────────────────────────────────────────

  async createSession(
    s: { id: string; userId: string; deviceName: string; userAgent: string; ipAddress: string; refreshHash: string; expiresAt: number; now: number },
    events: SecurityEventRow[],
    clearFailuresFor: string[],
  ): Promise<void> {
    const stmts: InStatement[] = [
      {
        sql: `INSERT INTO sessions (id, user_id, device_name, user_agent, ip_address, refresh_hash, expires_at, last_seen_at, created_at, updated_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        args: [s.id, s.userId, s.deviceName, s.userAgent, s.ipAddress, s.refreshHash, s.expiresAt, s.now, s.now, s.now],
      },
      ...events.map((e) => this.insertEventStmt(e)),
    ];
    for (const key of clearFailuresFor) {
      stmts.push({ sql: "DELETE FROM login_failures WHERE identifier = ?", args: [key] });
      stmts.push({ sql: "DELETE FROM login_lockouts WHERE identifier = ?", args: [key] });
    }
    await this.db.batch(stmts, "write");
  }

  /** What the auth interceptor needs: is the session live, and who is it. */
  async checkSession(sessionId: string, now: number): Promise<SessionCheck | undefined> {
    const rs = await this.db.execute({
      sql: `SELECT s.user_id, s.revoked_at, s.expires_at, s.last_seen_at, u.role, u.email_verified
            FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`,
      args: [sessionId],
    });
    const r = rs.rows[0];
    if (!r) return undefined;
    return {
      userId: String(r.user_id),
      role: r.role === "admin" ? "admin" : "user",
      emailVerified: Number(r.email_verified) === 1,
      live: r.revoked_at === null && Number(r.expires_at) > now,
      lastSeenAt: Number(r.last_seen_at),
    };
  }

  /** Records that a session was used (the caller throttles: at most once a minute per session). */
  async touchSession(sessionId: string, now: number, ip: string, notSince: number): Promise<void> {
    await this.db.execute({
      sql: `UPDATE sessions SET last_seen_at = ?, ip_address = CASE WHEN ? = '' THEN ip_address ELSE ? END, updated_at = ?
            WHERE id = ? AND revoked_at IS NULL AND last_seen_at <= ?`,
      args: [now, ip, ip, now, sessionId, notSince],
    });
  }

  /**
   * Rotates the refresh token whose hash is `oldHash` to `newHash`, atomically: of two
   * concurrent rotations with the same token exactly one matches. The new token is kept
   * encrypted (`graceSealed`) only so that a retry within the grace window can get it back.
   */
  async rotateRefresh(
    sessionId: string,
    oldHash: string,
    next: { hash: string; graceSealed: string; expiresAt: number },
    now: number,
    ip: string,
  ): Promise<{ sessionId: string; userId: string } | undefined> {
    const { hash: newHash, graceSealed, expiresAt } = next;
    const rs = await this.db.execute({
      sql: `UPDATE sessions SET previous_hash = refresh_hash, refresh_hash = ?, grace_sealed = ?, rotated_at = ?,
              last_seen_at = ?, expires_at = ?, ip_address = CASE WHEN ? = '' THEN ip_address ELSE ? END, updated_at = ?
            WHERE refresh_hash = ? AND id = ? AND revoked_at IS NULL AND expires_at > ?
            RETURNING id, user_id`,
      args: [newHash, graceSealed, now, now, expiresAt, ip, ip, now, oldHash, sessionId, now],
    });
    const r = rs.rows[0];
    return r ? { sessionId: String(r.id), userId: String(r.user_id) } : undefined;
  }

  /** The session whose previous refresh token has this hash (a reuse or a retry). */
  async sessionByPreviousRefresh(hash: string): Promise<{ id: string; userId: string; rotatedAt: number; revoked: boolean; expiresAt: number; graceSealed: string | null } | undefined> {
    const rs = await this.db.execute({
      sql: "SELECT id, user_id, rotated_at, revoked_at, expires_at, grace_sealed FROM sessions WHERE previous_hash = ?",
      args: [hash],
    });
    const r = rs.rows[0];
    if (!r) return undefined;
    return {
      id: String(r.id),
      userId: String(r.user_id),
      rotatedAt: Number(r.rotated_at),
      revoked: r.revoked_at !== null,
      expiresAt: Number(r.expires_at),
      graceSealed: r.grace_sealed === null ? null : String(r.grace_sealed),
    };
  }

  /** Whose session this is, and whether it is still live (reuse detection). */
  async sessionOwner(sessionId: string): Promise<{ userId: string; revoked: boolean; expiresAt: number } | undefined> {
    const rs = await this.db.execute({ sql: "SELECT user_id, revoked_at, expires_at FROM sessions WHERE id = ?", args: [sessionId] });
    const r = rs.rows[0];
    return r ? { userId: String(r.user_id), revoked: r.revoked_at !== null, expiresAt: Number(r.expires_at) } : undefined;
  }

  async sessionById(userId: string, sessionId: string): Promise<SessionRow | undefined> {
    const rs = await this.db.execute({ sql: `SELECT ${SESSION_COLS} FROM sessions WHERE id = ? AND user_id = ?`, args: [sessionId, userId] });
    return rs.rows[0] ? session(rs.rows[0]) : undefined;
  }

  /** Live sessions, most recently used first; keyset paging on (last_seen_at, id). */
  async listSessions(userId: string, now: number, limit: number, after?: { lastSeenAt: number; id: string }): Promise<SessionRow[]> {
    const rs = await this.db.execute({
      sql: `SELECT ${SESSION_COLS} FROM sessions
            WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
              AND (? IS NULL OR last_seen_at < ? OR (last_seen_at = ? AND id < ?))
            ORDER BY last_seen_at DESC, id DESC LIMIT ?`,
      args: [userId, now, after?.lastSeenAt ?? null, after?.lastSeenAt ?? 0, after?.lastSeenAt ?? 0, after?.id ?? "", limit],
    });
    return rs.rows.map(session);
  }

  /** Revokes the caller's session(s); returns the ids revoked. Scoped by user: another user's id revokes nothing. */
  async revokeSessions(userId: string, which: { only?: string; except?: string }, reason: string, now: number, event: (sessionId: string) => SecurityEventRow): Promise<string[]> {
    return inWriteTransaction(this.db, async (tx) => {
      const rs = await tx.execute({
        sql: `UPDATE sessions SET revoked_at = ?, revoked_reason = ?, grace_sealed = NULL, updated_at = ?
              WHERE user_id = ? AND revoked_at IS NULL AND (? IS NULL OR id = ?) AND (? IS NULL OR id <> ?)
              RETURNING id`,
        args: [now, reason, now, userId, which.only ?? null, which.only ?? "", which.except ?? null, which.except ?? ""],
      });
      const ids = rs.rows.map((r) => String(r.id));
      for (const id of ids) await tx.execute(this.insertEventStmt(event(id)));
      await tx.commit();
      return ids;
    });
  }

  /** The statements that store an emailed token (and its event) in someone else's batch. */
  emailTokenStmts(t: EmailToken, now: number, event?: SecurityEventRow): InStatement[] {
    return [this.insertTokenStmt(t, now), ...(event ? [this.insertEventStmt(event)] : [])];
  }

  // ── security events (insertEventStmt: abuse-store.ts) ───────────────────

  async addEvent(e: SecurityEventRow): Promise<void> {
    await this.db.execute(this.insertEventStmt(e));
  }

  /** The user's events, newest first (ids are UUIDv7: they sort by time). */
  async listEvents(userId: string, limit: number, beforeId?: string): Promise<SecurityEventRow[]> {
    const rs = await this.db.execute({
      sql: `SELECT ${EVENT_COLS} FROM security_events
            WHERE user_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?`,
      args: [userId, beforeId ?? null, beforeId ?? "", limit],
    });
    return rs.rows.map(securityEvent);
  }

  // ── cleanup (background jobs) ────────────────────────────────────────────

  async deleteDeadSessions(now: number, revokedRetentionMs: number): Promise<number> {
    const rs = await this.db.execute({
      sql: "DELETE FROM sessions WHERE expires_at <= ? OR (revoked_at IS NOT NULL AND revoked_at <= ?)",
      args: [now, now - revokedRetentionMs],
    });
    return rs.rowsAffected;
  }

  /**
   * Login failures and rate-limit windows from before `before`, and lockouts that ended by then;
   * counts the failures and lockouts deleted (not the windows).
   */
  async deleteOldAbuseRecords(before: number, now: number): Promise<number> {
    const [a, b] = await this.db.batch(
      [
        { sql: "DELETE FROM login_failures WHERE created_at <= ?", args: [before] },
        { sql: "DELETE FROM login_lockouts WHERE locked_until <= ? AND updated_at <= ?", args: [now, before] },
        { sql: "DELETE FROM rate_limits WHERE window_start <= ?", args: [before] },
      ],
      "write",
    );
    return a.rowsAffected + b.rowsAffected;
  }

  async deleteSpentEmailTokens(now: number): Promise<number> {
    const rs = await this.db.execute({ sql: "DELETE FROM email_tokens WHERE used_at IS NOT NULL OR expires_at <= ?", args: [now] });
    return rs.rowsAffected;
  }

  /** Grace copies of rotated refresh tokens outlive their window by no more than a job interval. */
  async clearExpiredGrace(before: number): Promise<number> {
    const rs = await this.db.execute({ sql: "UPDATE sessions SET grace_sealed = NULL WHERE grace_sealed IS NOT NULL AND rotated_at <= ?", args: [before] });
    return rs.rowsAffected;
  }
}

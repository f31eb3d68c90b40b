import type { InStatement } from "@libsql/client";
import { inWriteTransaction, type Db } from "../db/client.js";
import type { AttemptDecision, AttemptState } from "./lockout.js";
import type { SecurityEventRow } from "./store-rows.js";

/**
 * The SQL of login abuse protection and rate limits (login_failures, login_lockouts,
 * rate_limits) and of the audit events they write; AuthStore extends it.
 */
export class AbuseStore {
  constructor(protected readonly db: Db) {}

  /**
   * Counts a login attempt before its password is judged, atomically (one write transaction, so
   * every instance on the database sees it): reads the key's failures and lock and the address's
   * failures, lets `decide` rule, and when it admits the attempt records it as a failure (and
   * the lock it sets). A success later forgives it (createSession's clearFailuresFor).
   */
  async countLoginAttempt(
    key: string,
    ip: string,
    now: number,
    since: { key: number; ip: number },
    decide: (state: AttemptState) => AttemptDecision,
  ): Promise<AttemptDecision> {
    return inWriteTransaction(this.db, async (tx) => {
      const [f, l, i] = await tx.batch([
        { sql: "SELECT COUNT(*) AS n FROM login_failures WHERE identifier = ? AND created_at > ?", args: [key, since.key] },
        { sql: "SELECT locked_until FROM login_lockouts WHERE identifier = ?", args: [key] },
        { sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM login_failures WHERE ip_address = ? AND created_at > ?", args: [ip, since.ip] },
      ]);
      const decision = decide({
        failures: Number(f.rows[0]?.n ?? 0),
        lockedUntil: Number(l.rows[0]?.locked_until ?? 0),
        ipFailures: Number(i.rows[0]?.n ?? 0),
        ipOldest: Number(i.rows[0]?.oldest ?? 0),
      });
      if (decision.admit) {
        const stmts: InStatement[] = [{ sql: "INSERT INTO login_failures (identifier, ip_address, created_at, updated_at) VALUES (?, ?, ?, ?)", args: [key, ip, now, now] }];
        if (decision.lockUntil > now) {
          stmts.push({
            sql: `INSERT INTO login_lockouts (identifier, level, locked_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                  ON CONFLICT (identifier) DO UPDATE SET level = excluded.level, locked_until = excluded.locked_until, updated_at = excluded.updated_at`,
            args: [key, decision.level, decision.lockUntil, now, now],
          });
        }
        await tx.batch(stmts);
      }
      return decision;
    });
  }

  /** The audit events of a failed login (the failure itself was counted before it was judged). */
  async recordLoginFailure(events: SecurityEventRow[]): Promise<void> {
    if (events.length > 0) await this.db.batch(events.map((e) => this.insertEventStmt(e)), "write");
  }

  // ── rate limits ──────────────────────────────────────────────────────────

  /** Counts one hit in the bucket's fixed window; returns the count including this hit. */
  async hit(bucket: string, windowStart: number, now: number): Promise<number> {
    const rs = await this.db.execute({
      sql: `INSERT INTO rate_limits (bucket, window_start, count, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
            ON CONFLICT (bucket, window_start) DO UPDATE SET count = count + 1, updated_at = excluded.updated_at
            RETURNING count`,
      args: [bucket, windowStart, now, now],
    });
    return Number(rs.rows[0]?.count ?? 1);
  }

  /**
   * Counts hits in several buckets, and runs `along` in the same transaction; returns each
   * bucket's count including the hit.
   */
  async hitMany(hits: { bucket: string; windowStart: number; by: number }[], now: number, along: InStatement[] = []): Promise<number[]> {
    const rs = await this.db.batch(
      [
        ...hits.map((h) => ({
          sql: `INSERT INTO rate_limits (bucket, window_start, count, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (bucket, window_start) DO UPDATE SET count = count + excluded.count, updated_at = excluded.updated_at
                RETURNING count`,
          args: [h.bucket, h.windowStart, h.by, now, now],
        })),
        ...along,
      ],
      "write",
    );
    return rs.slice(0, hits.length).map((r) => Number(r.rows[0]?.count ?? 0));
  }

  insertEventStmt(e: SecurityEventRow): InStatement {
    return {
      sql: `INSERT INTO security_events (id, user_id, type, session_id, ip_address, user_agent, details, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [e.id, e.userId, e.type, e.sessionId, e.ipAddress, e.userAgent, JSON.stringify(e.details), e.createdAt, e.createdAt],
    };
  }
}

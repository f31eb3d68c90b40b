import type { InStatement } from "@libsql/client";
import type { Db } from "../db/client.js";
import { EVENT_COLS, SESSION_COLS, securityEvent, session, type SecurityEventRow, type SessionRow } from "./store-rows.js";

/**
 * SQL for a whole account at once: everything DeleteAccount removes and what ExportMyData reads
 * from the auth tables (the other features' rows are read through their own stores).
 */
export class AccountDataStore {
  constructor(private readonly db: Db) {}

  /**
   * Removes every row of the user in one transaction: each table with a `user_id` column (those
   * of every feature, found in the schema, so a table added later is not forgotten), the login
   * counters and rate-limit buckets that name the user or their addresses, then the user.
   * Returns the ids of the sessions that ended.
   */
  async deleteUser(userId: string, traces: { identifiers: string[]; buckets: string[] }): Promise<string[]> {
    const tables = await this.db.execute(
      `SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) c
       WHERE m.type = 'table' AND c.name = 'user_id' AND m.name <> 'users' ORDER BY m.name`,
    );
    const stmts: InStatement[] = [{ sql: "SELECT id FROM sessions WHERE user_id = ?", args: [userId] }];
    for (const r of tables.rows) stmts.push({ sql: `DELETE FROM "${String(r.name).replace(/"/g, '""')}" WHERE user_id = ?`, args: [userId] });
    const inList = (n: number) => Array.from({ length: n }, () => "?").join(", ");
    if (traces.identifiers.length > 0) {
      stmts.push({ sql: `DELETE FROM login_failures WHERE identifier IN (${inList(traces.identifiers.length)})`, args: traces.identifiers });
      stmts.push({ sql: `DELETE FROM login_lockouts WHERE identifier IN (${inList(traces.identifiers.length)})`, args: traces.identifiers });
    }
    if (traces.buckets.length > 0) stmts.push({ sql: `DELETE FROM rate_limits WHERE bucket IN (${inList(traces.buckets.length)})`, args: traces.buckets });
    stmts.push({ sql: "DELETE FROM users WHERE id = ?", args: [userId] });
    const rs = await this.db.batch(stmts, "write");
    return rs[0].rows.map((r) => String(r.id));
  }

  /** Every session of the user, ended ones included, newest first. */
  async sessions(userId: string): Promise<(SessionRow & { revokedReason: string | null })[]> {
    const rs = await this.db.execute({
      sql: `SELECT ${SESSION_COLS}, revoked_reason FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id DESC`,
      args: [userId],
    });
    return rs.rows.map((r) => ({ ...session(r), revokedReason: r.revoked_reason === null ? null : String(r.revoked_reason) }));
  }

  /** Every security event of the user, oldest first. */
  async events(userId: string): Promise<SecurityEventRow[]> {
    const rs = await this.db.execute({ sql: `SELECT ${EVENT_COLS} FROM security_events WHERE user_id = ? ORDER BY id`, args: [userId] });
    return rs.rows.map(securityEvent);
  }
}

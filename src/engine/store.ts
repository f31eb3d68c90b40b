import type { Row } from "@libsql/client";
import type { Db } from "../db/client.js";
import type { EngineName, SslMode } from "./driver.js";

/** The only code with SQL for engine_connections (migrations/0005_engine.sql, keyed by (user_id, id) since 0008). */

export interface ConnectionRow {
  id: string;
  userId: string;
  name: string;
  engine: EngineName;
  host: string;
  port: number;
  database: string;
  username: string;
  /** Sealed password (SecretBox), or null. */
  passwordSealed: string | null;
  sslMode: SslMode;
  options: Record<string, string>;
  readOnly: boolean;
  createdAt: number;
  updatedAt: number;
}

const COLS = "id, user_id, name, engine, host, port, database_name, username, password_sealed, ssl_mode, options, read_only, created_at, updated_at";

function row(r: Row): ConnectionRow {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    name: String(r.name),
    engine: String(r.engine) as EngineName,
    host: String(r.host),
    port: Number(r.port),
    database: String(r.database_name),
    username: String(r.username),
    passwordSealed: r.password_sealed === null ? null : String(r.password_sealed),
    sslMode: String(r.ssl_mode) as SslMode,
    options: JSON.parse(String(r.options)) as Record<string, string>,
    readOnly: Number(r.read_only) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function args(c: ConnectionRow) {
  return [c.name, c.engine, c.host, c.port, c.database, c.username, c.passwordSealed, c.sslMode, JSON.stringify(c.options), c.readOnly ? 1 : 0, c.updatedAt];
}

export class ConnectionStore {
  constructor(private readonly db: Db) {}

  /** How many profiles the user has, counted up to `limit`. */
  async count(userId: string, limit: number): Promise<number> {
    const r = await this.db.execute({ sql: "SELECT count(*) AS n FROM (SELECT 1 FROM engine_connections WHERE user_id = ? LIMIT ?)", args: [userId, limit] });
    return Number(r.rows[0].n);
  }

  /** False when this user already has a profile with this id (ids are per user). */
  async insert(c: ConnectionRow): Promise<boolean> {
    const r = await this.db.execute({
      sql: `INSERT INTO engine_connections (name, engine, host, port, database_name, username, password_sealed, ssl_mode, options, read_only, updated_at, id, user_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, id) DO NOTHING`,
      args: [...args(c), c.id, c.userId, c.createdAt],
    });
    return r.rowsAffected === 1;
  }

  async get(userId: string, id: string): Promise<ConnectionRow | undefined> {
    const r = await this.db.execute({ sql: `SELECT ${COLS} FROM engine_connections WHERE id = ? AND user_id = ?`, args: [id, userId] });
    return r.rows[0] ? row(r.rows[0]) : undefined;
  }

  /** A page by (name, id), after the given key. */
  async list(userId: string, limit: number, after?: { name: string; id: string }): Promise<ConnectionRow[]> {
    const r = await this.db.execute(
      after
        ? {
            sql: `SELECT ${COLS} FROM engine_connections WHERE user_id = ? AND (name, id) > (?, ?) ORDER BY name, id LIMIT ?`,
            args: [userId, after.name, after.id, limit],
          }
        : { sql: `SELECT ${COLS} FROM engine_connections WHERE user_id = ? ORDER BY name, id LIMIT ?`, args: [userId, limit] },
    );
    return r.rows.map(row);
  }

  async update(c: ConnectionRow): Promise<boolean> {
    const r = await this.db.execute({
      sql: `UPDATE engine_connections SET name = ?, engine = ?, host = ?, port = ?, database_name = ?, username = ?, password_sealed = ?,
              ssl_mode = ?, options = ?, read_only = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
      args: [...args(c), c.id, c.userId],
    });
    return r.rowsAffected === 1;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const r = await this.db.execute({ sql: "DELETE FROM engine_connections WHERE id = ? AND user_id = ?", args: [id, userId] });
    return r.rowsAffected === 1;
  }
}

/** The only code with SQL for engine_queries (migrations/0006_engine_queries.sql). */
export class RunningQueryStore {
  constructor(private readonly db: Db) {}

  async started(userId: string, queryId: string, instance: string, now: number): Promise<void> {
    await this.db.execute({
      sql: `INSERT INTO engine_queries (user_id, query_id, instance, cancel_requested_at, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)
            ON CONFLICT (user_id, query_id) DO UPDATE SET instance = excluded.instance, cancel_requested_at = NULL, updated_at = excluded.updated_at`,
      args: [userId, queryId, instance, now, now],
    });
  }

  async ended(userId: string, queryId: string, instance: string): Promise<void> {
    await this.db.execute({ sql: "DELETE FROM engine_queries WHERE user_id = ? AND query_id = ? AND instance = ?", args: [userId, queryId, instance] });
  }

  /** Marks a running query of the user for cancellation; false when the user has none with that id. */
  async requestCancel(userId: string, queryId: string, now: number): Promise<boolean> {
    const r = await this.db.execute({
      sql: "UPDATE engine_queries SET cancel_requested_at = ?, updated_at = ? WHERE user_id = ? AND query_id = ?",
      args: [now, now, userId, queryId],
    });
    return r.rowsAffected === 1;
  }

  /** This instance's queries someone asked to cancel. */
  async cancelRequests(instance: string): Promise<{ userId: string; queryId: string }[]> {
    const r = await this.db.execute({
      sql: "SELECT user_id, query_id FROM engine_queries WHERE instance = ? AND cancel_requested_at IS NOT NULL",
      args: [instance],
    });
    return r.rows.map((x) => ({ userId: String(x.user_id), queryId: String(x.query_id) }));
  }

  /** Rows older than `before` (their instance died without ending them). */
  async deleteBefore(before: number): Promise<number> {
    const r = await this.db.execute({ sql: "DELETE FROM engine_queries WHERE created_at < ?", args: [before] });
    return r.rowsAffected;
  }
}

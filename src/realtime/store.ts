import type { Db } from "../db/client.js";

/** The only code with SQL for realtime_events (migrations/0004_realtime.sql). */

export type EventType = "sync_changed" | "conflict_created" | "session_revoked";

export interface EventRow {
  id: number;
  userId: string;
  type: EventType;
  /** JSON of the event message. */
  data: string;
  createdAt: number;
}

export class RealtimeStore {
  constructor(private readonly db: Db) {}

  /** Inserts events in order, in one statement per 200 events (one write for a typical publish). */
  async insert(userId: string, events: { type: EventType; data: string }[], now: number): Promise<void> {
    const stmts = [];
    for (let i = 0; i < events.length; i += 200) {
      const chunk = events.slice(i, i + 200);
      stmts.push({
        sql: `INSERT INTO realtime_events (user_id, type, data, created_at, updated_at) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?)").join(", ")}`,
        args: chunk.flatMap((e) => [userId, e.type, e.data, now, now]),
      });
    }
    if (stmts.length === 1) await this.db.execute(stmts[0]);
    else await this.db.batch(stmts, "write");
  }

  async maxId(): Promise<number> {
    const rs = await this.db.execute("SELECT COALESCE(MAX(id), 0) AS id FROM realtime_events");
    return Number(rs.rows[0]?.id ?? 0);
  }

  /** Events after `id` in id order, every user's (each instance delivers to its own subscribers). */
  async after(id: number, limit: number): Promise<EventRow[]> {
    const rs = await this.db.execute({
      sql: "SELECT id, user_id, type, data, created_at FROM realtime_events WHERE id > ? ORDER BY id LIMIT ?",
      args: [id, limit],
    });
    return rs.rows.map((r) => ({
      id: Number(r.id),
      userId: String(r.user_id),
      type: String(r.type) as EventType,
      data: String(r.data),
      createdAt: Number(r.created_at),
    }));
  }

  async deleteBefore(before: number): Promise<number> {
    const rs = await this.db.execute({ sql: "DELETE FROM realtime_events WHERE created_at < ?", args: [before] });
    return rs.rowsAffected;
  }
}

import type { Db } from "../db/client.js";

/** The only code with SQL for realtime_events and realtime_heads (migrations 0004 and 0010). */

export type EventType = "sync_changed" | "conflict_created" | "session_revoked";

export interface EventRow {
  /** The global order every instance tails by (never shown to clients). */
  id: number;
  userId: string;
  /** The event's id as its user sees it: 1, 2, 3 … per user. */
  userSeq: number;
  type: EventType;
  /** JSON of the event message. */
  data: string;
  createdAt: number;
}

export class RealtimeStore {
  constructor(private readonly db: Db) {}

  /**
   * Inserts events in order, numbered after the user's last event id (realtime_heads), in one
   * batch: the head moves by the number of events, then each event takes its id counting back from
   * the new head (one statement per 200 events).
   */
  async insert(userId: string, events: { type: EventType; data: string }[], now: number): Promise<void> {
    const n = events.length;
    if (n === 0) return;
    const stmts = [
      {
        sql: `INSERT INTO realtime_heads (user_id, last_seq, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
              ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + ?2, updated_at = ?3`,
        args: [userId, n, now],
      },
    ];
    const head = "(SELECT last_seq FROM realtime_heads WHERE user_id = ?)";
    for (let i = 0; i < n; i += 200) {
      const chunk = events.slice(i, i + 200);
      stmts.push({
        sql: `INSERT INTO realtime_events (user_id, user_seq, type, data, created_at, updated_at) VALUES ${chunk.map(() => `(?, ${head} - ?, ?, ?, ?, ?)`).join(", ")}`,
        args: chunk.flatMap((e, j) => [userId, userId, n - 1 - (i + j), e.type, e.data, now, now]),
      });
    }
    await this.db.batch(stmts, "write");
  }

  async maxId(): Promise<number> {
    const rs = await this.db.execute("SELECT COALESCE(MAX(id), 0) AS id FROM realtime_events");
    return Number(rs.rows[0]?.id ?? 0);
  }

  /** Events after `id` in id order, every user's (each instance delivers to its own subscribers). */
  async after(id: number, limit: number): Promise<EventRow[]> {
    const rs = await this.db.execute({
      sql: "SELECT id, user_id, user_seq, type, data, created_at FROM realtime_events WHERE id > ? ORDER BY id LIMIT ?",
      args: [id, limit],
    });
    return rs.rows.map((r) => ({
      id: Number(r.id),
      userId: String(r.user_id),
      userSeq: Number(r.user_seq),
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

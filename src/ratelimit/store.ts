import type { Db } from "../db/client.js";

/** The SQL of the RPC rate limits (rpc_rate_limits). */
export class RateLimitStore {
  constructor(private readonly db: Db) {}

  /**
   * Grants up to `want` tokens of the bucket's window, at most what is left under `limit`, in one
   * atomic statement (every instance counts against the same row). Returns the tokens granted.
   */
  async grant(bucket: string, windowStart: number, ask: { want: number; limit: number }, now: number, userId: string | null): Promise<number> {
    const { want, limit } = ask;
    const first = Math.min(want, limit);
    // SET expressions all read the row as it was before the update: last_grant and used agree.
    const rs = await this.db.execute({
      sql: `INSERT INTO rpc_rate_limits (bucket, window_start, user_id, used, last_grant, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (bucket, window_start) DO UPDATE SET
              last_grant = MIN(?, MAX(0, ? - used)),
              used = used + MIN(?, MAX(0, ? - used)),
              updated_at = excluded.updated_at
            RETURNING last_grant`,
      args: [bucket, windowStart, userId, first, first, now, now, want, limit, want, limit],
    });
    return Number(rs.rows[0]?.last_grant ?? 0);
  }

  /** Deletes the rows of windows that started at or before `before`. */
  async deleteWindowsBefore(before: number): Promise<number> {
    const rs = await this.db.execute({ sql: "DELETE FROM rpc_rate_limits WHERE window_start <= ?", args: [before] });
    return rs.rowsAffected;
  }
}

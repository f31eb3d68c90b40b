import type { InStatement } from "@libsql/client";
import type { Db } from "../db/client.js";

export interface GrantRow {
  bucket: string;
  windowStart: number;
  want: number;
  limit: number;
  now: number;
  userId: string | null;
}

/** One grant's statement (RateLimitStore.grant). SET expressions all read the row as it was before the update: last_grant and used agree. */
function grantStatement(g: GrantRow): InStatement {
  const first = Math.min(g.want, g.limit);
  return {
    sql: `INSERT INTO rpc_rate_limits (bucket, window_start, user_id, used, last_grant, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (bucket, window_start) DO UPDATE SET
            last_grant = MIN(?, MAX(0, ? - used)),
            used = used + MIN(?, MAX(0, ? - used)),
            updated_at = excluded.updated_at
          RETURNING last_grant`,
    args: [g.bucket, g.windowStart, g.userId, first, first, g.now, g.now, g.want, g.limit, g.want, g.limit],
  };
}

/** The SQL of the RPC rate limits (rpc_rate_limits). */
export class RateLimitStore {
  constructor(private readonly db: Db) {}

  /**
   * Grants up to `want` tokens of the bucket's window, at most what is left under `limit`, in one
   * atomic statement (every instance counts against the same row). Returns the tokens granted.
   */
  async grant(bucket: string, windowStart: number, ask: { want: number; limit: number }, now: number, userId: string | null): Promise<number> {
    const rs = await this.db.execute(grantStatement({ bucket, windowStart, ...ask, now, userId }));
    return Number(rs.rows[0]?.last_grant ?? 0);
  }

  /** Several buckets' grants in one transaction (one commit, one round trip); each as `grant`'s. */
  async grantMany(asks: GrantRow[]): Promise<number[]> {
    const results = await this.db.batch(asks.map(grantStatement), "write");
    return results.map((rs) => Number(rs.rows[0]?.last_grant ?? 0));
  }

  /** Deletes the rows of windows that started at or before `before`. */
  async deleteWindowsBefore(before: number): Promise<number> {
    const rs = await this.db.execute({ sql: "DELETE FROM rpc_rate_limits WHERE window_start <= ?", args: [before] });
    return rs.rowsAffected;
  }
}

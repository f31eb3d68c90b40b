import type { InStatement, Row, Transaction } from "@libsql/client";
import { inWriteTransaction, type Db } from "../db/client.js";
import type { UsageDelta } from "./usage.js";

/** The only code with SQL for the sync tables (migrations/0003_sync.sql, 0010_limits.sql). */

/** A user's head row: the change sequence, the retention horizon and the usage counters. */
export interface HeadRow {
  headSeq: number;
  purgedSeq: number;
  usedBytes: number;
  openConflicts: number;
}

/** The byte cost of stored rows in SQL, the same rule as usage.ts (ROW_BYTES + payload bytes). */
const len = (col: string) => `COALESCE(LENGTH(CAST(${col} AS BLOB)), 0)`;
const RECORD_BYTES_SQL = `128 + ${len("payload")}`;
const CONFLICT_BYTES_SQL = `128 + ${len("server_payload")} + ${len("client_payload")}`;

export type Kind = "connection" | "saved_query" | "history";

export interface RecordRow {
  id: string;
  kind: Kind;
  version: number;
  seq: number;
  deleted: boolean;
  /** JSON of the payload message; null for tombstones. */
  payload: string | null;
  updatedAt: number;
}

export interface MutationRow {
  mutationId: string;
  recordId: string;
  status: "applied" | "conflict" | "rejected";
  version: number;
  conflictId: string | null;
  reason: string;
  field: string;
}

export interface ConflictRow {
  id: string;
  recordId: string;
  kind: Kind;
  deviceId: string;
  baseVersion: number;
  server: { version: number; deleted: boolean; payload: string | null; seq: number; updatedAt: number };
  client: { mutationId: string; deleted: boolean; payload: string | null };
  createdAt: number;
  resolvedAt: number | null;
  resolution: string | null;
}

export interface DeviceRow {
  deviceId: string;
  clientVersion: string;
  lastPushAt: number | null;
  lastPullAt: number | null;
  lastPulledSeq: number;
}

type Exec = Pick<Db, "execute"> | Transaction;

const RECORD_COLS = "id, kind, version, seq, deleted, payload, updated_at";

export function recordOf(r: Row): RecordRow {
  return {
    id: String(r.id),
    kind: String(r.kind) as Kind,
    version: Number(r.version),
    seq: Number(r.seq),
    deleted: Number(r.deleted) === 1,
    payload: r.payload === null ? null : String(r.payload),
    updatedAt: Number(r.updated_at),
  };
}

function conflictOf(r: Row): ConflictRow {
  return {
    id: String(r.id),
    recordId: String(r.record_id),
    kind: String(r.kind) as Kind,
    deviceId: String(r.device_id),
    baseVersion: Number(r.base_version),
    server: {
      version: Number(r.server_version),
      deleted: Number(r.server_deleted) === 1,
      payload: r.server_payload === null ? null : String(r.server_payload),
      seq: Number(r.server_seq),
      updatedAt: Number(r.server_updated_at),
    },
    client: { mutationId: String(r.client_mutation_id), deleted: Number(r.client_deleted) === 1, payload: r.client_payload === null ? null : String(r.client_payload) },
    createdAt: Number(r.created_at),
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
    resolution: r.resolution === null ? null : String(r.resolution),
  };
}

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/** Rows per multi-row statement: well under SQLite's bound-parameter limit. */
const ROWS_PER_STATEMENT = 100;

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export class SyncStore {
  constructor(private readonly db: Db) {}

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE): all of it commits, or none; run again
   * when another process held the database (`fn` touches only the database).
   */
  write<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return inWriteTransaction(this.db, fn);
  }

  async head(x: Exec, userId: string): Promise<HeadRow> {
    const rs = await x.execute({ sql: "SELECT head_seq, purged_seq, used_bytes, open_conflicts FROM sync_heads WHERE user_id = ?", args: [userId] });
    const r = rs.rows[0];
    return {
      headSeq: Number(r?.head_seq ?? 0),
      purgedSeq: Number(r?.purged_seq ?? 0),
      usedBytes: Number(r?.used_bytes ?? 0),
      openConflicts: Number(r?.open_conflicts ?? 0),
    };
  }

  /** Moves the head to `headSeq` and the usage counters by `delta`, in the write's transaction. */
  setHeadStmt(userId: string, headSeq: number, now: number, delta: UsageDelta = { bytes: 0, openConflicts: 0 }): InStatement {
    return {
      sql: `INSERT INTO sync_heads (user_id, head_seq, used_bytes, open_conflicts, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
            ON CONFLICT (user_id) DO UPDATE SET head_seq = excluded.head_seq, used_bytes = used_bytes + ?3,
              open_conflicts = open_conflicts + ?4, updated_at = excluded.updated_at`,
      args: [userId, headSeq, delta.bytes, delta.openConflicts, now],
    };
  }

  /** Open conflicts per record, for the records given (those without any are left out). */
  async openConflictsByRecord(x: Exec, userId: string, recordIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < recordIds.length; i += 500) {
      const chunk = recordIds.slice(i, i + 500);
      const rs = await x.execute({
        sql: `SELECT record_id, COUNT(*) AS n FROM sync_conflicts
              WHERE user_id = ? AND record_id IN (${placeholders(chunk.length)}) AND resolved_at IS NULL GROUP BY record_id`,
        args: [userId, ...chunk],
      });
      for (const r of rs.rows) out.set(String(r.record_id), Number(r.n));
    }
    return out;
  }

  async records(x: Exec, userId: string, ids: string[]): Promise<Map<string, RecordRow>> {
    const out = new Map<string, RecordRow>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rs = await x.execute({ sql: `SELECT ${RECORD_COLS} FROM sync_records WHERE user_id = ? AND id IN (${placeholders(chunk.length)})`, args: [userId, ...chunk] });
      for (const r of rs.rows) out.set(String(r.id), recordOf(r));
    }
    return out;
  }

  async mutations(x: Exec, userId: string, deviceId: string, ids: string[]): Promise<Map<string, MutationRow>> {
    const out = new Map<string, MutationRow>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rs = await x.execute({
        sql: `SELECT mutation_id, record_id, status, version, conflict_id, reason, field FROM sync_mutations
              WHERE user_id = ? AND device_id = ? AND mutation_id IN (${placeholders(chunk.length)})`,
        args: [userId, deviceId, ...chunk],
      });
      for (const r of rs.rows) {
        out.set(String(r.mutation_id), {
          mutationId: String(r.mutation_id),
          recordId: String(r.record_id),
          status: String(r.status) as MutationRow["status"],
          version: Number(r.version),
          conflictId: r.conflict_id === null ? null : String(r.conflict_id),
          reason: String(r.reason),
          field: String(r.field),
        });
      }
    }
    return out;
  }

  /** Live records of the user, counted up to `cap` (enough to enforce a limit, bounded cost). */
  async liveRecordCount(x: Exec, userId: string, cap: number): Promise<number> {
    const rs = await x.execute({
      sql: "SELECT COUNT(*) AS n FROM (SELECT 1 FROM sync_records WHERE user_id = ? AND deleted = 0 LIMIT ?)",
      args: [userId, cap],
    });
    return Number(rs.rows[0]?.n ?? 0);
  }

  upsertRecordStmt(userId: string, r: RecordRow, now: number): InStatement {
    return {
      sql: `INSERT INTO sync_records (user_id, id, kind, version, seq, deleted, payload, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (user_id, id) DO UPDATE SET version = excluded.version, seq = excluded.seq,
              deleted = excluded.deleted, payload = excluded.payload, updated_at = excluded.updated_at`,
      args: [userId, r.id, r.kind, r.version, r.seq, r.deleted ? 1 : 0, r.payload, now, now],
    };
  }

  /**
   * The same writes as upsertRecordStmt for many records, in multi-row statements (about three
   * times cheaper per row than one statement each: a push of 1,000 changes is mostly writes).
   */
  upsertRecordsStmts(userId: string, rows: RecordRow[], now: number): InStatement[] {
    return chunks(rows, ROWS_PER_STATEMENT).map((chunk) => ({
      sql: `INSERT INTO sync_records (user_id, id, kind, version, seq, deleted, payload, created_at, updated_at)
            VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}
            ON CONFLICT (user_id, id) DO UPDATE SET version = excluded.version, seq = excluded.seq,
              deleted = excluded.deleted, payload = excluded.payload, updated_at = excluded.updated_at`,
      args: chunk.flatMap((r) => [userId, r.id, r.kind, r.version, r.seq, r.deleted ? 1 : 0, r.payload, now, now]),
    }));
  }

  insertMutationsStmts(userId: string, deviceId: string, rows: MutationRow[], now: number): InStatement[] {
    return chunks(rows, ROWS_PER_STATEMENT).map((chunk) => ({
      sql: `INSERT INTO sync_mutations (user_id, device_id, mutation_id, record_id, status, version, conflict_id, reason, field, created_at, updated_at)
            VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
      args: chunk.flatMap((m) => [userId, deviceId, m.mutationId, m.recordId, m.status, m.version, m.conflictId, m.reason, m.field, now, now]),
    }));
  }

  insertConflictStmt(userId: string, c: ConflictRow, now: number): InStatement {
    return {
      sql: `INSERT INTO sync_conflicts (id, user_id, record_id, kind, device_id, base_version, server_version, server_deleted, server_payload,
              server_seq, server_updated_at, client_mutation_id, client_deleted, client_payload, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        c.id, userId, c.recordId, c.kind, c.deviceId, c.baseVersion, c.server.version, c.server.deleted ? 1 : 0, c.server.payload,
        c.server.seq, c.server.updatedAt, c.client.mutationId, c.client.deleted ? 1 : 0, c.client.payload, now, now,
      ],
    };
  }

  touchDeviceStmt(userId: string, deviceId: string, now: number, what: { clientVersion?: string; push?: boolean; pulledSeq?: number }): InStatement {
    return {
      sql: `INSERT INTO sync_devices (user_id, device_id, client_version, last_push_at, last_pull_at, last_pulled_seq, created_at, updated_at)
            VALUES (?1, ?2, COALESCE(?3, ''), ?4, ?5, COALESCE(?6, 0), ?7, ?7)
            ON CONFLICT (user_id, device_id) DO UPDATE SET
              client_version = COALESCE(?3, client_version),
              last_push_at = COALESCE(?4, last_push_at),
              last_pull_at = COALESCE(?5, last_pull_at),
              last_pulled_seq = COALESCE(?6, last_pulled_seq),
              updated_at = ?7`,
      args: [userId, deviceId, what.clientVersion ?? null, what.push ? now : null, what.pulledSeq !== undefined ? now : null, what.pulledSeq ?? null, now],
    };
  }

  async touchDevice(userId: string, deviceId: string, now: number, what: { clientVersion?: string; push?: boolean; pulledSeq?: number }): Promise<void> {
    await this.db.execute(this.touchDeviceStmt(userId, deviceId, now, what));
  }

  /** Live history records, newest first, before a seq; optionally of one connection. */
  async history(userId: string, limit: number, beforeSeq: number | undefined, connectionId: string): Promise<RecordRow[]> {
    const rs = await this.db.execute({
      sql: `SELECT ${RECORD_COLS} FROM sync_records
             WHERE user_id = ? AND seq < ? AND kind = 'history' AND deleted = 0 AND (? = '' OR json_extract(payload, '$.connectionId') = ?)
             ORDER BY seq DESC LIMIT ?`,
      args: [userId, beforeSeq ?? Number.MAX_SAFE_INTEGER, connectionId, connectionId, limit],
    });
    return rs.rows.map(recordOf);
  }

  /** Records with seq > since, ascending, at most `limit`. */
  async changedSince(userId: string, since: number, limit: number): Promise<RecordRow[]> {
    const rs = await this.db.execute({
      sql: `SELECT ${RECORD_COLS} FROM sync_records WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      args: [userId, since, limit],
    });
    return rs.rows.map(recordOf);
  }

  async headOf(userId: string): Promise<HeadRow> {
    return this.head(this.db, userId);
  }

  async conflict(x: Exec, userId: string, id: string): Promise<ConflictRow | undefined> {
    const rs = await x.execute({ sql: "SELECT * FROM sync_conflicts WHERE id = ? AND user_id = ?", args: [id, userId] });
    return rs.rows[0] ? conflictOf(rs.rows[0]) : undefined;
  }

  /** Conflicts by id (UUIDv7: creation order), after `afterId`. */
  async listConflicts(userId: string, includeResolved: boolean, limit: number, afterId?: string): Promise<ConflictRow[]> {
    const rs = await this.db.execute({
      sql: `SELECT * FROM sync_conflicts WHERE user_id = ? AND (? = 1 OR resolved_at IS NULL) AND (? IS NULL OR id > ?)
            ORDER BY id LIMIT ?`,
      args: [userId, includeResolved ? 1 : 0, afterId ?? null, afterId ?? "", limit],
    });
    return rs.rows.map(conflictOf);
  }

  resolveConflictStmt(userId: string, id: string, resolution: string, now: number): InStatement {
    return {
      sql: "UPDATE sync_conflicts SET resolved_at = ?, resolution = ?, updated_at = ? WHERE id = ? AND user_id = ? AND resolved_at IS NULL",
      args: [now, resolution, now, id, userId],
    };
  }

  // ── retention (background jobs) ──────────────────────────────────────────

  /**
   * Deletes tombstones older than `tombstonesBefore`, history older than `historyBefore` and
   * conflicts resolved before `tombstonesBefore`; moves each user's purged_seq past what was
   * deleted (cursors behind it must reset) and takes the deleted bytes off each user's usage, in
   * one transaction.
   */
  async purge(tombstonesBefore: number, historyBefore: number, now: number): Promise<{ records: number; conflicts: number }> {
    const doomed = "(deleted = 1 AND updated_at < ?1) OR (kind = 'history' AND created_at < ?2)";
    const resolved = "resolved_at IS NOT NULL AND resolved_at < ?1";
    const [, records, conflicts] = await this.db.batch(
      [
        {
          sql: `UPDATE sync_heads SET
                  purged_seq = MAX(purged_seq, COALESCE((SELECT MAX(seq) FROM sync_records r WHERE r.user_id = sync_heads.user_id AND (${doomed})), 0)),
                  used_bytes = used_bytes
                    - COALESCE((SELECT SUM(${RECORD_BYTES_SQL}) FROM sync_records r WHERE r.user_id = sync_heads.user_id AND (${doomed})), 0)
                    - COALESCE((SELECT SUM(${CONFLICT_BYTES_SQL}) FROM sync_conflicts c WHERE c.user_id = sync_heads.user_id AND ${resolved}), 0),
                  updated_at = ?3`,
          args: [tombstonesBefore, historyBefore, now],
        },
        { sql: `DELETE FROM sync_records WHERE ${doomed}`, args: [tombstonesBefore, historyBefore] },
        { sql: `DELETE FROM sync_conflicts WHERE ${resolved}`, args: [tombstonesBefore] },
      ],
      "write",
    );
    return { records: records.rowsAffected, conflicts: conflicts.rowsAffected };
  }

  /** Push results are kept long enough for any retry; older ones go (rejected ones off the usage). */
  async deleteMutationsBefore(before: number, now: number): Promise<number> {
    const rejected = "status = 'rejected' AND created_at < ?1";
    const [, del] = await this.db.batch(
      [
        {
          sql: `UPDATE sync_heads SET used_bytes = used_bytes - 128 * (SELECT COUNT(*) FROM sync_mutations m WHERE m.user_id = sync_heads.user_id AND ${rejected}),
                  updated_at = ?2
                WHERE user_id IN (SELECT DISTINCT user_id FROM sync_mutations WHERE ${rejected})`,
          args: [before, now],
        },
        { sql: "DELETE FROM sync_mutations WHERE created_at < ?", args: [before] },
      ],
      "write",
    );
    return del.rowsAffected;
  }

  async status(userId: string): Promise<{ devices: DeviceRow[]; headSeq: number; openConflicts: number; records: number; usedBytes: number }> {
    const [devices, head, records] = await this.db.batch(
      [
        { sql: "SELECT device_id, client_version, last_push_at, last_pull_at, last_pulled_seq FROM sync_devices WHERE user_id = ? ORDER BY device_id", args: [userId] },
        { sql: "SELECT head_seq, used_bytes, open_conflicts FROM sync_heads WHERE user_id = ?", args: [userId] },
        { sql: "SELECT COUNT(*) AS n FROM sync_records WHERE user_id = ? AND deleted = 0", args: [userId] },
      ],
      "read",
    );
    return {
      devices: devices.rows.map((r) => ({
        deviceId: String(r.device_id),
        clientVersion: String(r.client_version),
        lastPushAt: r.last_push_at === null ? null : Number(r.last_push_at),
        lastPullAt: r.last_pull_at === null ? null : Number(r.last_pull_at),
        lastPulledSeq: Number(r.last_pulled_seq),
      })),
      headSeq: Number(head.rows[0]?.head_seq ?? 0),
      openConflicts: Number(head.rows[0]?.open_conflicts ?? 0),
      records: Number(records.rows[0]?.n ?? 0),
      usedBytes: Number(head.rows[0]?.used_bytes ?? 0),
    };
  }
}

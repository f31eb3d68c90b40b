/** Helpers for the SyncService tests: Connect JSON calls with a bearer token, typed answers, database scans. */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import {
  GetSyncStatusResponseSchema,
  ListConflictsResponseSchema,
  PullResponseSchema,
  PushResponseSchema,
  ResolveConflictResponseSchema,
  type Conflict,
  type Record as SyncRecord,
} from "../../gen/sqlstudio/sync/v1/sync_pb.js";
import type { Db } from "../../src/db/client.js";
import { call, type JsonReply } from "./auth.js";

export const SYNC = "sqlstudio.sync.v1.SyncService";
export const SYNC_METHODS = ["Push", "Pull", "ListConflicts", "ResolveConflict", "GetSyncStatus"] as const;

export const uuid = () => randomUUID();

/** A Connect JSON call to SyncService, as a browser would make it. */
export function syncCall(base: { url: string }, method: string, body: unknown, token?: string): Promise<JsonReply> {
  return call(base, `${SYNC}/${method}`, body, { token });
}

async function typed<S extends DescMessage>(schema: S, base: { url: string }, method: string, body: unknown, token: string): Promise<MessageShape<S>> {
  const r = await syncCall(base, method, body, token);
  if (r.status !== 200) throw new Error(`${method} failed: ${r.status} ${r.code} ${r.message} ${r.info?.reason ?? ""} ${r.info?.field ?? ""}`);
  // The JSON the server sent must be valid proto3 JSON of the response message.
  return fromJson(schema, r.body as JsonValue);
}

/** JSON of a Change, as a client writes it. */
export interface JsonChange {
  mutationId: string;
  recordId: string;
  baseVersion?: number | string;
  delete?: boolean;
  connection?: Record<string, unknown>;
  savedQuery?: Record<string, unknown>;
  history?: Record<string, unknown>;
}

export const savedQuery = (recordId: string, baseVersion: number, v: Record<string, unknown>, mutationId = uuid()): JsonChange => ({
  mutationId,
  recordId,
  baseVersion,
  savedQuery: v,
});
export const connection = (recordId: string, baseVersion: number, v: Record<string, unknown>, mutationId = uuid()): JsonChange => ({
  mutationId,
  recordId,
  baseVersion,
  connection: { engine: "postgresql", ...v },
});
export const history = (recordId: string, v: Record<string, unknown>, mutationId = uuid()): JsonChange => ({ mutationId, recordId, baseVersion: 0, history: v });
export const remove = (recordId: string, baseVersion: number, mutationId = uuid()): JsonChange => ({ mutationId, recordId, baseVersion, delete: true });

/** A typed SyncService client over Connect JSON for one user. */
export function syncClient(base: { url: string }, token: string) {
  return {
    push: (deviceId: string, changes: JsonChange[], clientVersion = "test/1.0") =>
      typed(PushResponseSchema, base, "Push", { deviceId, clientVersion, changes }, token),
    pull: (deviceId: string, sinceSeq: number | bigint = 0, pageSize = 0) =>
      typed(PullResponseSchema, base, "Pull", { deviceId, sinceSeq: String(sinceSeq), pageSize }, token),
    listConflicts: (opts: { includeResolved?: boolean; pageSize?: number; pageToken?: string } = {}) => typed(ListConflictsResponseSchema, base, "ListConflicts", opts, token),
    resolve: (conflictId: string, resolution: Record<string, unknown>) =>
      typed(ResolveConflictResponseSchema, base, "ResolveConflict", { conflictId, ...resolution }, token),
    status: () => typed(GetSyncStatusResponseSchema, base, "GetSyncStatus", {}, token),
    raw: (method: string, body: unknown) => syncCall(base, method, body, token),
    /** Pulls every page from `since` and returns all records and the final cursor. */
    async pullAll(deviceId: string, since: number | bigint = 0, pageSize = 0): Promise<{ records: SyncRecord[]; nextSeq: bigint; pages: number }> {
      const records: SyncRecord[] = [];
      let cursor = BigInt(since);
      let pages = 0;
      for (;;) {
        const page = await typed(PullResponseSchema, base, "Pull", { deviceId, sinceSeq: String(cursor), pageSize }, token);
        pages++;
        records.push(...page.records);
        cursor = page.nextSeq;
        if (!page.hasMore) return { records, nextSeq: cursor, pages };
        if (pages > 10_000) throw new Error("pull does not end");
      }
    },
    async allConflicts(includeResolved = true): Promise<Conflict[]> {
      const out: Conflict[] = [];
      let pageToken = "";
      do {
        const page = await typed(ListConflictsResponseSchema, base, "ListConflicts", { includeResolved, pageToken }, token);
        out.push(...page.conflicts);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return out;
    },
  };
}
export type SyncClient = ReturnType<typeof syncClient>;

/** The sync rows of one user (or all users), for "nothing was stored" checks. */
export async function syncRows(db: Db, userId?: string): Promise<{ records: number; mutations: number; conflicts: number; head: number }> {
  const where = userId ? " WHERE user_id = ?" : "";
  const args = userId ? [userId] : [];
  const n = async (table: string) => Number((await db.execute({ sql: `SELECT COUNT(*) AS n FROM ${table}${where}`, args })).rows[0].n);
  const head = userId ? Number((await db.execute({ sql: "SELECT head_seq FROM sync_heads WHERE user_id = ?", args })).rows[0]?.head_seq ?? 0) : -1;
  return { records: await n("sync_records"), mutations: await n("sync_mutations"), conflicts: await n("sync_conflicts"), head };
}

/** Every text column of every sync table, concatenated: a secret must not appear in it. */
export async function syncTablesText(db: Db): Promise<string> {
  const parts: string[] = [];
  for (const table of ["sync_records", "sync_mutations", "sync_conflicts", "sync_devices", "sync_heads"]) {
    const rs = await db.execute(`SELECT * FROM ${table}`);
    for (const row of rs.rows) parts.push(JSON.stringify(row));
  }
  return parts.join("\n");
}

/**
 * The bytes of the database file (and its WAL, if any) after a TRUNCATE checkpoint moved every
 * committed page into the main file.
 */
export async function databaseBytes(db: Db, dir: string): Promise<Buffer> {
  const rs = await db.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  const busy = Number(rs.rows[0]?.[0] ?? 0);
  if (busy !== 0) throw new Error("checkpoint was blocked");
  const file = join(dir, "app.db");
  const parts = [readFileSync(file)];
  for (const extra of [`${file}-wal`, `${file}-journal`]) if (existsSync(extra)) parts.push(readFileSync(extra));
  return Buffer.concat(parts);
}

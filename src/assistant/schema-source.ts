import type { Catalog } from "../engine/catalog.js";
import type { Connections } from "../engine/connections.js";
import { writesData } from "../engine/classify.js";
import { sampleRows, schemaSnapshot } from "../engine/snapshot.js";
import type { ConnectionRow } from "../engine/store.js";
import { decodePayload } from "../sync/payload.js";
import type { Sync } from "../sync/sync.js";
import { tablesIn } from "./answer.js";
import { prepareSchema, type PreparedSchema } from "./context.js";
import type { Sample } from "./ddl.js";
import { redactSample, SAMPLE_ROWS, SAMPLE_TABLES } from "./samples.js";

export interface LoadedSchema extends PreparedSchema {
  /** "PostgreSQL 17.2" … */
  server: string;
  /** Tables in the schema (more than described when over MAX_TABLES). */
  total: number;
}

/** Tables described per schema; larger schemas are cut (by name) and say so. */
const MAX_TABLES = 1_000;
const MAX_ENTRIES = 200;
const HISTORY_ENTRIES = 50;
const HISTORY_TABLES = 8;

/**
 * Where the assistant's knowledge of a connection comes from: the engine's own introspection
 * (cached per user, profile version and schema for a while; a request may ask for a fresh read),
 * the caller's recent history on the connection, and sample rows on request (never cached).
 */
export class SchemaSource {
  private readonly cache = new Map<string, { at: number; value: Promise<LoadedSchema> }>();

  constructor(
    private readonly deps: { catalog: Catalog; connections: Connections; sync: Sync; ttlMs: number; now: () => number },
  ) {}

  get(userId: string, row: ConnectionRow, schema: string, refresh: boolean): Promise<LoadedSchema> {
    const key = `${userId}\n${row.id}\n${row.updatedAt}\n${schema}`;
    const now = this.deps.now();
    const hit = this.cache.get(key);
    if (hit && !refresh && now - hit.at < this.deps.ttlMs) return hit.value;
    const value = this.load(userId, row, schema);
    this.cache.delete(key);
    this.cache.set(key, { at: now, value });
    value.catch(() => this.cache.get(key)?.value === value && this.cache.delete(key));
    while (this.cache.size > MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return value;
  }

  private async load(userId: string, row: ConnectionRow, schema: string): Promise<LoadedSchema> {
    const snap = await schemaSnapshot(this.deps.catalog, this.deps.connections, { userId, row, schema, maxTables: MAX_TABLES });
    const defaultSchema = schema || snap.tables[0]?.table.schema || "";
    return { ...prepareSchema(row.engine, defaultSchema, snap.tables), server: snap.server, total: snap.total };
  }

  /**
   * Keys of the tables the caller read lately on this connection (successful queries that do not
   * write: a migration script names every table and says nothing), most recent first, at most
   * HISTORY_TABLES.
   */
  async historyKeys(userId: string, row: ConnectionRow, schema: PreparedSchema): Promise<string[]> {
    const page = await this.deps.sync.history(userId, row.id, HISTORY_ENTRIES, "");
    const keys = new Set<string>();
    for (const r of page.records) {
      const p = decodePayload("history", r.payload);
      if (p.case !== "history" || !p.value.success || writesData(p.value.sql, row.engine)) continue;
      for (const k of tablesIn(p.value.sql, schema.byName, (key) => schema.byKey.get(key)!.table.name)) keys.add(k);
      if (keys.size >= HISTORY_TABLES) break;
    }
    return [...keys].slice(0, HISTORY_TABLES);
  }

  /** Up to 3 redacted rows of each of the first tables of `keys`. */
  async samples(userId: string, row: ConnectionRow, schema: PreparedSchema, keys: string[]): Promise<Map<string, Sample>> {
    const tables = keys.slice(0, SAMPLE_TABLES).map((k) => schema.byKey.get(k)!.table);
    const raw = await sampleRows(this.deps.connections, { userId, row, tables: tables.map((t) => ({ schema: t.schema, name: t.name })), limit: SAMPLE_ROWS });
    const out = new Map<string, Sample>();
    for (const [k, s] of raw) out.set(k, redactSample(s.columns, s.rows));
    return out;
  }
}

/**
 * What the workspace knows of a connection's structure: schemas, their tables (with row
 * estimates), and the columns of the tables described so far, as a namespace for SQL completion.
 */
import type { SQLNamespace } from "@codemirror/lang-sql";
import { useEffect, useState } from "preact/hooks";
import type { Schema, Table, TableColumn } from "@gen/sqlstudio/database/v1/schema_pb.js";
import { problemOf, type Problem } from "../../api/errors.js";
import { api } from "../../api/transport.js";

export interface SchemaInfo {
  schemas: Schema[];
  defaultSchema: string;
  tables: Map<string, Table[] | "loading" | Problem>;
  columns: Map<string, TableColumn[]>;
  problem?: Problem;
  loading: boolean;
}

const fresh = (): SchemaInfo => ({ schemas: [], defaultSchema: "", tables: new Map(), columns: new Map(), loading: true });
const tableKey = (schema: string, table: string) => `${schema}.${table}`;

export function useSchema(connectionId: string) {
  const [info, setInfo] = useState<SchemaInfo>(fresh);
  const change = (f: (i: SchemaInfo) => void) => setInfo((i) => {
    const next = { ...i, tables: new Map(i.tables), columns: new Map(i.columns) };
    f(next);
    return next;
  });

  const loadTables = async (schema: string) => {
    change((i) => i.tables.set(schema, "loading"));
    try {
      const all: Table[] = [];
      let pageToken = "";
      do {
        const r = await api.schemas.listTables({ connectionId, schema, pageSize: 5000, pageToken });
        all.push(...r.tables);
        pageToken = r.nextPageToken;
      } while (pageToken && all.length < 20_000);
      change((i) => i.tables.set(schema, all));
    } catch (e) {
      change((i) => i.tables.set(schema, problemOf(e)));
    }
  };

  const describe = async (schema: string, table: string) => {
    if (info.columns.has(tableKey(schema, table))) return;
    const r = await api.schemas.describeTable({ connectionId, schema, table });
    change((i) => i.columns.set(tableKey(schema, table), r.columns));
  };

  const reload = async () => {
    setInfo(fresh());
    if (!connectionId) return change((i) => (i.loading = false));
    try {
      const r = await api.schemas.listSchemas({ connectionId });
      const def = r.defaultSchema || r.schemas.find((s) => !s.system)?.name || "";
      change((i) => {
        i.schemas = r.schemas;
        i.defaultSchema = def;
        i.loading = false;
      });
      if (def) await loadTables(def);
    } catch (e) {
      change((i) => {
        i.problem = problemOf(e);
        i.loading = false;
      });
    }
  };

  useEffect(() => {
    void reload();
  }, [connectionId]);

  return { info, loadTables, describe, reload };
}

/** The namespace lang-sql completes from: schema → table → columns (empty until described). */
export function namespaceOf(info: SchemaInfo): SQLNamespace {
  const ns: Record<string, Record<string, string[]>> = {};
  for (const [schema, tables] of info.tables) {
    if (!Array.isArray(tables)) continue;
    ns[schema] = Object.fromEntries(tables.map((t) => [t.name, (info.columns.get(tableKey(schema, t.name)) ?? []).map((c) => c.name)]));
  }
  return ns;
}

/** Tables of the default schema named in the SQL and not described yet (for column completion). */
export function tablesToDescribe(info: SchemaInfo, sql: string): string[] {
  const tables = info.tables.get(info.defaultSchema);
  if (!Array.isArray(tables)) return [];
  const words = new Set(sql.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []);
  return tables.filter((t) => words.has(t.name.toLowerCase()) && !info.columns.has(tableKey(info.defaultSchema, t.name))).map((t) => t.name).slice(0, 5);
}

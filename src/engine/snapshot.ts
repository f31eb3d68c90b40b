import type { Catalog } from "./catalog.js";
import { withSession } from "./session.js";
import type { Connections } from "./connections.js";
import type { Cell, EngineName, Session } from "./driver.js";
import type { TableDescription } from "./introspect/types.js";
import type { ConnectionRow } from "./store.js";

/** A connection's schema as the engine's introspection describes it, with the server's version. */
export interface SchemaSnapshot {
  engine: EngineName;
  /** e.g. "PostgreSQL 17.2", "MariaDB 11.4.5", "SQLite 3.47.0". */
  server: string;
  tables: TableDescription[];
  /** Tables in the schema (more than `tables` when over the limit). */
  total: number;
}

const VERSION_SQL: Record<EngineName, string> = {
  postgresql: "SHOW server_version",
  mysql: "SELECT VERSION()",
  sqlite: "SELECT sqlite_version()",
};

function cellText(c: Cell | undefined): string {
  const k = c?.kind;
  if (!k || k.case === undefined || k.case === "nullValue") return "";
  if (k.case === "arrayValue") return `{${(k.value.values ?? []).map((x) => cellText(x)).join(",")}}`;
  if (k.case === "bytesValue") return "<bytes>";
  return String(k.value);
}

/** The server's product and version, from one query on the session. */
export async function serverVersion(s: Session, engine: EngineName): Promise<string> {
  const raw = cellText((await s.all(VERSION_SQL[engine])).rows[0]?.[0]).trim();
  if (engine === "postgresql") return `PostgreSQL ${raw.split(" ")[0]}`;
  if (engine === "sqlite") return `SQLite ${raw}`;
  const m = /^(\d+\.\d+\.\d+)(.*)$/.exec(raw);
  const product = /mariadb/i.test(raw) ? "MariaDB" : "MySQL";
  return `${product} ${m ? m[1] : raw}`;
}

/**
 * Every table of a schema ("" = the connection's default) described through the engine's own
 * introspection (Catalog), on one pooled session, up to `maxTables` (by name).
 */
export async function schemaSnapshot(
  catalog: Catalog,
  connections: Connections,
  req: { userId: string; row: ConnectionRow; schema: string; maxTables: number },
): Promise<SchemaSnapshot> {
  const { userId, row } = req;
  const { tables } = await catalog.tables(userId, row.id, req.schema, 5000, "");
  const chosen = tables.slice(0, req.maxTables);
  return withSession(connections, userId, row, async (s) => {
    const server = await serverVersion(s, row.engine);
    const described: TableDescription[] = [];
    for (const t of chosen) described.push(await catalog.describeOn(s, row.engine, t.schema, t.name));
    return { engine: row.engine, server, tables: described, total: tables.length };
  });
}

/**
 * Up to `limit` rows of each table, read in a read-only transaction that is rolled back, as text
 * cells (null for NULL). The caller redacts them before they go anywhere.
 */
export async function sampleRows(
  connections: Connections,
  req: { userId: string; row: ConnectionRow; tables: { schema: string; name: string }[]; limit: number },
): Promise<Map<string, { columns: string[]; rows: (string | null)[][] }>> {
  const { userId, row } = req;
  const dialect = connections.dialectOf(row.engine);
  const out = new Map<string, { columns: string[]; rows: (string | null)[][] }>();
  if (req.tables.length === 0) return out;
  await withSession(connections, userId, row, async (s) => {
    await s.begin(true);
    try {
      for (const t of req.tables) {
        const cursor = await s.open(`SELECT * FROM ${dialect.table(t.schema, t.name)} LIMIT ${Math.max(1, Math.floor(req.limit))}`);
        try {
          const rows = await cursor.next(req.limit);
          out.set(`${t.schema}.${t.name}`, {
            columns: cursor.columns.map((c) => c.name),
            rows: rows.map((cells) => cells.map((c) => (c.kind?.case === "nullValue" ? null : cellText(c)))),
          });
        } finally {
          await cursor.close();
        }
      }
    } finally {
      await s.rollback();
    }
  });
  return out;
}

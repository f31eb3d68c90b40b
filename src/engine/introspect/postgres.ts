import type { Session } from "../driver.js";
import { bool, foreignKeysOf, groupBy, num, str, text, type Introspector, type Kind, type TableInfo } from "./types.js";

const KINDS: Record<string, Kind> = { r: "table", p: "table", v: "view", m: "materialized_view", f: "foreign_table" };
const ACTIONS: Record<string, string> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

async function schemaOrDefault(s: Session, schema: string): Promise<string> {
  if (schema !== "") return schema;
  return str((await s.all("SELECT current_schema()")).rows[0]?.[0]) || "public";
}

const TABLES = `SELECT n.nspname, c.relname, c.relkind, c.reltuples::bigint, coalesce(obj_description(c.oid, 'pg_class'), ''), c.oid
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

function tableOf(r: import("../driver.js").Cell[]): TableInfo {
  const kind = KINDS[str(r[2])];
  // Views have no estimate; reltuples is -1 for a table never analyzed (PostgreSQL 14+).
  const estimate = kind === "view" ? -1 : Math.max(-1, num(r[3]));
  return { schema: str(r[0]), name: str(r[1]), kind, rowEstimate: estimate, comment: str(r[4]) };
}

export const postgresIntrospector: Introspector = {
  async schemas(s) {
    const r = await s.all(
      `SELECT nspname, nspname IN ('pg_catalog', 'information_schema') OR nspname LIKE 'pg\\_%' FROM pg_namespace
        WHERE has_schema_privilege(oid, 'USAGE') ORDER BY nspname`,
    );
    return { schemas: r.rows.map((x) => ({ name: str(x[0]), system: bool(x[1]) })), defaultSchema: await schemaOrDefault(s, "") };
  },

  async tables(s, schema) {
    const r = await s.all(`${TABLES} ORDER BY c.relname`, [text(await schemaOrDefault(s, schema))]);
    return r.rows.map(tableOf);
  },

  async describe(s, schema, table) {
    const found = await s.all(`${TABLES} AND c.relname = $2`, [text(await schemaOrDefault(s, schema)), text(table)]);
    if (found.rows.length === 0) return undefined;
    const info = tableOf(found.rows[0]);
    const oid = found.rows[0][5];
    const cols = await s.all(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
              a.attidentity <> '' OR a.attgenerated <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false),
              a.attnum, coalesce(col_description(a.attrelid, a.attnum), '')
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    const indexes = await s.all(
      // A key column by its name as stored (pg_get_indexdef would quote it); an expression as the database prints it.
      `SELECT ic.relname, i.indisunique, i.indisprimary, am.amname, coalesce(a.attname, pg_get_indexdef(i.indexrelid, k, true)), k
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
        CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k
         LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1] AND i.indkey[k - 1] <> 0
        WHERE i.indrelid = $1 ORDER BY ic.relname, k`,
      [oid],
    );
    const fks = await s.all(
      `SELECT con.conname, a.attname, nf.nspname, cf.relname, af.attname, con.confupdtype, con.confdeltype, k.ord
         FROM pg_constraint con
        CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(att, fatt, ord)
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att
         JOIN pg_class cf ON cf.oid = con.confrelid JOIN pg_namespace nf ON nf.oid = cf.relnamespace
         JOIN pg_attribute af ON af.attrelid = con.confrelid AND af.attnum = k.fatt
        WHERE con.conrelid = $1 AND con.contype = 'f' ORDER BY con.conname, k.ord`,
      [oid],
    );
    const idx = [...groupBy(indexes.rows, (r) => str(r[0])).values()].map((rows) => ({
      name: str(rows[0][0]),
      unique: bool(rows[0][1]),
      primary: bool(rows[0][2]),
      method: str(rows[0][3]),
      columns: rows.map((r) => str(r[4])),
    }));
    return {
      table: info,
      columns: cols.rows.map((r) => ({
        name: str(r[0]),
        databaseType: str(r[1]),
        nullable: bool(r[2]),
        defaultExpression: str(r[3]),
        generated: bool(r[4]),
        ordinal: num(r[5]),
        comment: str(r[6]),
      })),
      primaryKey: idx.find((i) => i.primary)?.columns ?? [],
      indexes: idx,
      foreignKeys: foreignKeysOf(fks.rows, (rule) => ACTIONS[rule] ?? ""),
    };
  },
};

import type { Session } from "../driver.js";
import { bool, groupBy, num, str, text, type Introspector, type TableInfo } from "./types.js";

/** The attached database a request names: it must exist (it is then quoted, never spliced raw). */
async function schemaOrDefault(s: Session, schema: string): Promise<string | undefined> {
  if (schema === "") return "main";
  const r = await s.all("SELECT name FROM pragma_database_list WHERE name = ?", [text(schema)]);
  return r.rows.length > 0 ? schema : undefined;
}
const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

async function tablesOf(s: Session, schema: string, only?: string): Promise<TableInfo[]> {
  const r = await s.all(
    `SELECT name, type FROM ${quote(schema)}.sqlite_schema
      WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ${only !== undefined ? "AND name = ?" : ""} ORDER BY name`,
    only !== undefined ? [text(only)] : [],
  );
  return r.rows.map((x) => ({ schema, name: str(x[0]), kind: str(x[1]) === "view" ? "view" : "table", rowEstimate: -1, comment: "" }));
}

export const sqliteIntrospector: Introspector = {
  async schemas(s) {
    const r = await s.all("SELECT name FROM pragma_database_list ORDER BY seq");
    return { schemas: r.rows.map((x) => ({ name: str(x[0]), system: str(x[0]) === "temp" })), defaultSchema: "main" };
  },

  async tables(s, schema) {
    const db = await schemaOrDefault(s, schema);
    return db ? tablesOf(s, db) : [];
  },

  async describe(s, schema, table) {
    const db = await schemaOrDefault(s, schema);
    if (!db) return undefined;
    const found = await tablesOf(s, db, table);
    if (found.length === 0) return undefined;
    const t = [text(table), text(db)];
    const cols = await s.all("SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?, ?) ORDER BY cid", t);
    const pk = cols.rows.filter((r) => num(r[5]) > 0).sort((a, b) => num(a[5]) - num(b[5])).map((r) => str(r[1]));
    // INTEGER PRIMARY KEY is the rowid: the database makes its value.
    const rowid = pk.length === 1 ? pk[0] : undefined;
    const list = await s.all("SELECT name, \"unique\", origin FROM pragma_index_list(?, ?) ORDER BY name", t);
    const indexes = [];
    for (const r of list.rows) {
      const cols2 = await s.all("SELECT name FROM pragma_index_info(?, ?) ORDER BY seqno", [r[0], text(db)]);
      indexes.push({ name: str(r[0]), unique: bool(r[1]), primary: str(r[2]) === "pk", method: "btree", columns: cols2.rows.map((c) => str(c[0])) });
    }
    const fkRows = await s.all("SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq", t);
    const foreignKeys = [];
    for (const rows of groupBy(fkRows.rows, (r) => str(r[0])).values()) {
      const target = str(rows[0][2]);
      let referenced = rows.map((r) => str(r[4]));
      // A foreign key that names no columns references the target's primary key.
      if (referenced.every((c) => c === "")) {
        const tpk = await s.all("SELECT name FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk", [text(target), text(db)]);
        referenced = tpk.rows.map((c) => str(c[0]));
      }
      foreignKeys.push({
        name: `fk_${str(rows[0][0])}`,
        columns: rows.map((r) => str(r[3])),
        referencedSchema: db,
        referencedTable: target,
        referencedColumns: referenced,
        onUpdate: str(rows[0][5]),
        onDelete: str(rows[0][6]),
      });
    }
    return {
      table: found[0],
      columns: cols.rows.map((r) => {
        const type = str(r[2]);
        const hidden = num(r[6]);
        return {
          name: str(r[1]),
          databaseType: type,
          nullable: !bool(r[3]) && !(str(r[1]) === rowid && /^integer$/i.test(type)),
          defaultExpression: str(r[4]),
          generated: hidden === 2 || hidden === 3 || (str(r[1]) === rowid && /^integer$/i.test(type)),
          ordinal: num(r[0]) + 1,
          comment: "",
        };
      }),
      primaryKey: pk,
      indexes,
      foreignKeys,
    };
  },
};

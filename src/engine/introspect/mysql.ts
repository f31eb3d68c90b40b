import type { Cell, Session } from "../driver.js";
import { bool, foreignKeysOf, groupBy, num, str, text, type Introspector, type TableInfo } from "./types.js";

const SYSTEM = new Set(["mysql", "information_schema", "performance_schema", "sys"]);

async function schemaOrDefault(s: Session, schema: string): Promise<string> {
  if (schema !== "") return schema;
  return str((await s.all("SELECT DATABASE()")).rows[0]?.[0]);
}

const TABLES = `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`;

function tableOf(r: Cell[]): TableInfo {
  const view = /VIEW/.test(str(r[2]));
  return { schema: str(r[0]), name: str(r[1]), kind: view ? "view" : "table", rowEstimate: view ? -1 : num(r[3]), comment: view ? "" : str(r[4]) };
}

export const mysqlIntrospector: Introspector = {
  async schemas(s) {
    const r = await s.all("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME");
    return { schemas: r.rows.map((x) => ({ name: str(x[0]), system: SYSTEM.has(str(x[0]).toLowerCase()) })), defaultSchema: await schemaOrDefault(s, "") };
  },

  async tables(s, schema) {
    const r = await s.all(`${TABLES} ORDER BY TABLE_NAME`, [text(await schemaOrDefault(s, schema))]);
    return r.rows.map(tableOf);
  },

  async describe(s, schema, table) {
    const db = text(await schemaOrDefault(s, schema));
    const name = text(table);
    // Names compare as binary: `Users` and `users` are different tables on a case-sensitive server.
    const found = await s.all(`${TABLES} AND BINARY TABLE_NAME = BINARY ?`, [db, name]);
    if (found.rows.length === 0) return undefined;
    const info = tableOf(found.rows[0]);
    const cols = await s.all(
      `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_DEFAULT, EXTRA, ORDINAL_POSITION, COLUMN_COMMENT
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND BINARY TABLE_NAME = BINARY ? ORDER BY ORDINAL_POSITION`,
      [db, name],
    );
    const stats = await s.all(
      `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, INDEX_TYPE, SEQ_IN_INDEX
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND BINARY TABLE_NAME = BINARY ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [db, name],
    );
    const fks = await s.all(
      `SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
         FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
        WHERE k.TABLE_SCHEMA = ? AND BINARY k.TABLE_NAME = BINARY ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
        ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
      [db, name],
    );
    const indexes = [...groupBy(stats.rows, (r) => str(r[0])).values()].map((rows) => ({
      name: str(rows[0][0]),
      unique: num(rows[0][1]) === 0,
      primary: str(rows[0][0]) === "PRIMARY",
      method: str(rows[0][3]).toLowerCase(),
      columns: rows.map((r) => str(r[2])),
    }));
    return {
      table: info,
      columns: cols.rows.map((r) => {
        const extra = str(r[4]).toLowerCase();
        const def = r[3]?.kind?.case === "nullValue" ? "" : str(r[3]);
        return {
          name: str(r[0]),
          databaseType: str(r[1]),
          nullable: bool(r[2]),
          // MariaDB spells a NULL default as the word NULL.
          defaultExpression: def === "NULL" ? "" : def,
          generated: /auto_increment|generated|virtual|stored|persistent/.test(extra),
          ordinal: num(r[5]),
          comment: str(r[6]),
        };
      }),
      primaryKey: indexes.find((i) => i.primary)?.columns ?? [],
      indexes,
      foreignKeys: foreignKeysOf(fks.rows),
    };
  },
};

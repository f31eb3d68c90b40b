import type { EngineName } from "./driver.js";
import { splitStatements, type Statement } from "./split.js";

/**
 * What a statement does to the database, from its words outside strings, quoted names and
 * comments (split.ts): "read" (SELECT, SHOW, EXPLAIN …), "session" (BEGIN, SET, USE …: no data
 * changes) or "write" (INSERT, UPDATE, DELETE, DDL, CALL, COPY … and anything not known to be one
 * of the others). Used to flag SQL that would modify data before anyone runs it.
 */
export type StatementKind = "read" | "session" | "write";

const READ_FIRST = new Set(["SELECT", "WITH", "VALUES", "TABLE", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "HELP", "FETCH", "MOVE", "CLOSE"]);
const SESSION_FIRST = new Set([
  "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE",
  "SET", "RESET", "USE", "DISCARD", "DEALLOCATE", "DECLARE", "LISTEN", "UNLISTEN",
]);
/** Words that make a SELECT/WITH modify data (a data-modifying CTE); UPDATE only when not `FOR [NO KEY] UPDATE`. */
const MODIFYING = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);
/** Functions with side effects: a SELECT calling one changes something. */
const SIDE_EFFECT_FUNCTIONS = new Set([
  "NEXTVAL", "SETVAL", "SET_CONFIG", "LO_IMPORT", "LO_EXPORT", "LO_UNLINK", "LO_CREATE", "LO_PUT", "DBLINK_EXEC",
  "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "PG_RELOAD_CONF", "PG_ROTATE_LOGFILE", "PG_SWITCH_WAL",
  "PG_ADVISORY_LOCK", "PG_ADVISORY_XACT_LOCK", "PG_TRY_ADVISORY_LOCK", "PG_NOTIFY", "PG_FILE_WRITE",
  "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS",
]);
/** SQLite PRAGMAs that only read (with an argument in parentheses, never `= value`). */
const SQLITE_READ_PRAGMAS = new Set([
  "TABLE_INFO", "TABLE_XINFO", "TABLE_LIST", "INDEX_LIST", "INDEX_INFO", "INDEX_XINFO", "FOREIGN_KEY_LIST", "FOREIGN_KEY_CHECK",
  "DATABASE_LIST", "COLLATION_LIST", "FUNCTION_LIST", "MODULE_LIST", "PRAGMA_LIST", "COMPILE_OPTIONS", "INTEGRITY_CHECK", "QUICK_CHECK",
]);

export function classifyStatement(stmt: Statement, engine: EngineName): StatementKind {
  const w = stmt.words;
  const first = w[0] ?? "";
  if (first === "PRAGMA") {
    const name = w[1] === "MAIN" || w[1] === "TEMP" ? w[2] : w[1];
    return engine === "sqlite" && SQLITE_READ_PRAGMAS.has(name ?? "") && !stmt.sql.includes("=") ? "read" : "write";
  }
  if (SESSION_FIRST.has(first)) return "session";
  if (!READ_FIRST.has(first)) return "write";
  if (first === "EXPLAIN") {
    // EXPLAIN ANALYZE runs the statement.
    return w.includes("ANALYZE") && w.slice(1).some((x) => MODIFYING.has(x) || x === "CREATE" || x === "DROP") ? "write" : "read";
  }
  for (let i = 1; i < w.length; i++) {
    const x = w[i];
    if (MODIFYING.has(x) && !(x === "UPDATE" && (w[i - 1] === "FOR" || w[i - 1] === "KEY"))) return "write";
    if (SIDE_EFFECT_FUNCTIONS.has(x)) return "write";
    // SELECT … INTO new_table (PostgreSQL) creates a table; INTO OUTFILE/DUMPFILE writes a file.
    if (x === "INTO" && (engine !== "mysql" || w[i + 1] === "OUTFILE" || w[i + 1] === "DUMPFILE")) return "write";
  }
  return "read";
}

/** Whether any statement of the script would modify data or schema. */
export function writesData(sql: string, engine: EngineName): boolean {
  return splitStatements(sql, engine).some((s) => classifyStatement(s, engine) === "write");
}

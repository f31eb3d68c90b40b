import type { EngineName } from "./driver.js";
import type { Statement } from "./split.js";

/**
 * Statements refused before they reach the database. The database enforces read-only itself
 * (read-only transaction, `query_only`); this closes the ways out of that transaction:
 * ending it, changing the session (MySQL's implicit commits), or attaching other files.
 */
const TRANSACTION_CONTROL = new Set(["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"]);
/** MySQL statements that commit implicitly or change the session's transaction mode. */
const MYSQL_READONLY_REFUSED = new Set([
  "SET", "CALL", "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOCK", "UNLOCK",
  "LOAD", "FLUSH", "INSTALL", "UNINSTALL", "OPTIMIZE", "REPAIR", "ANALYZE", "CACHE", "RESET", "XA", "HANDLER", "DO",
  // EXECUTE IMMEDIATE 'COMMIT' (and statements PREPAREd earlier on the pooled session) would end
  // the read-only transaction out of sight; compound statements (MariaDB runs them outside
  // stored programs) can hold anything.
  "EXECUTE", "IF", "CASE", "WHILE", "LOOP", "REPEAT", "FOR",
]);

export function refusal(stmt: Statement, engine: EngineName, readOnly: boolean): string | undefined {
  const first = stmt.words[0] ?? "";
  if (engine === "sqlite") {
    // Files outside the SQLite directory stay out of reach, read-only or not.
    if (first === "ATTACH" || first === "DETACH") return "ATTACH and DETACH are not allowed";
    if (first === "VACUUM" && stmt.words.includes("INTO")) return "VACUUM INTO is not allowed";
  }
  if (!readOnly) return undefined;
  if (TRANSACTION_CONTROL.has(first)) return `${first} is not allowed in a read-only query`;
  if (engine === "mysql" && MYSQL_READONLY_REFUSED.has(first)) return `${first} is not allowed in a read-only query`;
  if (engine === "sqlite" && first === "PRAGMA") return "PRAGMA is not allowed in a read-only query";
  if (engine === "postgresql" && (first === "COPY" && stmt.words.includes("PROGRAM"))) return "COPY PROGRAM is not allowed in a read-only query";
  // Files on the database server are written even in a read-only transaction: COPY … TO 'file'
  // (only TO STDOUT reads), SELECT … INTO OUTFILE / DUMPFILE.
  if (engine === "postgresql" && first === "COPY" && stmt.words.includes("TO") && stmt.words[stmt.words.lastIndexOf("TO") + 1] !== "STDOUT") {
    return "COPY to a file is not allowed in a read-only query";
  }
  if (engine === "mysql" && stmt.words.some((w, i) => w === "INTO" && (stmt.words[i + 1] === "OUTFILE" || stmt.words[i + 1] === "DUMPFILE"))) {
    return "SELECT INTO OUTFILE and DUMPFILE are not allowed in a read-only query";
  }
  // PostgreSQL lets SET TRANSACTION READ WRITE (or SET transaction_read_only = off) turn the
  // read-only transaction read-write while no query has run in it yet. A quoted name could spell
  // transaction_read_only out of sight (U&"\0074ransaction_read_only"), so those are refused too.
  if (engine === "postgresql" && (first === "SET" || first === "RESET") && (/transaction/i.test(stmt.sql) || stmt.sql.includes('"'))) {
    return `${first} of the transaction mode (or of a quoted name) is not allowed in a read-only query`;
  }
  return undefined;
}

/** Statements whose effect outlives them on the connection: a transaction left open, a setting. */
const SESSION_CHANGING = new Set(["BEGIN", "START", "SET", "RESET", "USE", "PRAGMA", "SAVEPOINT", "LOCK", "DISCARD", "PREPARE", "DECLARE", "LISTEN", "ATTACH"]);

/**
 * Whether a statement may leave the connection different for the next request (an open
 * transaction, a search_path): such a connection is closed after the request, not pooled, so
 * every ExecuteQuery starts on a clean session and an unfinished transaction is rolled back.
 */
export function changesSession(stmt: Statement): boolean {
  return SESSION_CHANGING.has(stmt.words[0] ?? "");
}

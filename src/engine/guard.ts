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
  // Other sessions and the server itself.
  "KILL", "SHUTDOWN", "RESTART", "PURGE", "CHANGE", "STOP", "BINLOG", "BACKUP", "CLONE",
]);
/** MySQL functions that read the server's files or take locks that outlive the transaction. */
const MYSQL_READONLY_FUNCTIONS = new Set(["LOAD_FILE", "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS", "IS_FREE_LOCK", "IS_USED_LOCK", "MASTER_POS_WAIT", "SOURCE_POS_WAIT", "SYS_EXEC", "SYS_EVAL"]);

/** PostgreSQL statements that act outside the read-only transaction (locks, code, other sessions). */
const POSTGRES_READONLY_REFUSED = new Set(["LOCK", "DO", "CALL", "LISTEN", "NOTIFY", "UNLISTEN", "LOAD", "CHECKPOINT", "EXECUTE"]);
/**
 * PostgreSQL functions a read-only transaction does not stop: files on the database host, other
 * connections (dblink), the server and other sessions, locks that outlive the transaction, and
 * functions that run SQL given as text. The read-only role is the real boundary (docs/security.md).
 */
const POSTGRES_READONLY_FUNCTIONS = new Set([
  "PG_READ_FILE", "PG_READ_BINARY_FILE", "PG_STAT_FILE", "PG_RELOAD_CONF", "PG_ROTATE_LOGFILE", "PG_TERMINATE_BACKEND",
  "PG_CANCEL_BACKEND", "PG_SIGNAL_BACKEND", "PG_PROMOTE", "PG_SWITCH_WAL", "PG_CREATE_RESTORE_POINT", "PG_BACKUP_START",
  "PG_BACKUP_STOP", "PG_START_BACKUP", "PG_STOP_BACKUP", "PG_LOG_BACKEND_MEMORY_CONTEXTS", "PG_LOGICAL_EMIT_MESSAGE",
  "PG_CREATE_PHYSICAL_REPLICATION_SLOT", "PG_CREATE_LOGICAL_REPLICATION_SLOT", "PG_DROP_REPLICATION_SLOT",
  "PG_REPLICATION_SLOT_ADVANCE", "PG_COPY_PHYSICAL_REPLICATION_SLOT", "PG_COPY_LOGICAL_REPLICATION_SLOT",
  "PG_LOGICAL_SLOT_GET_CHANGES", "PG_LOGICAL_SLOT_GET_BINARY_CHANGES", "PG_WAL_REPLAY_PAUSE", "PG_WAL_REPLAY_RESUME",
  "PG_NOTIFY", "SET_CONFIG", "LOWRITE", "LOREAD", "QUERY_TO_XML", "QUERY_TO_XMLSCHEMA", "QUERY_TO_XML_AND_XMLSCHEMA",
  "CURSOR_TO_XML", "CURSOR_TO_XMLSCHEMA", "TS_STAT", "TS_REWRITE", "CROSSTAB", "CROSSTAB2", "CROSSTAB3", "CROSSTAB4",
  "CONNECTBY", "XPATH_TABLE", "PG_IMPORT_SYSTEM_COLLATIONS",
]);
const POSTGRES_READONLY_PREFIXES = /^(LO_|PG_LS_|PG_FILE_|PG_LOGDIR_|DBLINK|PG_ADVISORY_|PG_TRY_ADVISORY_|PG_STAT_RESET|PG_STAT_STATEMENTS_RESET|PG_REPLICATION_ORIGIN_)/;

/** The first name of a statement a refusal list holds, bare or quoted. */
function named(stmt: Statement, list: Set<string>, prefixes?: RegExp): string | undefined {
  return [...stmt.words, ...stmt.names].find((w) => list.has(w) || (prefixes !== undefined && prefixes.test(w)));
}

export function refusal(stmt: Statement, engine: EngineName, readOnly: boolean): string | undefined {
  const first = stmt.words[0] ?? "";
  if (engine === "sqlite") {
    // Files outside the SQLite directory stay out of reach, read-only or not.
    if (first === "ATTACH" || first === "DETACH") return "ATTACH and DETACH are not allowed";
    if (first === "VACUUM" && stmt.words.includes("INTO")) return "VACUUM INTO is not allowed";
  }
  if (!readOnly) return undefined;
  if (TRANSACTION_CONTROL.has(first)) return `${first} is not allowed in a read-only query`;
  if (engine === "mysql") {
    // The server runs /*!NNNNN … */ or skips it by its own version: what the statement does
    // depends on the server, so it is not judged here at all.
    if (stmt.versioned) return "executable comments (/*! … */, /*M! … */) are not allowed in a read-only query";
    if (MYSQL_READONLY_REFUSED.has(first)) return `${first} is not allowed in a read-only query`;
    const fn = named(stmt, MYSQL_READONLY_FUNCTIONS);
    if (fn) return `${fn} is not allowed in a read-only query`;
  }
  if (engine === "postgresql") {
    if (POSTGRES_READONLY_REFUSED.has(first)) return `${first} is not allowed in a read-only query`;
    if (stmt.unicodeNames) return 'U&"…" names are not allowed in a read-only query';
    const fn = named(stmt, POSTGRES_READONLY_FUNCTIONS, POSTGRES_READONLY_PREFIXES);
    if (fn) return `${fn.toLowerCase()} is not allowed in a read-only query`;
    if (first === "SET" && (stmt.words[1] === "ROLE" || (stmt.words[1] === "SESSION" && stmt.words[2] === "AUTHORIZATION") || (stmt.words[1] === "LOCAL" && stmt.words[2] === "ROLE"))) {
      return "SET ROLE and SET SESSION AUTHORIZATION are not allowed in a read-only query";
    }
  }
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

import { SqlLexer, type Token } from "../../common/sql-lexer.js";

/**
 * What user SQL on a SQLite profile may reach, decided by SQLite itself: the rules of the
 * connection's authorizer (sqlite3_set_authorizer, through libsql's rule-based `authorizer()`),
 * which SQLite consults while it compiles every statement, including the bodies of views and
 * triggers; `PRAGMA trusted_schema = OFF` for what it compiles from the schema (CHECK, DEFAULT,
 * generated columns, indexes); and a look at the schema's virtual tables when a file is opened.
 *
 * Functions, PRAGMAs and modules are allow-lists: a driver upgrade that registers something new
 * leaves it refused until it is reviewed (test/security/sqlite-functions.test.ts pins the review).
 */

/** Reviewed: every function the driver registers except those that reach the host (see docs/security.md). */
export const ALLOWED_FUNCTIONS = [
  "->", "->>", "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "atn2", "avg", "bm25", "ceil", "ceiling",
  "changes", "char", "charindex", "coalesce", "concat", "concat_ws", "cos", "cosh", "cot", "coth", "count", "cume_dist",
  "current_date", "current_time", "current_timestamp", "date", "datetime", "degrees", "dense_rank", "difference", "exp",
  "first_value", "floor", "format", "fts5_get_locale", "fts5_locale", "fts5_source_id", "geopoly_area", "geopoly_bbox",
  "geopoly_blob", "geopoly_ccw", "geopoly_contains_point", "geopoly_group_bbox", "geopoly_json", "geopoly_overlap",
  "geopoly_regular", "geopoly_svg", "geopoly_within", "geopoly_xform", "glob", "group_concat", "hex", "highlight", "ifnull",
  "iif", "instr", "json", "json_array", "json_array_length", "json_error_position", "json_extract", "json_group_array",
  "json_group_object", "json_insert", "json_object", "json_patch", "json_pretty", "json_quote", "json_remove", "json_replace",
  "json_set", "json_type", "json_valid", "jsonb", "jsonb_array", "jsonb_extract", "jsonb_group_array", "jsonb_group_object",
  "jsonb_insert", "jsonb_object", "jsonb_patch", "jsonb_remove", "jsonb_replace", "jsonb_set", "julianday", "lag",
  "last_insert_rowid", "last_rows_affected", "last_value", "lead", "leftstr", "length", "libsql_vector_idx", "like",
  "likelihood", "likely", "ln", "log", "log10", "lower", "lower_quartile", "ltrim", "match", "matchinfo", "max", "median",
  "min", "mode", "nth_value", "ntile", "nullif", "octet_length", "offsets", "optimize", "padc", "padl", "padr",
  "percent_rank", "pi", "power", "printf", "proper", "quote", "radians", "random", "randomblob", "rank", "regexp", "regexpi",
  "replace", "replicate", "reverse", "rightstr", "round", "row_number", "rtreecheck", "rtreedepth", "rtreenode", "rtrim",
  "sha3", "sha3_agg", "sign", "sin", "sinh", "snippet", "soundex", "sqlite_compileoption_get", "sqlite_compileoption_used",
  "sqlite_source_id", "sqlite_version", "sqrt", "square", "stdev", "strfilter", "strftime", "string_agg", "substr",
  "substring", "subtype", "sum", "tan", "tanh", "time", "timediff", "total", "total_changes", "trim", "typeof", "unhex",
  "unicode", "unixepoch", "unlikely", "upper", "upper_quartile", "uuid", "uuid_blob", "uuid_str", "variance", "vector",
  "vector16", "vector1bit", "vector32", "vector64", "vector8", "vector_distance_cos", "vector_distance_l2", "vector_extract",
  "vectorb16", "zeroblob",
] as const;

/**
 * SQLite's internal functions for ALTER TABLE, which it calls in the statements it makes for an
 * ALTER (they pass this authorizer too). No user statement can call them: outside an ALTER they
 * do not exist (SQLITE_FUNC_INTERNAL), and pragma_function_list does not list them.
 */
const ALTER_TABLE_FUNCTIONS = ["sqlite_rename_column", "sqlite_rename_table", "sqlite_rename_test", "sqlite_drop_column", "sqlite_rename_quotefix"];

/** Modules a user may create tables with, and that a file's schema may declare. */
export const ALLOWED_MODULES = ["fts3", "fts4", "fts5", "fts3tokenize", "fts4aux", "fts5vocab", "rtree", "rtree_i32", "geopoly", "dbstat"] as const;

/** Eponymous virtual tables that are never read nor written: the host's files, the file's raw pages. */
export const DENIED_TABLES = ["fsdir", "sqlite_dbpage"] as const;

/** PRAGMAs that only read the database, its schema or the build. */
const READ_PRAGMAS = [
  "collation_list", "compile_options", "data_version", "database_list", "foreign_key_check", "foreign_key_list", "freelist_count",
  "function_list", "index_info", "index_list", "index_xinfo", "integrity_check", "module_list", "page_count", "pragma_list",
  "quick_check", "table_info", "table_list", "table_xinfo",
];
/**
 * PRAGMAs a read-write request may also run: settings of the connection or of the user's own
 * file. Not: writable_schema, trusted_schema, temp_store_directory, data_store_directory, the
 * process-wide heap limits, threads, mmap_size, locking_mode, schema_version, the cipher ones.
 */
const WRITE_PRAGMAS = [
  ...READ_PRAGMAS, "analysis_limit", "application_id", "auto_vacuum", "automatic_index", "busy_timeout", "cache_size", "cache_spill",
  "case_sensitive_like", "cell_size_check", "checkpoint_fullfsync", "defer_foreign_keys", "encoding", "foreign_keys", "fullfsync",
  "ignore_check_constraints", "incremental_vacuum", "journal_mode", "journal_size_limit", "legacy_alter_table", "max_page_count",
  "optimize", "page_size", "query_only", "read_uncommitted", "recursive_triggers", "reverse_unordered_selects", "secure_delete",
  "shrink_memory", "synchronous", "temp_store", "user_version", "wal_autocheckpoint", "wal_checkpoint",
];

// libsql's Authorization and Action codes (SQLite's SQLITE_DENY … and authorizer action codes).
const ALLOW = 0;
const DENY = 1;
const A = {
  CREATE_INDEX: 1, CREATE_TABLE: 2, CREATE_TEMP_INDEX: 3, CREATE_TEMP_TABLE: 4, CREATE_TEMP_TRIGGER: 5, CREATE_TEMP_VIEW: 6,
  CREATE_TRIGGER: 7, CREATE_VIEW: 8, DELETE: 9, DROP_INDEX: 10, DROP_TABLE: 11, DROP_TEMP_INDEX: 12, DROP_TEMP_TABLE: 13,
  DROP_TEMP_TRIGGER: 14, DROP_TEMP_VIEW: 15, DROP_TRIGGER: 16, DROP_VIEW: 17, INSERT: 18, PRAGMA: 19, READ: 20, SELECT: 21,
  TRANSACTION: 22, UPDATE: 23, ATTACH: 24, DETACH: 25, ALTER_TABLE: 26, REINDEX: 27, ANALYZE: 28, CREATE_VTABLE: 29,
  DROP_VTABLE: 30, FUNCTION: 31, SAVEPOINT: 32, RECURSIVE: 33,
} as const;

/** A glob that matches any of the names, ASCII case-insensitively (as SQLite looks names up). */
function anyOf(names: readonly string[]): { glob: string } {
  const ci = (name: string) => name.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
  return { glob: `{${names.map(ci).join(",")}}` };
}

export interface AuthorizerConfig {
  rules: { action?: number | number[]; table?: { glob: string }; entity?: string | { glob: string }; policy: number }[];
  defaultPolicy: number;
}

function config(readOnly: boolean): AuthorizerConfig {
  const common = [
    { table: anyOf(DENIED_TABLES), policy: DENY },
    { action: A.FUNCTION, entity: anyOf([...ALLOWED_FUNCTIONS, ...ALTER_TABLE_FUNCTIONS]), policy: ALLOW },
    { action: A.FUNCTION, policy: DENY },
    { action: A.PRAGMA, entity: anyOf(readOnly ? READ_PRAGMAS : WRITE_PRAGMAS), policy: ALLOW },
    { action: A.PRAGMA, policy: DENY },
  ];
  if (readOnly) {
    // Writes compile (EXPLAIN QUERY PLAN of a DELETE answers its plan) and fail when run:
    // query_only is on. What would leave the read-only transaction or the file never compiles.
    const leaving = [A.TRANSACTION, A.SAVEPOINT, A.ATTACH, A.DETACH, A.CREATE_VTABLE, A.DROP_VTABLE];
    return { rules: [...common, { action: leaving, policy: DENY }, { action: Object.values(A), policy: ALLOW }], defaultPolicy: DENY };
  }
  return {
    rules: [
      ...common,
      { action: [A.CREATE_VTABLE, A.DROP_VTABLE], entity: anyOf(ALLOWED_MODULES), policy: ALLOW },
      { action: [A.CREATE_VTABLE, A.DROP_VTABLE], policy: DENY },
      // VACUUM attaches a temporary database named ''; no other file is attached.
      { action: A.ATTACH, entity: "", policy: ALLOW },
      { action: A.ATTACH, policy: DENY },
      {
        action: Object.values(A).filter((a) => a !== A.ATTACH && a !== A.CREATE_VTABLE && a !== A.DROP_VTABLE),
        policy: ALLOW,
      },
    ],
    defaultPolicy: DENY,
  };
}

/** The authorizer of a connection in read-write use, and in a read-only request. */
export const READ_WRITE_RULES = config(false);
export const READ_ONLY_RULES = config(true);

/** Whether a SQLite error is the authorizer's (or trusted_schema's) refusal. */
export function isRefusal(code: string | undefined, message: string): boolean {
  return code === "SQLITE_AUTH" || /^(not authorized|unsafe use of)\b/.test(message);
}

/**
 * Why a database file may not be opened, if it may not: a virtual table in its schema whose
 * module is not allowed (a crafted file can declare `CREATE VIRTUAL TABLE y USING fsdir`, which
 * no CREATE statement could make). `schema` is sqlite_schema's (name, sql) for tables;
 * `virtualTables` the names SQLite itself reports as virtual (pragma_table_list), so a
 * declaration this reading misses is refused too.
 */
export function schemaRefusal(schema: { name: string; sql: string }[], virtualTables: string[]): string | undefined {
  const allowed = new Set<string>(ALLOWED_MODULES);
  const seen = new Set<string>();
  for (const { name, sql } of schema) {
    const words = significant(sql);
    if (!(isWord(words[0], "CREATE") && isWord(words[1], "VIRTUAL"))) continue;
    const using = words.findIndex((w) => isWord(w, "USING"));
    const module = using < 0 ? undefined : nameOf(words[using + 1]);
    if (module === undefined || !allowed.has(module.toLowerCase())) return `the file declares virtual table "${name}" with module ${module ?? "(unreadable)"}, which this server does not open`;
    seen.add(name.toLowerCase());
  }
  const unknown = virtualTables.find((t) => !seen.has(t.toLowerCase()));
  return unknown === undefined ? undefined : `the file declares virtual table "${unknown}" whose module cannot be read`;
}

interface Lexed {
  token: Token;
  text: string;
}

function significant(sql: string): Lexed[] {
  const lexer = new SqlLexer(sql, "sqlite");
  const out: Lexed[] = [];
  for (let t = lexer.next(); t; t = lexer.next()) if (t.kind !== "space" && t.kind !== "comment") out.push({ token: { ...t }, text: lexer.textOf(t) });
  return out;
}

const isWord = (w: Lexed | undefined, upper: string) => w?.token.kind === "word" && w.text.toUpperCase() === upper;

/** A module name as SQLite reads it: a word, a quoted name or a string. */
function nameOf(w: Lexed | undefined): string | undefined {
  if (!w) return undefined;
  if (w.token.kind === "word") return w.text;
  if ((w.token.kind === "quoted" || w.token.kind === "string") && w.token.closed) {
    const q = w.text[0];
    const body = w.text.slice(1, -1);
    return q === "[" ? body : body.split(q + q).join(q);
  }
  return undefined;
}

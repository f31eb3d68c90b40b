import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { sqliteDialect } from "../dialect.js";
import { DatabaseError, NULL, VALUE, type Cell, type ColumnInfo, type Cursor, type Driver, type EnginePool, type PoolLimits, type Session, type Target } from "../driver.js";
import { checkCells, DEFAULT_WIRE_LIMITS } from "../limits.js";
import { cellParam } from "../values.js";
import { isRefusal, READ_ONLY_RULES, READ_WRITE_RULES, schemaRefusal, type AuthorizerConfig } from "./sqlite-rules.js";

// libsql (the engine under @libsql/client) directly, in the build with the rule-based authorizer
// ("libsql-engine": libsql 0.6): statements run on libsql's own threads, so a running one can be
// interrupted from here, and SQLite consults our rules while it compiles each of them.
const require = createRequire(import.meta.url);
interface Engine {
  libsql: { connect(path: string, opts?: { timeout?: number }): Promise<LibsqlDb> };
  /**
   * The package's native module, for `iteratorNextSync`: its promise API answers each row through a
   * thread hop (about 50 times slower than reading rows here). Not in the package's exports, so
   * resolved beside promise.js; test/security/sqlite-functions.test.ts fails when it moves.
   */
  native: { iteratorNextSync(it: NativeRows): { done: boolean; value: unknown[] } };
}
let engine: Engine | undefined;

/**
 * Loaded on first use: the confining build ships binaries for Linux (x64, glibc and musl) only. On
 * other platforms the server still starts and SQLite profiles fail closed with a clear reason,
 * never falling back to a build that lets user SQL reach the host's files.
 */
function sqliteEngine(): Engine {
  if (engine) return engine;
  try {
    const libsql = require("libsql-engine/promise") as Engine["libsql"];
    const native = require(join(dirname(require.resolve("libsql-engine/promise")), "index.js")) as Engine["native"];
    engine = { libsql, native };
    return engine;
  } catch {
    throw new DatabaseError(
      `SQLite profiles need the confined SQLite engine, which has no build for ${process.platform}-${process.arch} (Linux x64 only)`,
      "SQLITE_ENGINE_UNAVAILABLE",
      "auth",
    );
  }
}

interface NativeRows {
  close(): void;
}
interface LibsqlStatement {
  raw(on?: boolean): LibsqlStatement;
  safeIntegers(on?: boolean): LibsqlStatement;
  columns(): { name: string; type: string | null }[];
  reader: boolean;
  /** The native statement (its iterate() answers the native row iterator). */
  stmt: { iterate(params?: unknown, options?: unknown): Promise<NativeRows> };
  run(params?: unknown, options?: unknown): Promise<{ changes: number }>;
}
interface LibsqlDb {
  prepare(sql: string): Promise<LibsqlStatement>;
  exec(sql: string): Promise<void>;
  authorizer(config: AuthorizerConfig | null): void;
  interrupt(): void;
  close(): void;
}

/**
 * The statements and row iterators made on each connection, kept reachable until the connection
 * is closed. libsql finalizes a statement only when V8 collects its object, on the main thread,
 * and sqlite3_finalize takes the connection's mutex: had a statement of a connection been
 * collected while another statement of that connection was running on libsql's thread (the first
 * step of an endless query), the collection would have waited for it with the event loop stopped,
 * and the whole instance would have hung until that query ended (it never does: its timeout is a
 * timer of the stopped loop). Closed, a connection runs nothing, and its statements may go.
 */
const held = new WeakMap<LibsqlDb, object[]>();
/** A connection that made this many statements is closed when given back (its statements then go). */
const STATEMENTS_PER_CONNECTION = 64;
function hold<T extends object>(db: LibsqlDb, o: T): T {
  const list = held.get(db);
  if (list) list.push(o);
  else held.set(db, [o]);
  return o;
}
function closeDb(db: LibsqlDb) {
  try {
    db.close();
  } finally {
    held.delete(db);
  }
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return NULL;
  if (typeof v === "bigint") return { $typeName: VALUE, kind: { case: "intValue", value: v } };
  // With safe integers on, INTEGER values arrive as bigints: a number is a REAL.
  if (typeof v === "number") return { $typeName: VALUE, kind: { case: "floatValue", value: v } };
  if (typeof v === "string") return { $typeName: VALUE, kind: { case: "textValue", value: v } };
  if (v instanceof ArrayBuffer) return { $typeName: VALUE, kind: { case: "bytesValue", value: new Uint8Array(v) } };
  if (ArrayBuffer.isView(v)) return { $typeName: VALUE, kind: { case: "bytesValue", value: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) } };
  return { $typeName: VALUE, kind: { case: "textValue", value: String(v) } };
}

function bind(params: Cell[]): unknown[] {
  return params.map((p) => {
    const v = cellParam(p);
    if (typeof v === "boolean") return v ? 1n : 0n;
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    if (Array.isArray(v)) throw new DatabaseError("SQLite has no array values", "SQLITE_MISMATCH");
    return v;
  });
}

/**
 * A libsql error as a DatabaseError. Errors from the native side may carry their details as JSON
 * in the message ({"code":"SQLITE_…","message":…}). A refusal of the authorizer is "denied"
 * ("readonly" in a read-only request, where the rules refuse every write).
 */
function dbError(err: unknown, readOnly = false): Error {
  let e = err as { code?: string; message?: string };
  if (typeof e?.message === "string" && e.message.startsWith("{")) {
    try {
      const inner = JSON.parse(e.message) as { code?: string; message?: string };
      if (typeof inner.code === "string") e = inner;
    } catch {
      // not JSON: the message as it is
    }
  }
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) {
    const message = e.message ?? "database error";
    if (isRefusal(e.code, message)) {
      const why = e.code === "SQLITE_AUTH" ? "not authorized on this server" : message;
      return new DatabaseError(readOnly ? `${why} (read-only)` : why, e.code, readOnly ? "readonly" : "denied");
    }
    const kind = e.code === "SQLITE_INTERRUPT" ? "canceled" : e.code.startsWith("SQLITE_READONLY") ? "readonly" : e.code.startsWith("SQLITE_CONSTRAINT") ? "constraint" : "sql";
    return new DatabaseError(message, e.code, kind);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function columnsOf(stmt: LibsqlStatement): ColumnInfo[] {
  return stmt.columns().map((c) => ({ name: c.name, databaseType: c.type ?? "", nullable: true }));
}

class SqliteCursor implements Cursor {
  constructor(
    readonly columns: ColumnInfo[],
    private readonly it: NativeRows | undefined,
    private readonly changes: number,
    private readonly readOnly: boolean,
    /** ENGINE_MAX_CELL_BYTES: a larger cell or row ends the statement before any cell is made of it. */
    private readonly maxCell = DEFAULT_WIRE_LIMITS.maxCellBytes,
  ) {}
  private done = false;

  async next(n: number): Promise<Cell[][]> {
    if (!this.it || this.done) return [];
    const out: Cell[][] = [];
    const { native } = sqliteEngine();
    try {
      while (out.length < n) {
        const r = native.iteratorNextSync(this.it);
        if (r.done) {
          this.done = true;
          break;
        }
        checkCells(r.value, this.maxCell, (i) => this.columns[i]?.name);
        out.push(r.value.map(toCell));
      }
    } catch (err) {
      this.done = true;
      throw dbError(err, this.readOnly);
    }
    // Let other requests (and this one's cancel) run between batches.
    await new Promise((r) => setImmediate(r));
    return out;
  }
  affected() {
    return this.changes;
  }
  command() {
    return "";
  }
  async close() {
    this.done = true;
    this.it?.close();
  }
}

class SqliteSession implements Session {
  /** In a read-only request: the authorizer refuses every write, and `query_only` is on. */
  private readOnly = false;
  constructor(
    private readonly db: LibsqlDb,
    private readonly pool: SqlitePool,
  ) {}

  private async prepare(sql: string): Promise<LibsqlStatement> {
    try {
      return hold(this.db, await this.db.prepare(sql));
    } catch (err) {
      throw dbError(err, this.readOnly);
    }
  }

  async open(sql: string, params: Cell[] = [], timeoutMs?: number): Promise<Cursor> {
    const stmt = await this.prepare(sql);
    // Rows after the first are read on the main thread (fast), so a statement that is slow between
    // two rows holds the event loop, where no timer of ours can stop it: libsql's own timer does,
    // from its thread, at the statement's deadline.
    const options = timeoutMs && timeoutMs > 0 ? { queryTimeout: Math.ceil(timeoutMs) } : undefined;
    try {
      if (!stmt.reader) {
        // As one array: libsql reads a single object argument (a Buffer, NULL) as named parameters and panics.
        // (libsql reads a last argument as options only when it has queryTimeout.)
        const r = await (options ? stmt.run(bind(params), options) : stmt.run(bind(params)));
        return new SqliteCursor([], undefined, r.changes, this.readOnly);
      }
      stmt.raw(true).safeIntegers(true);
      // The first step runs on libsql's thread (an endless statement stays interruptible).
      const it = hold(this.db, await stmt.stmt.iterate(bind(params), options));
      return new SqliteCursor(columnsOf(stmt), it, 0, this.readOnly, this.pool.maxCell);
    } catch (err) {
      throw dbError(err, this.readOnly);
    }
  }

  async all(sql: string, params: Cell[] = []) {
    const c = await this.open(sql, params);
    const rows: Cell[][] = [];
    for (let batch = await c.next(1000); batch.length > 0; batch = await c.next(1000)) rows.push(...batch);
    return { columns: c.columns, rows, affected: c.affected() };
  }

  async begin(readOnly: boolean) {
    if (readOnly) await this.exec("PRAGMA query_only = ON");
    await this.exec(readOnly ? "BEGIN" : "BEGIN IMMEDIATE");
    if (readOnly) {
      this.db.authorizer(READ_ONLY_RULES);
      this.readOnly = true;
    }
  }
  async commit() {
    this.readWrite();
    await this.exec("COMMIT");
  }
  async rollback() {
    this.readWrite();
    await this.exec("ROLLBACK");
  }
  /** Back to the read-write rules (the end of a transaction is a statement the read-only rules refuse). */
  private readWrite() {
    if (!this.readOnly) return;
    this.db.authorizer(READ_WRITE_RULES);
    this.readOnly = false;
  }
  private async exec(sql: string) {
    try {
      await this.db.exec(sql);
    } catch (err) {
      throw dbError(err);
    }
  }

  async cancel(): Promise<void> {
    this.db.interrupt();
  }

  release(broken = false) {
    this.pool.give(this.db, broken);
  }
}

/** A few connections to one file; a read-only request leaves `query_only` on, so it is reset on return. */
class SqlitePool implements EnginePool {
  private readonly idle: { db: LibsqlDb; since: number }[] = [];
  private open = 0;
  private readonly waiters: { resolve: (db: LibsqlDb) => void; reject: (err: unknown) => void }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  readonly maxCell: number;
  constructor(
    private readonly target: Target,
    private readonly limits: PoolLimits,
  ) {
    this.maxCell = (limits.wire ?? DEFAULT_WIRE_LIMITS).maxCellBytes;
    this.now = limits.now ?? Date.now;
    this.timer = setInterval(() => this.evict(), Math.min(limits.idleMs, 30_000));
    this.timer.unref();
  }

  private evict() {
    const cutoff = this.now() - this.limits.idleMs;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      if (this.idle[i].since < cutoff) {
        closeDb(this.idle[i].db);
        this.idle.splice(i, 1);
        this.open--;
      }
    }
  }

  /**
   * A new connection, counted against the limit, confined before any user SQL runs on it:
   * trusted_schema off (the schema's CHECK, DEFAULT, generated columns and indexes may call only
   * innocuous functions; SQLite's advice for files from elsewhere), the schema's virtual tables
   * checked, then the authorizer for everything compiled from now on.
   */
  private async openDb(): Promise<LibsqlDb> {
    this.open++;
    let db: LibsqlDb | undefined;
    try {
      db = await sqliteEngine().libsql.connect(this.target.host, { timeout: 5 });
      await db.exec("PRAGMA trusted_schema = OFF; PRAGMA foreign_keys = ON");
      const schema = await rowsOf<"name" | "sql">(db, "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL");
      const virtual = await rowsOf<"name">(db, "SELECT name FROM pragma_table_list WHERE type = 'virtual'");
      const refused = schemaRefusal(schema, virtual.map((r) => r.name));
      if (refused) throw new DatabaseError(refused, "SQLITE_AUTH", "denied");
      db.authorizer(READ_WRITE_RULES);
      return db;
    } catch (err) {
      if (db) closeDb(db);
      this.open--;
      if (err instanceof DatabaseError) throw err;
      throw new DatabaseError(`cannot open the SQLite file: ${(dbError(err) as Error).message}`, "SQLITE_CANTOPEN", "connect");
    }
  }

  async acquire(): Promise<Session> {
    const ready = this.idle.pop();
    if (ready) return new SqliteSession(ready.db, this);
    if (this.open < this.limits.max) return new SqliteSession(await this.openDb(), this);
    return new SqliteSession(await new Promise<LibsqlDb>((resolve, reject) => this.waiters.push({ resolve, reject })), this);
  }

  give(db: LibsqlDb, broken: boolean) {
    void Promise.resolve()
      .then(() => {
        db.authorizer(READ_WRITE_RULES);
        return db.exec("PRAGMA query_only = OFF");
      })
      .catch(() => (broken = true))
      .then(() => {
        const w = this.waiters.shift();
        if (broken || (held.get(db)?.length ?? 0) >= STATEMENTS_PER_CONNECTION) {
          closeDb(db);
          this.open--;
          // A waiter gets a new connection in place of the closed one.
          if (w) this.openDb().then(w.resolve, w.reject);
          return;
        }
        if (w) w.resolve(db);
        else this.idle.push({ db, since: this.now() });
      });
  }

  stats() {
    return { total: this.open, idle: this.idle.length, waiting: this.waiters.length, max: this.limits.max };
  }

  async version(): Promise<string> {
    const s = await this.acquire();
    try {
      const r = await s.all("SELECT sqlite_version()");
      const k = r.rows[0][0].kind;
      return `SQLite ${k?.case === "textValue" ? k.value : ""}`;
    } finally {
      s.release();
    }
  }

  async end(): Promise<void> {
    clearInterval(this.timer);
    for (const { db } of this.idle.splice(0)) closeDb(db);
  }
}

/** Rows of a small query of our own on a connection (before its authorizer is set), as objects. */
async function rowsOf<K extends string>(db: LibsqlDb, sql: string): Promise<Record<K, string>[]> {
  const stmt = hold(db, await db.prepare(sql));
  stmt.raw(true);
  const it = hold(db, await stmt.stmt.iterate());
  const names = stmt.columns().map((c) => c.name);
  const out: Record<K, string>[] = [];
  const { native } = sqliteEngine();
  for (let r = native.iteratorNextSync(it); !r.done; r = native.iteratorNextSync(it)) out.push(Object.fromEntries(names.map((n, i) => [n, String(r.value[i])])) as Record<K, string>);
  return out;
}

export const sqliteDriver: Driver = {
  engine: "sqlite",
  dialect: sqliteDialect,
  pool: (target, limits) => new SqlitePool(target, limits),
};

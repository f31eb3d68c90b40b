import { createRequire } from "node:module";
import { sqliteDialect } from "../dialect.js";
import { DatabaseError, NULL, VALUE, VALUE_LIST, type Cell, type ColumnInfo, type Cursor, type Driver, type EnginePool, type PoolLimits, type Session, type Target } from "../driver.js";
import { checkCells, DEFAULT_WIRE_LIMITS } from "../limits.js";
import { cellParam } from "../values.js";

// libsql (the engine under @libsql/client) directly: its statements iterate row by row and its
// connections can be interrupted from this thread while a statement runs on libsql's own.
const require = createRequire(import.meta.url);
const Database = require("libsql/promise") as new (path: string, opts?: { timeout?: number }) => LibsqlDb;

interface LibsqlStatement {
  raw(on?: boolean): LibsqlStatement;
  safeIntegers(on?: boolean): LibsqlStatement;
  columns(): { name: string; type: string | null }[];
  reader: boolean;
  iterate(...params: unknown[]): Promise<Iterator<unknown[]>>;
  run(...params: unknown[]): Promise<{ changes: number }>;
}
interface LibsqlDb {
  prepare(sql: string): Promise<LibsqlStatement>;
  exec(sql: string): Promise<void>;
  interrupt(): void;
  close(): void;
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

function dbError(err: unknown): Error {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) {
    const kind = e.code === "SQLITE_INTERRUPT" ? "canceled" : e.code.startsWith("SQLITE_READONLY") ? "readonly" : e.code.startsWith("SQLITE_CONSTRAINT") ? "constraint" : "sql";
    return new DatabaseError(e.message ?? "database error", e.code, kind);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function columnsOf(stmt: LibsqlStatement): ColumnInfo[] {
  return stmt.columns().map((c) => ({ name: c.name, databaseType: c.type ?? "", nullable: true }));
}

class SqliteCursor implements Cursor {
  constructor(
    readonly columns: ColumnInfo[],
    private readonly it: Iterator<unknown[]> | undefined,
    private readonly changes: number,
    /** ENGINE_MAX_CELL_BYTES: a larger cell or row ends the statement before any cell is made of it. */
    private readonly maxCell = DEFAULT_WIRE_LIMITS.maxCellBytes,
  ) {}

  async next(n: number): Promise<Cell[][]> {
    if (!this.it) return [];
    const out: Cell[][] = [];
    try {
      while (out.length < n) {
        const r = this.it.next();
        if (r.done) break;
        checkCells(r.value, this.maxCell, (i) => this.columns[i]?.name);
        out.push(r.value.map(toCell));
      }
    } catch (err) {
      throw dbError(err);
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
    this.it?.return?.();
  }
}

class SqliteSession implements Session {
  constructor(
    private readonly db: LibsqlDb,
    private readonly pool: SqlitePool,
  ) {}

  private async prepare(sql: string): Promise<LibsqlStatement> {
    try {
      return await this.db.prepare(sql);
    } catch (err) {
      throw dbError(err);
    }
  }

  async open(sql: string, params: Cell[] = []): Promise<Cursor> {
    const stmt = await this.prepare(sql);
    try {
      if (!stmt.reader) {
        // As one array: libsql reads a single object argument (a Buffer, NULL) as named parameters and panics.
        const r = await stmt.run(bind(params));
        return new SqliteCursor([], undefined, r.changes);
      }
      stmt.raw(true).safeIntegers(true);
      const it = await stmt.iterate(bind(params));
      return new SqliteCursor(columnsOf(stmt), it, 0, this.pool.maxCell);
    } catch (err) {
      throw dbError(err);
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
  }
  async commit() {
    await this.exec("COMMIT");
  }
  async rollback() {
    await this.exec("ROLLBACK");
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
  readonly maxCell: number;
  constructor(
    private readonly target: Target,
    private readonly limits: PoolLimits,
  ) {
    this.maxCell = (limits.wire ?? DEFAULT_WIRE_LIMITS).maxCellBytes;
    this.timer = setInterval(() => this.evict(), Math.min(limits.idleMs, 30_000));
    this.timer.unref();
  }

  private evict() {
    const cutoff = Date.now() - this.limits.idleMs;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      if (this.idle[i].since < cutoff) {
        this.idle[i].db.close();
        this.idle.splice(i, 1);
        this.open--;
      }
    }
  }

  /** A new connection, counted against the limit. */
  private async openDb(): Promise<LibsqlDb> {
    this.open++;
    try {
      const db = new Database(this.target.host, { timeout: 5 });
      await db.exec("PRAGMA foreign_keys = ON");
      return db;
    } catch (err) {
      this.open--;
      throw new DatabaseError(`cannot open the SQLite file: ${(err as Error).message}`, "SQLITE_CANTOPEN", "connect");
    }
  }

  async acquire(): Promise<Session> {
    const ready = this.idle.pop();
    if (ready) return new SqliteSession(ready.db, this);
    if (this.open < this.limits.max) return new SqliteSession(await this.openDb(), this);
    return new SqliteSession(await new Promise<LibsqlDb>((resolve, reject) => this.waiters.push({ resolve, reject })), this);
  }

  give(db: LibsqlDb, broken: boolean) {
    void db
      .exec("PRAGMA query_only = OFF")
      .catch(() => (broken = true))
      .then(() => {
        const w = this.waiters.shift();
        if (broken) {
          db.close();
          this.open--;
          // A waiter gets a new connection in place of the closed one.
          if (w) this.openDb().then(w.resolve, w.reject);
          return;
        }
        if (w) w.resolve(db);
        else this.idle.push({ db, since: Date.now() });
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
    for (const { db } of this.idle.splice(0)) db.close();
  }
}

export const sqliteDriver: Driver = {
  engine: "sqlite",
  dialect: sqliteDialect,
  pool: (target, limits) => new SqlitePool(target, limits),
};

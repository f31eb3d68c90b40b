import mysql from "mysql2";
import { mysqlDialect } from "../dialect.js";
import { DatabaseError, NULL, VALUE, VALUE_LIST, type Cell, type ColumnInfo, type Cursor, type Driver, type EnginePool, type Session, type Target } from "../driver.js";
import { cellParam, type Param } from "../values.js";
import { RAW_COLUMNS, type RawColumn, type RawValue } from "../wire.js";

/** mysql2 column type codes (protocol constants). */
const T = {
  DECIMAL: 0, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, TIMESTAMP: 7, LONGLONG: 8, INT24: 9, DATE: 10, TIME: 11,
  DATETIME: 12, YEAR: 13, NEWDATE: 14, VARCHAR: 15, BIT: 16, JSON: 245, NEWDECIMAL: 246, ENUM: 247, SET: 248, TINY_BLOB: 249,
  MEDIUM_BLOB: 250, LONG_BLOB: 251, BLOB: 252, VAR_STRING: 253, STRING: 254, GEOMETRY: 255,
} as const;
/** SQL type names of the protocol's type codes; [text, binary] where the character set tells them apart. */
const NAMES: Record<number, string | [string, string]> = {
  [T.DECIMAL]: "decimal", [T.NEWDECIMAL]: "decimal", [T.TINY]: "tinyint", [T.SHORT]: "smallint", [T.INT24]: "mediumint", [T.LONG]: "int",
  [T.LONGLONG]: "bigint", [T.FLOAT]: "float", [T.DOUBLE]: "double", [T.NULL]: "null", [T.TIMESTAMP]: "timestamp", [T.DATE]: "date",
  [T.NEWDATE]: "date", [T.TIME]: "time", [T.DATETIME]: "datetime", [T.YEAR]: "year", [T.BIT]: "bit", [T.JSON]: "json", [T.ENUM]: "enum",
  [T.SET]: "set", [T.GEOMETRY]: "geometry", [T.VARCHAR]: ["varchar", "varbinary"], [T.VAR_STRING]: ["varchar", "varbinary"],
  [T.STRING]: ["char", "binary"], [T.TINY_BLOB]: ["tinytext", "tinyblob"], [T.MEDIUM_BLOB]: ["mediumtext", "mediumblob"],
  [T.LONG_BLOB]: ["longtext", "longblob"], [T.BLOB]: ["text", "blob"],
};
const NUMERIC: Set<number> = new Set([T.DECIMAL, T.NEWDECIMAL, T.TINY, T.SHORT, T.INT24, T.LONG, T.LONGLONG, T.FLOAT, T.DOUBLE]);
const ENUM_FLAG = 256;
const SET_FLAG = 2048;
const BINARY_CHARSET = 63;
const NOT_NULL_FLAG = 1;
const UNSIGNED_FLAG = 32;

interface Field {
  name: string;
  columnType: number;
  characterSet: number;
  flags: number;
  columnLength: number;
  /** MariaDB's extended metadata: "json" for a JSON column (sent as text). */
  extendedFormat?: string;
  /** MariaDB's extended metadata: e.g. "uuid", "inet6". */
  extendedTypeName?: string;
}

type Convert = (v: string | Buffer) => Cell;
const asText = (v: string | Buffer) => (typeof v === "string" ? v : v.toString("utf8"));
const INT64_MAX = 9223372036854775807n;

function converter(f: Field): Convert {
  if (f.extendedFormat === "json") return (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: asText(v) } });
  switch (f.columnType) {
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.LONGLONG: case T.YEAR:
      return (v) => {
        const n = BigInt(asText(v));
        return n > INT64_MAX ? { $typeName: VALUE, kind: { case: "decimalValue", value: String(n) } } : { $typeName: VALUE, kind: { case: "intValue", value: n } };
      };
    case T.FLOAT: case T.DOUBLE:
      return (v) => ({ $typeName: VALUE, kind: { case: "floatValue", value: Number(asText(v)) } });
    case T.DECIMAL: case T.NEWDECIMAL:
      return (v) => ({ $typeName: VALUE, kind: { case: "decimalValue", value: asText(v) } });
    case T.DATE: case T.NEWDATE:
      return (v) => ({ $typeName: VALUE, kind: { case: "dateValue", value: asText(v) } });
    case T.TIME:
      return (v) => ({ $typeName: VALUE, kind: { case: "timeValue", value: asText(v) } });
    case T.DATETIME: case T.TIMESTAMP:
      return (v) => ({ $typeName: VALUE, kind: { case: "timestampValue", value: asText(v) } });
    case T.JSON:
      return (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: asText(v) } });
    case T.BIT: case T.GEOMETRY:
      return (v) => ({ $typeName: VALUE, kind: { case: "bytesValue", value: typeof v === "string" ? Buffer.from(v) : v } });
    default:
      if (f.characterSet === BINARY_CHARSET) return (v) => ({ $typeName: VALUE, kind: { case: "bytesValue", value: typeof v === "string" ? Buffer.from(v, "binary") : v } });
      return (v) => ({ $typeName: VALUE, kind: { case: "textValue", value: asText(v) } });
  }
}

/** The writer of a column's raw values for binary clients (wire.ts): the same kinds as `converter`. */
function rawColumnOf(f: Field): RawColumn {
  if (f.extendedFormat === "json") return RAW_COLUMNS.json;
  switch (f.columnType) {
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.LONGLONG: case T.YEAR:
      return RAW_COLUMNS.int;
    case T.FLOAT: case T.DOUBLE:
      return RAW_COLUMNS.float;
    case T.DECIMAL: case T.NEWDECIMAL:
      return RAW_COLUMNS.decimal;
    case T.DATE: case T.NEWDATE:
      return RAW_COLUMNS.date;
    case T.TIME:
      return RAW_COLUMNS.time;
    case T.DATETIME: case T.TIMESTAMP:
      return RAW_COLUMNS.timestamp;
    case T.JSON:
      return RAW_COLUMNS.json;
    case T.BIT: case T.GEOMETRY:
      return RAW_COLUMNS.bytes;
    default:
      return f.characterSet === BINARY_CHARSET ? RAW_COLUMNS.bytes : RAW_COLUMNS.text;
  }
}

/** Binary columns arrive as bytes, everything else as the server's text: nothing is rounded. */
const typeCast = (field: { type: string; charset?: number; characterSet?: number; buffer(): Buffer | null; string(encoding?: string): string | null }, _next: () => unknown) => {
  // MySQL sends JSON with the binary character set; its text is UTF-8 (mysql2 would decode it as latin1).
  if (field.type === "JSON") return field.string("utf8");
  const charset = (field as { characterSet?: number }).characterSet;
  const binary = charset === BINARY_CHARSET || field.type === "BIT" || field.type === "GEOMETRY";
  return binary ? field.buffer() : field.string();
};

function columnInfo(f: Field): ColumnInfo {
  const name = NAMES[f.columnType] ?? String(f.columnType);
  let type = Array.isArray(name) ? name[f.characterSet === BINARY_CHARSET ? 1 : 0] : name;
  // ENUM and SET columns travel as strings with a flag; MariaDB names JSON, UUID, INET6 in its extended metadata.
  if (f.flags & ENUM_FLAG) type = "enum";
  else if (f.flags & SET_FLAG) type = "set";
  else if (f.extendedFormat === "json") type = "json";
  else if (f.extendedTypeName) type = f.extendedTypeName;
  if (f.flags & UNSIGNED_FLAG && NUMERIC.has(f.columnType)) type += " unsigned";
  return { name: f.name, databaseType: type, nullable: (f.flags & NOT_NULL_FLAG) === 0 };
}

function dbError(err: unknown): Error {
  const e = err as { message?: string; code?: string; errno?: number; sqlState?: string; fatal?: boolean };
  if (e?.sqlState) {
    // 1044/1045 access denied, 1049 unknown database: the profile is wrong.
    const kind =
      e.errno === 1792 || e.errno === 1207
        ? "readonly"
        : e.errno === 1317 || e.errno === 3024
          ? "canceled"
          : e.errno === 1044 || e.errno === 1045 || e.errno === 1049
            ? "auth"
            : e.sqlState.startsWith("23")
              ? "constraint"
              : "sql";
    return new DatabaseError(e.message ?? "database error", e.sqlState, kind);
  }
  if (e?.code && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|PROTOCOL_CONNECTION_LOST|HANDSHAKE_.*|ER_ACCESS_DENIED_ERROR)$/.test(e.code)) {
    return new DatabaseError(`cannot reach the database: ${e.message ?? e.code}`, e.code, "connect");
  }
  return err instanceof Error ? err : new Error(String(err));
}

function bind(params: Cell[]): Param[] {
  return params.map((p) => {
    const v = cellParam(p);
    return typeof v === "bigint" ? v.toString() : v;
  });
}

/**
 * Rows stream from the socket: while the reader has not asked for more, the connection is
 * paused, so the server blocks on its send buffer instead of this process buffering.
 */
class MysqlCursor implements Cursor {
  columns: ColumnInfo[] = [];
  private converters: Convert[] = [];
  /** Rows read off the socket, as mysql2 gives them (text, or bytes for binary columns). */
  private rows: (RawValue | null)[][] = [];
  raw?: { columns: RawColumn[]; next: (n: number) => Promise<(RawValue | null)[][]> };
  private want = 0;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private affectedRows = 0;
  private discarding = false;
  private readonly fieldsReady: Promise<void>;
  private readonly finished: Promise<void>;

  constructor(
    private readonly conn: mysql.PoolConnection,
    sql: string,
    params: Cell[],
    private readonly kill: () => Promise<void>,
  ) {
    let ready!: () => void;
    let finish!: () => void;
    this.fieldsReady = new Promise((r) => (ready = r));
    this.finished = new Promise((r) => (finish = r));
    const q = conn.query({ sql, values: bind(params), rowsAsArray: true, typeCast: typeCast as never });
    q.on("fields", (fields: Field[] | undefined) => {
      // A statement without a result set (CREATE, INSERT) has no fields.
      this.columns = (fields ?? []).map(columnInfo);
      this.converters = (fields ?? []).map(converter);
      this.raw = { columns: (fields ?? []).map(rawColumnOf), next: (n) => this.nextRaw(n) };
      ready();
    });
    q.on("result", (row: unknown) => {
      if (Array.isArray(row)) {
        if (this.discarding) return;
        this.rows.push(row as (RawValue | null)[]);
        if (this.rows.length >= this.want) conn.pause();
      } else {
        this.affectedRows += Number((row as { affectedRows?: number }).affectedRows ?? 0);
      }
      this.poke();
    });
    q.on("error", (err: unknown) => {
      this.error = dbError(err);
      ready();
      finish();
      this.poke();
    });
    q.on("end", () => {
      this.ended = true;
      ready();
      finish();
      this.poke();
    });
  }

  private poke() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async start(): Promise<void> {
    this.want = 100;
    await Promise.race([this.fieldsReady, new Promise<void>((r) => (this.wake = r))]);
    if (this.error) throw this.error;
  }

  /** Up to `n` rows as read; the socket is resumed only while fewer are buffered. */
  private async nextRaw(n: number): Promise<(RawValue | null)[][]> {
    this.want = n;
    while (this.rows.length < n && !this.ended && !this.error) {
      // resume() replays queued packets synchronously: the waiter must exist before it runs.
      const woke = new Promise<void>((r) => (this.wake = r));
      this.conn.resume();
      if (this.rows.length >= n || this.ended || this.error) break;
      await woke;
    }
    if (this.error) throw this.error;
    return this.rows.splice(0, n);
  }

  async next(n: number): Promise<Cell[][]> {
    const conv = this.converters;
    return (await this.nextRaw(n)).map((r) => r.map((v, i) => (v === null ? NULL : conv[i](v as string | Buffer))));
  }

  affected() {
    return this.affectedRows;
  }

  command() {
    return "";
  }

  async close(): Promise<void> {
    if (this.ended || this.error) return;
    // The rest of the result must be read off the socket before the connection is reusable:
    // the server is told to stop first, so a truncated million-row result is not read to its end.
    this.discarding = true;
    this.rows = [];
    await this.kill();
    this.conn.resume();
    await this.finished;
  }
}

class MysqlSession implements Session {
  constructor(
    private readonly conn: mysql.PoolConnection,
    private readonly pool: MysqlPool,
  ) {}

  async open(sql: string, params: Cell[] = []): Promise<Cursor> {
    const c = new MysqlCursor(this.conn, sql, params, () => this.cancel());
    await c.start();
    return c;
  }

  all(sql: string, params: Cell[] = []) {
    return new Promise<{ columns: ColumnInfo[]; rows: Cell[][]; affected: number }>((resolve, reject) => {
      this.conn.query({ sql, values: bind(params), rowsAsArray: true, typeCast: typeCast as never }, (err, result, fields) => {
        if (err) return reject(dbError(err));
        if (!Array.isArray(result)) return resolve({ columns: [], rows: [], affected: Number((result as { affectedRows?: number }).affectedRows ?? 0) });
        const fs = (fields ?? []) as unknown as Field[];
        const conv = fs.map(converter);
        resolve({
          columns: fs.map(columnInfo),
          rows: (result as unknown[][]).map((r) => r.map((v, i) => (v === null ? NULL : conv[i](v as string | Buffer)))),
          affected: 0,
        });
      });
    });
  }

  async begin(readOnly: boolean) {
    if (readOnly) {
      // Also the session's default, so a statement after an implicit commit stays read-only.
      await this.all("SET SESSION TRANSACTION READ ONLY");
      await this.all("START TRANSACTION READ ONLY");
    } else await this.all("START TRANSACTION");
  }
  async commit() {
    await this.all("COMMIT");
  }
  async rollback() {
    await this.all("ROLLBACK");
  }

  async cancel(): Promise<void> {
    await this.pool.kill(this.conn.threadId);
  }

  release(broken = false) {
    if (broken) this.conn.destroy();
    else {
      // A read-only request left the session read-only; the next one starts clean.
      this.conn.query("SET SESSION TRANSACTION READ WRITE", (err) => (err ? this.conn.destroy() : this.conn.release()));
    }
  }
}

class MysqlPool implements EnginePool {
  private readonly pool: mysql.Pool;
  constructor(
    private readonly target: Target,
    private readonly limits: { max: number; idleMs: number },
  ) {
    this.pool = mysql.createPool({ ...this.options(), connectionLimit: limits.max, maxIdle: 0, idleTimeout: limits.idleMs, enableKeepAlive: true });
    this.pool.on("connection", (c) => c.on("error", () => undefined));
  }

  private options(): mysql.ConnectionOptions {
    const t = this.target;
    const ssl =
      t.sslMode === "disable" || t.sslMode === "prefer"
        ? undefined
        : t.sslMode === "require"
          ? { rejectUnauthorized: false, servername: t.serverName }
          : t.sslMode === "verify-ca"
            ? { rejectUnauthorized: true, servername: t.serverName, checkServerIdentity: () => undefined }
            : { rejectUnauthorized: true, servername: t.serverName };
    return {
      host: t.host,
      port: t.port || 3306,
      database: t.database || undefined,
      user: t.username || undefined,
      password: t.password,
      ssl,
      connectTimeout: t.connectTimeoutMs,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
      charset: "utf8mb4_general_ci",
      timezone: "Z",
    };
  }

  acquire(): Promise<Session> {
    return new Promise((resolve, reject) => {
      this.pool.getConnection((err, conn) => (err ? reject(dbError(err)) : resolve(new MysqlSession(conn, this))));
    });
  }

  stats() {
    const p = this.pool as unknown as { _allConnections: { length: number }; _freeConnections: { length: number }; _connectionQueue: { length: number } };
    return { total: p._allConnections.length, idle: p._freeConnections.length, waiting: p._connectionQueue.length, max: this.limits.max };
  }

  async version(): Promise<string> {
    const s = await this.acquire();
    try {
      const r = await s.all("SELECT VERSION()");
      const k = r.rows[0][0].kind;
      return k?.case === "textValue" ? k.value : "";
    } finally {
      s.release();
    }
  }

  /** KILL QUERY from a fresh connection (the pool may be full). */
  async kill(threadId: number): Promise<void> {
    const c = mysql.createConnection(this.options());
    c.on("error", () => undefined);
    await new Promise<void>((resolve) => c.query(`KILL QUERY ${Number(threadId)}`, () => resolve()));
    c.destroy();
  }

  async end(): Promise<void> {
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }
}

export const mysqlDriver: Driver = {
  engine: "mysql",
  dialect: mysqlDialect,
  pool: (target, limits) => new MysqlPool(target, limits),
};

import pg from "pg";
import PgCursor from "pg-cursor";
import { parse as parseArray } from "postgres-array";
import { postgresDialect } from "../dialect.js";
import { DatabaseError, NULL, VALUE, VALUE_LIST, type CellMessage, type Cell, type ColumnInfo, type Cursor, type Driver, type EnginePool, type Session, type Target } from "../driver.js";
import { cellParam } from "../values.js";
import { cellColumn, RAW_COLUMNS, type RawColumn } from "../wire.js";

/** Every value arrives as PostgreSQL's text; cells are made from it by type, so nothing is rounded. */
const RAW = { getTypeParser: () => (v: string) => v };

type Convert = (v: string) => Cell;
/** BigInt of a number is about twice as fast as of a string; beyond 2^53 the string keeps it exact. */
const int: Convert = (v) => {
  const n = +v;
  return { $typeName: VALUE, kind: { case: "intValue", value: BigInt(Number.isSafeInteger(n) ? n : v) } };
};
const float: Convert = (v) => ({ $typeName: VALUE, kind: { case: "floatValue", value: Number(v) } });
const text: Convert = (v) => ({ $typeName: VALUE, kind: { case: "textValue", value: v } });
const CONVERT: Record<number, Convert> = {
  16: (v) => ({ $typeName: VALUE, kind: { case: "boolValue", value: v === "t" } }),
  17: (v) => ({ $typeName: VALUE, kind: { case: "bytesValue", value: Buffer.from(v.slice(2), "hex") } }),
  20: int, 21: int, 23: int, 26: int,
  700: float, 701: float,
  1700: (v) => ({ $typeName: VALUE, kind: { case: "decimalValue", value: v } }),
  114: (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: v } }),
  3802: (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: v } }),
  1082: (v) => ({ $typeName: VALUE, kind: { case: "dateValue", value: v } }),
  1083: (v) => ({ $typeName: VALUE, kind: { case: "timeValue", value: v } }),
  1266: (v) => ({ $typeName: VALUE, kind: { case: "timeValue", value: v } }),
  1114: (v) => ({ $typeName: VALUE, kind: { case: "timestampValue", value: v } }),
  1184: (v) => ({ $typeName: VALUE, kind: { case: "timestampValue", value: v } }),
  1186: (v) => ({ $typeName: VALUE, kind: { case: "intervalValue", value: v } }),
};
/** The same types written straight from their text when the client speaks protobuf (wire.ts). */
const WRITERS: Record<number, RawColumn> = {
  16: RAW_COLUMNS.bool, 17: RAW_COLUMNS.byteaHex,
  20: RAW_COLUMNS.int, 21: RAW_COLUMNS.int, 23: RAW_COLUMNS.int, 26: RAW_COLUMNS.int,
  700: RAW_COLUMNS.float, 701: RAW_COLUMNS.float,
  1700: RAW_COLUMNS.decimal, 114: RAW_COLUMNS.json, 3802: RAW_COLUMNS.json,
  1082: RAW_COLUMNS.date, 1083: RAW_COLUMNS.time, 1266: RAW_COLUMNS.time,
  1114: RAW_COLUMNS.timestamp, 1184: RAW_COLUMNS.timestamp, 1186: RAW_COLUMNS.interval,
};

/** How a column of this type is written from its text: arrays through their Cell, the rest as text. */
export function rawColumn(oid: number): RawColumn {
  return WRITERS[oid] ?? (ARRAYS[oid] !== undefined ? cellColumn(converter(oid)) : RAW_COLUMNS.text);
}

/** Array type → element type. */
const ARRAYS: Record<number, number> = {
  1000: 16, 1001: 17, 1005: 21, 1007: 23, 1016: 20, 1028: 26, 1021: 700, 1022: 701, 1231: 1700, 199: 114, 3807: 3802,
  1182: 1082, 1183: 1083, 1270: 1266, 1115: 1114, 1185: 1184, 1187: 1186, 1009: 25, 1015: 1043, 1014: 1042, 2951: 2950,
};
/** Type names for the header when the catalog cannot be asked. */
const NAMES: Record<number, string> = {
  16: "boolean", 17: "bytea", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 26: "oid", 114: "json", 700: "real",
  701: "double precision", 1043: "character varying", 1042: "character", 1082: "date", 1083: "time without time zone",
  1114: "timestamp without time zone", 1184: "timestamp with time zone", 1186: "interval", 1700: "numeric", 2950: "uuid", 3802: "jsonb",
};

export function converter(oid: number): Convert {
  const direct = CONVERT[oid];
  if (direct) return direct;
  const element = ARRAYS[oid];
  if (element === undefined) return text;
  const each = converter(element);
  const build = (items: unknown[]): Cell => ({
    $typeName: VALUE,
    kind: { case: "arrayValue", value: { $typeName: VALUE_LIST, values: items.map((x) => (x === null ? NULL : Array.isArray(x) ? build(x) : each(x as string))) as CellMessage[] } },
  });
  return (v) => build(parseArray(v));
}

interface Field {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
  tableID: number;
  columnID: number;
}

/** 64-bit integers as text: pg would otherwise refuse a bigint it cannot serialize. */
function pgParam(c: Cell): unknown {
  const v = cellParam(c);
  return typeof v === "bigint" ? v.toString() : Array.isArray(v) ? v.map((x) => (typeof x === "bigint" ? x.toString() : x)) : v;
}

function sslOption(t: Target): pg.ClientConfig["ssl"] {
  switch (t.sslMode) {
    case "disable":
    case "prefer": // pg cannot fall back from TLS to plain; prefer means plain here (docs/engine.md)
      return false;
    case "require":
      return { rejectUnauthorized: false, servername: t.serverName };
    case "verify-ca":
      return { rejectUnauthorized: true, servername: t.serverName, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true, servername: t.serverName };
  }
}

function clientConfig(t: Target): pg.ClientConfig {
  return {
    host: t.host,
    port: t.port || 5432,
    database: t.database || undefined,
    user: t.username || undefined,
    password: t.password,
    ssl: sslOption(t),
    connectionTimeoutMillis: t.connectTimeoutMs,
    application_name: t.options.application_name ?? "sqlstudio",
    types: RAW,
    keepAlive: true,
  };
}

function dbError(err: unknown): Error {
  const e = err as { message?: string; code?: string; severity?: string };
  if (e && typeof e.code === "string" && e.severity) {
    // Class 28 (bad password, no such role) and 3D000 (no such database): the profile is wrong.
    const kind = e.code === "25006" ? "readonly" : e.code === "57014" ? "canceled" : e.code.startsWith("23") ? "constraint" : e.code.startsWith("28") || e.code === "3D000" ? "auth" : "sql";
    return new DatabaseError(e.message ?? "database error", e.code, kind);
  }
  if (e && typeof e.code === "string" && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH)$/.test(e.code)) {
    return new DatabaseError(`cannot reach the database: ${e.code}`, e.code, "connect");
  }
  if (err instanceof Error && /timeout|terminated|password|authentication|SSL|does not support/i.test(err.message)) {
    return new DatabaseError(err.message, "CONNECT", "connect");
  }
  return err instanceof Error ? err : new Error(String(err));
}

class PgCursorAdapter implements Cursor {
  /** Rows read but not yet handed out, as PostgreSQL's text (converted when handed out). */
  private buffered: unknown[][] = [];
  private done = false;
  columns: ColumnInfo[] = [];
  private converters: Convert[] = [];
  raw?: { columns: RawColumn[]; next: (n: number) => Promise<(string | null)[][]> };
  constructor(private readonly cursor: PgCursor) {}

  async start(describe: (fields: Field[]) => Promise<ColumnInfo[]>, first: number): Promise<void> {
    this.buffered = await this.read(first);
    const fields = ((this.cursor as unknown as { _result: { fields: Field[] } })._result.fields ?? []) as Field[];
    this.converters = fields.map((f) => converter(f.dataTypeID));
    this.columns = fields.length > 0 ? await describe(fields) : [];
    this.raw = { columns: fields.map((f) => rawColumn(f.dataTypeID)), next: (n) => this.nextText(n) };
  }

  private read(n: number): Promise<unknown[][]> {
    return this.cursor.read(n).then(
      (rows) => {
        if (rows.length < n) this.done = true;
        return rows as unknown[][];
      },
      (err: unknown) => {
        this.done = true;
        throw dbError(err);
      },
    );
  }

  private convert(rows: unknown[][]): Cell[][] {
    const conv = this.converters;
    return rows.map((r) => r.map((v, i) => (v === null ? NULL : conv[i](v as string))));
  }

  /** Up to `n` rows as text (NULL as null). */
  private async nextText(n: number): Promise<(string | null)[][]> {
    if (this.buffered.length > 0) return this.buffered.splice(0, n) as (string | null)[][];
    if (this.done) return [];
    return (await this.read(n)) as (string | null)[][];
  }

  async next(n: number): Promise<Cell[][]> {
    return this.convert(await this.nextText(n));
  }

  affected(): number {
    const r = (this.cursor as unknown as { _result: { rowCount: number | null; command: string } })._result;
    return r.command === "SELECT" ? 0 : (r.rowCount ?? 0);
  }

  command(): string {
    return (this.cursor as unknown as { _result: { command: string | null } })._result.command ?? "";
  }

  async close(): Promise<void> {
    await this.cursor.close().catch(() => undefined);
  }
}

class PgSession implements Session {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly pool: PgPool,
  ) {}

  async open(sql: string, params: Cell[] = []): Promise<Cursor> {
    const cursor = this.client.query(new PgCursor(sql, params.map(pgParam), { rowMode: "array", types: RAW } as never));
    const adapter = new PgCursorAdapter(cursor);
    await adapter.start((fields) => this.pool.describe(fields), 100);
    return adapter;
  }

  async all(sql: string, params: Cell[] = []) {
    try {
      // Always the extended protocol: one statement per call, never a script (the simple
      // protocol would run every statement of the text, past the splitter's checks).
      const config = { text: sql, values: params.map(pgParam), rowMode: "array", types: RAW, queryMode: "extended" } as pg.QueryArrayConfig;
      const r = await this.client.query(config);
      const fields = r.fields as unknown as Field[];
      const conv = fields.map((f) => converter(f.dataTypeID));
      return {
        columns: fields.map((f) => ({ name: f.name, databaseType: NAMES[f.dataTypeID] ?? String(f.dataTypeID), nullable: true })),
        rows: (r.rows as unknown[][]).map((row) => row.map((v, i) => (v === null ? NULL : conv[i](v as string)))),
        affected: r.command === "SELECT" ? 0 : (r.rowCount ?? 0),
      };
    } catch (err) {
      throw dbError(err);
    }
  }

  async begin(readOnly: boolean) {
    await this.all(readOnly ? "BEGIN TRANSACTION READ ONLY" : "BEGIN");
  }
  async commit() {
    await this.all("COMMIT");
  }
  async rollback() {
    await this.all("ROLLBACK");
  }

  async cancel(): Promise<void> {
    const pid = (this.client as unknown as { processID: number | null }).processID;
    if (pid) await this.pool.cancelBackend(pid);
  }

  release(broken = false) {
    this.client.release(broken || undefined);
  }
}

class PgPool implements EnginePool {
  private readonly pool: pg.Pool;
  private readonly types = new Map<string, ColumnInfo>();
  constructor(
    private readonly target: Target,
    private readonly limits: { max: number; idleMs: number },
  ) {
    this.pool = new pg.Pool({ ...clientConfig(target), max: limits.max, idleTimeoutMillis: limits.idleMs });
    // An idle connection the server dropped must not take the process down.
    this.pool.on("error", () => undefined);
  }

  async acquire(): Promise<Session> {
    try {
      return new PgSession(await this.pool.connect(), this);
    } catch (err) {
      throw dbError(err);
    }
  }

  stats() {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount, max: this.limits.max };
  }

  async version(): Promise<string> {
    try {
      const r = await this.pool.query({ text: "SELECT version()", rowMode: "array", types: RAW });
      return String((r.rows[0] as unknown[])[0]);
    } catch (err) {
      throw dbError(err);
    }
  }

  /**
   * Column type names and NOT NULL flags from the catalog, asked on another connection (the
   * session is busy streaming) and cached; the built-in names answer when that is slow.
   */
  async describe(fields: Field[]): Promise<ColumnInfo[]> {
    const key = (f: Field) => `${f.dataTypeID}:${f.dataTypeModifier}:${f.tableID}:${f.columnID}`;
    const missing = fields.filter((f) => !this.types.has(key(f)));
    if (missing.length > 0) {
      const lookup = this.pool
        .query({
          text: `SELECT format_type(f.typ, nullif(f.mod, -1)), coalesce(a.attnotnull, false)
                   FROM unnest($1::oid[], $2::int4[], $3::oid[], $4::int2[]) WITH ORDINALITY AS f(typ, mod, rel, att, ord)
                   LEFT JOIN pg_attribute a ON a.attrelid = f.rel AND a.attnum = f.att AND f.rel <> 0
                  ORDER BY f.ord`,
          values: [missing.map((f) => f.dataTypeID), missing.map((f) => f.dataTypeModifier), missing.map((f) => f.tableID), missing.map((f) => f.columnID)],
          rowMode: "array",
          types: RAW,
        })
        .then((r) => r.rows as string[][]);
      const timeout = new Promise<null>((resolve) => setTimeout(resolve, 2_000, null).unref());
      const rows = await Promise.race([lookup.catch(() => null), timeout]);
      if (rows) {
        missing.forEach((f, i) => {
          if (this.types.size > 5_000) this.types.clear();
          this.types.set(key(f), { name: "", databaseType: rows[i][0], nullable: rows[i][1] !== "t" });
        });
      }
    }
    return fields.map((f) => {
      const known = this.types.get(key(f));
      return { name: f.name, databaseType: known?.databaseType ?? NAMES[f.dataTypeID] ?? `oid ${f.dataTypeID}`, nullable: known?.nullable ?? true };
    });
  }

  /** Cancels a backend's running statement from a fresh connection (the pool may be full). */
  async cancelBackend(pid: number): Promise<void> {
    const c = new pg.Client(clientConfig(this.target));
    c.on("error", () => undefined);
    try {
      await c.connect();
      await c.query("SELECT pg_cancel_backend($1)", [pid]);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async end(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

export const postgresDriver: Driver = {
  engine: "postgresql",
  dialect: postgresDialect,
  pool: (target, limits) => new PgPool(target, limits),
};

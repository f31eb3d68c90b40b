import { invalidArgument, fail, R } from "../common/errors.js";
import { checkName, type Catalog } from "./catalog.js";
import { streamWithSession, withSession } from "./session.js";
import type { Budget } from "./budget.js";
import type { Connections } from "./connections.js";
import { STOP_GRACE_MS } from "./queries.js";
import { DatabaseError, type Cell, type ColumnInfo, type Session } from "./driver.js";
import type { TableDescription } from "./introspect/types.js";
import { deleteRow, insertRow, selectAll, selectByKey, selectPage, updateRow, type Built, type FilterSpec, type PageSpec, type SortSpec } from "./rows.js";
import type { Dialect } from "./dialect.js";
import type { ConnectionRow } from "./store.js";
import { cellJson, cellText } from "./values.js";

export interface TableRefSpec {
  connectionId: string;
  schema: string;
  table: string;
}

const MAX_EDITS = 1_000;

const readOnlyRefusal = () => fail(R.READ_ONLY, "the connection is read-only", { field: "table.connection_id" });

function columnsOf(t: TableDescription): ColumnInfo[] {
  return t.columns.map((c) => ({ name: c.name, databaseType: c.databaseType, nullable: c.nullable }));
}

/** What ExportRows asks for: which rows, in which format, how many at most (0: all). */
export interface ExportSpec {
  filters: FilterSpec[];
  sort: SortSpec[];
  format: "csv" | "ndjson" | undefined;
  maxRows: number;
  /** CSV's text for NULL (else an empty field). */
  csvNull?: string;
  chunkBytes?: number;
}

/** Row browsing and editing (TableService): one transaction per edit call, by primary key. */
export class Tables {
  constructor(
    private readonly connections: Connections,
    private readonly catalog: Catalog,
    /** Streams per user (ENGINE_MAX_STREAMS_PER_USER), shared with ExecuteQuery. */
    private readonly budget?: Pick<Budget, "stream">,
  ) {}

  private async on<T>(userId: string, ref: TableRefSpec, fn: (s: Session, t: TableDescription, row: ConnectionRow) => Promise<T>, edit = false): Promise<T> {
    checkName(ref.table, "table.table", true);
    const row = await this.connections.get(userId, ref.connectionId);
    if (edit && row.readOnly) throw readOnlyRefusal();
    return withSession(this.connections, userId, row, async (s) => fn(s, await this.catalog.describeOn(s, row.engine, ref.schema, ref.table), row));
  }

  async getRows(userId: string, ref: TableRefSpec, page: PageSpec) {
    if (page.pageSize < 0) throw invalidArgument("page_size", "must not be negative");
    const size = page.pageSize === 0 ? 100 : Math.min(page.pageSize, 5000);
    return this.on(userId, ref, async (s, t, conn) => {
      const q = selectPage(this.connections.dialectOf(conn.engine), t, { ...page, pageSize: size });
      const r = await s.all(q.sql, q.params);
      return { columns: columnsOf(t), rows: r.rows.slice(0, size), next: q.next(r.rows), primaryKey: t.primaryKey };
    });
  }

  /** One transaction: every statement applies or none does. */
  private async transaction<T>(s: Session, fn: () => Promise<T>): Promise<T> {
    await s.begin(false);
    try {
      const out = await fn();
      await s.commit();
      return out;
    } catch (err) {
      await s.rollback().catch(() => undefined);
      throw err;
    }
  }

  async insert(userId: string, ref: TableRefSpec, rows: Record<string, Cell>[]) {
    if (rows.length < 1 || rows.length > MAX_EDITS) throw invalidArgument("rows", `takes 1-${MAX_EDITS} rows`);
    return this.write(userId, ref, async (s, t, d) => {
      const out: Cell[][] = [];
      for (let i = 0; i < rows.length; i++) {
        const q = insertRow(d, t, rows[i], `rows.${i}.values`, true);
        const r = await s.all(q.sql, q.params);
        out.push(r.rows[0] ?? []);
      }
      return { columns: columnsOf(t), rows: out };
    });
  }

  /** An edit of a table, refused on a read-only connection, in one transaction. */
  private write<T>(userId: string, ref: TableRefSpec, fn: (s: Session, t: TableDescription, d: Dialect) => Promise<T>): Promise<T> {
    return this.on(userId, ref, (s, t, conn) => this.transaction(s, () => fn(s, t, this.connections.dialectOf(conn.engine))), true);
  }

  /** Zero rows matched: the key is gone (NotFound) or the old values changed (Aborted). */
  private async missed(s: Session, t: TableDescription, d: Dialect, key: [string, Cell][], at: { field: string; checked: boolean }): Promise<never> {
    const { field, checked } = at;
    const q = selectByKey(d, t, key);
    const exists = (await s.all(q.sql, q.params)).rows.length > 0;
    if (exists && checked) throw fail(R.ROW_CHANGED, `${field}: the row no longer has the expected values`, { field: `${field}.expected` });
    throw fail(R.ROW_NOT_FOUND, `${field}: no row has this key`, { field: `${field}.key` });
  }

  async update(userId: string, ref: TableRefSpec, updates: { key: Record<string, Cell>; set: Record<string, Cell>; expected: Record<string, Cell> }[]) {
    return this.edit(userId, ref, "updates", updates, updateRow);
  }

  async delete(userId: string, ref: TableRefSpec, deletes: { key: Record<string, Cell>; expected: Record<string, Cell> }[]) {
    return this.edit(userId, ref, "deletes", deletes, deleteRow);
  }

  /**
   * Updates or deletes by key, in one transaction: the rows affected in all. An edit that matches
   * no row fails the whole call (NotFound or Aborted, see `missed`).
   */
  private async edit<E extends { expected: Record<string, Cell> }>(
    userId: string,
    ref: TableRefSpec,
    field: "updates" | "deletes",
    edits: E[],
    build: (d: Dialect, t: TableDescription, edit: E, field: string) => Built & { key: [string, Cell][] },
  ): Promise<number> {
    if (edits.length < 1 || edits.length > MAX_EDITS) throw invalidArgument(field, `takes 1-${MAX_EDITS} ${field}`);
    return this.write(userId, ref, async (s, t, d) => {
      let total = 0;
      for (let i = 0; i < edits.length; i++) {
        const q = build(d, t, edits[i], `${field}.${i}`);
        const r = await s.all(q.sql, q.params);
        if (r.affected === 0) await this.missed(s, t, d, q.key, { field: `${field}.${i}`, checked: Object.keys(edits[i].expected).length > 0 });
        total += r.affected;
      }
      return total;
    });
  }

  /**
   * The rows as CSV or NDJSON, in chunks of about `chunkBytes`, read from a cursor as the client
   * reads. CSV writes NULL as `csvNull` (unquoted) when given, else as an empty field.
   */
  async *export(userId: string, ref: TableRefSpec, spec: ExportSpec, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const { filters, sort, format, maxRows, ...opts } = spec;
    const chunkBytes = opts.chunkBytes ?? 64 * 1024;
    if (!format) throw invalidArgument("format", "is required");
    if (maxRows < 0) throw invalidArgument("max_rows", "must not be negative");
    const nullText = opts.csvNull || undefined;
    if (nullText !== undefined && format !== "csv") throw invalidArgument("csv_null", "applies to CSV only (NDJSON writes null)");
    if (nullText !== undefined && csvField(nullText) !== nullText) {
      throw invalidArgument("csv_null", "must not need quoting (a comma, quote, line break or surrounding space): it could not be told from text");
    }
    checkName(ref.table, "table.table", true);
    const row = await this.connections.get(userId, ref.connectionId);
    let held: Session | undefined;
    let forced: NodeJS.Timeout | undefined;
    // A client gone: the statement is canceled, and its connection destroyed if the database does not obey.
    const onAbort = () => {
      const session = held!;
      void session.cancel().catch(() => undefined);
      forced = setTimeout(() => session.kill?.(new DatabaseError("export canceled", "CANCELED", "canceled")), STOP_GRACE_MS);
      forced.unref();
    };
    // The chunks, read in a read-only transaction.
    const chunks = async function* (this: Tables, session: Session): AsyncGenerator<Uint8Array> {
      // Described before the read-only transaction begins (as it always was): with the catalog
      // read inside it, the next write to a SQLite file failed with "database is locked".
      const t = await this.catalog.describeOn(session, row.engine, ref.schema, ref.table);
      const q = selectAll(this.connections.dialectOf(row.engine), t, filters, sort, maxRows);
      await session.begin(true);
      const cursor = await session.open(q.sql, q.params);
      const names = t.columns.map((c) => c.name);
      let buf: string[] = [];
      let size = 0;
      if (format === "csv") {
        const line = names.map(csvField).join(",") + "\r\n";
        buf.push(line);
        size += Buffer.byteLength(line, "utf8");
      }
      for (let rows = await cursor.next(500); rows.length > 0; rows = await cursor.next(500)) {
        for (const r of rows) {
          const line = format === "csv" ? r.map((c) => csvCell(c, nullText)).join(",") + "\r\n" : `{${r.map((c, i) => `${JSON.stringify(names[i])}:${cellJson(c)}`).join(",")}}\n`;
          buf.push(line);
          // Bytes, checked per row: a chunk is at most chunkBytes plus one row, however wide the rows.
          size += Buffer.byteLength(line, "utf8");
          if (size >= chunkBytes) {
            yield Buffer.from(buf.join(""), "utf8");
            buf = [];
            size = 0;
          }
        }
        if (signal.aborted) throw new DatabaseError("export canceled", "CANCELED", "canceled");
      }
      if (buf.length > 0) yield Buffer.from(buf.join(""), "utf8");
      await cursor.close();
      await session.rollback();
    };
    const slot = this.budget?.stream(userId);
    try {
      yield* streamWithSession(this.connections, userId, row, (session) => chunks.call(this, session), {
        acquired: (session) => {
          held = session;
          signal.addEventListener("abort", onAbort);
          if (signal.aborted) onAbort();
        },
      });
    } finally {
      clearTimeout(forced);
      signal.removeEventListener("abort", onAbort);
      slot?.();
    }
  }
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * NULL is `nullText` unquoted (a value equal to it is quoted), else an empty field; an empty
 * string is always "" so the two stay apart.
 */
function csvCell(c: Cell, nullText?: string): string {
  const t = cellText(c);
  if (t === null) return nullText ?? "";
  if (t === "") return '""';
  if (t === nullText) return `"${t}"`;
  return csvField(t);
}

import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ExecuteQueryResponseSchema } from "../../gen/sqlstudio/database/v1/query_pb.js";
import type { Runtime } from "../common/runtime.js";
import type { Logger } from "../observability/logger.js";
import { invalidArgument, fail, R } from "../common/errors.js";
import type { Sync } from "../sync/sync.js";
import type { CancelRelay } from "./cancel-relay.js";
import type { Connections } from "./connections.js";
import { EngineError, ROW, type Cell, type CellMessage, type Cursor, type Session } from "./driver.js";
import type { Budget } from "./budget.js";
import type { Plan } from "./dialect.js";
import { streamWithSession, withSession } from "./session.js";
import { refusal } from "./guard.js";
import { splitStatements, type Statement } from "./split.js";
import { RowEncoder, type RawValue } from "./wire.js";

type Event = MessageInitShape<typeof ExecuteQueryResponseSchema>;

export interface QuerySettings {
  defaultMaxRows: number;
  defaultTimeoutMs: number;
  batchRows: number;
  batchBytes: number;
  /** SQL longer than this (UTF-8 bytes) is refused before it is split. */
  maxSqlBytes: number;
}

export interface ExecuteRequest {
  connectionId: string;
  sql: string;
  maxRows: number;
  timeoutMs: number;
  readOnly: boolean;
  queryId: string;
  /** The client speaks protobuf (not JSON): row batches are encoded by wire.ts. */
  binary?: boolean;
}

const QUERY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_STATEMENTS = 1_000;
/** Estimated bytes of a batch for JSON clients (the JSON text is about 2-3 times that). */
const JSON_BATCH_BYTES = 24 * 1024;

/** Why a running query stopped early. */
type Stop = "canceled" | "deadline" | "client";

/**
 * After a stop, the database has this long to end the statement (cancel request, KILL QUERY,
 * interrupt) before its connection is destroyed: a stop ends the call within a second whatever
 * the database does.
 */
export const STOP_GRACE_MS = 300;

/** What the rest of the server hears from the engine (metrics). */
export interface QueryHooks {
  /** A statement ended: its engine, how, and the rows it streamed. */
  statement?: (engine: string, result: "ok" | "error" | "canceled" | "timeout", rows: number) => void;
  /** A database did not end a stopped statement in time: its connection was destroyed. */
  forcedStop?: (engine: string) => void;
  /** A limit ended a statement that no connection watcher counted (SQLite's cell cap). */
  limit?: (limit: string) => void;
}

interface Running {
  userId: string;
  stop(why: Stop): void;
}

/** A rough wire size of a row, to cut batches near `batchBytes`. */
/** The same for a row as the driver read it (NULL as null). */
function textRowBytes(row: (RawValue | null)[]): number {
  let n = 2;
  for (const v of row) n += v === null ? 2 : v.length + 3;
  return n;
}

export function rowBytes(row: Cell[]): number {
  let n = 2;
  for (const c of row) {
    const v = c.kind?.value;
    n += typeof v === "string" ? v.length + 3 : v instanceof Uint8Array ? v.length + 3 : 10;
  }
  return n;
}

export interface QueriesDeps {
  connections: Connections;
  settings: QuerySettings;
  /** Statements run are recorded in the user's synced history. */
  sync: Sync;
  runtime: Runtime;
  logger: Logger;
  hooks?: QueryHooks;
  /** Tells other instances which queries run here, so their CancelQuery reaches them. */
  relay?: Pick<CancelRelay, "started" | "ended" | "request">;
  /** Streams per user (ENGINE_MAX_STREAMS_PER_USER). */
  budget?: Pick<Budget, "stream">;
}

/** Runs SQL for users: statements in order, streamed with backpressure, cancellable in the database. */
export class Queries {
  private readonly running = new Map<string, Running>();

  private readonly connections: Connections;
  private readonly settings: QuerySettings;
  private readonly sync: Sync;
  private readonly runtime: Runtime;
  private readonly logger: Logger;
  private readonly hooks: QueryHooks;
  private readonly relay?: QueriesDeps["relay"];
  private readonly budget?: QueriesDeps["budget"];

  constructor(d: QueriesDeps) {
    ({ connections: this.connections, settings: this.settings, sync: this.sync, runtime: this.runtime, logger: this.logger, relay: this.relay, budget: this.budget } = d);
    this.hooks = d.hooks ?? {};
  }

  /** Stops a query running here (a cancel relayed from another instance). */
  stopLocal(userId: string, queryId: string): void {
    this.running.get(`${userId}\n${queryId}`)?.stop("canceled");
  }

  /** Statements of a script, each checked (read-only, SQLite confinement) before any runs. */
  private statements(sql: string, engine: Parameters<typeof splitStatements>[1], readOnly: boolean): Statement[] {
    if (Buffer.byteLength(sql) > this.settings.maxSqlBytes) {
      throw invalidArgument("sql", `is longer than ${this.settings.maxSqlBytes} bytes (ENGINE_MAX_SQL_BYTES)`, R.SQL_TOO_LARGE);
    }
    if (sql.trim() === "") throw invalidArgument("sql", "is required");
    const list = splitStatements(sql, engine);
    if (list.length === 0) throw invalidArgument("sql", "holds no statement");
    if (list.length > MAX_STATEMENTS) throw invalidArgument("sql", `at most ${MAX_STATEMENTS} statements per request`);
    list.forEach((s, i) => {
      const why = refusal(s, engine, readOnly);
      if (why) throw fail(readOnly ? R.READ_ONLY : R.STATEMENT_REFUSED, `sql: statement ${i + 1}: ${why}`, { field: "sql" });
    });
    return list;
  }

  async *execute(userId: string, req: ExecuteRequest, signal: AbortSignal): AsyncGenerator<Event> {
    if (req.maxRows < 0) throw invalidArgument("max_rows", "must not be negative");
    if (req.timeoutMs < 0) throw invalidArgument("timeout_ms", "must not be negative");
    if (req.queryId !== "" && !QUERY_ID.test(req.queryId)) throw invalidArgument("query_id", "must be 1-128 characters of A-Z a-z 0-9 _ . : -");
    const row = await this.connections.get(userId, req.connectionId);
    const readOnly = req.readOnly || row.readOnly;
    const statements = this.statements(req.sql, row.engine, readOnly);
    const maxRows = req.maxRows > 0 ? req.maxRows : this.settings.defaultMaxRows;
    const queryId = req.queryId || this.runtime.newId();
    const key = `${userId}\n${queryId}`;
    if (this.running.has(key)) throw fail(R.QUERY_RUNNING, "a query with this id is running");

    const slot = this.budget?.stream(userId);
    const started = this.runtime.now();
    let stopped: Stop | undefined;
    let session: Session | undefined;
    let forced: NodeJS.Timeout | undefined;
    const halt = (s: Session, why: Stop) => {
      // The cancel runs on (and is bounded by) its own connection; nobody waits for it: the
      // session is closed, not pooled, after a stop, so a late cancel cannot hit another statement.
      void s.cancel().catch((err: unknown) => this.logger.warn({ err, queryId }, "cancel in the database failed"));
      forced = setTimeout(() => {
        this.hooks.forcedStop?.(row.engine);
        s.kill?.(this.stopError(why));
      }, STOP_GRACE_MS);
      forced.unref();
    };
    const stop = (why: Stop) => {
      if (stopped) return;
      stopped = why;
      if (session) halt(session, why);
    };
    this.running.set(key, { userId, stop });
    this.relay?.started(userId, queryId);
    // The RPC deadline aborts the signal too: it stops the query like its own timeout does.
    const onAbort = () => stop(ConnectError.from(signal.reason).code === Code.DeadlineExceeded ? "deadline" : "client");
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
    const timeoutMs = req.timeoutMs > 0 ? req.timeoutMs : this.settings.defaultTimeoutMs;
    const timer = setTimeout(() => stop("deadline"), timeoutMs);

    let total = 0;
    let failure: string | undefined;
    const encoder = req.binary ? new RowEncoder() : undefined;
    // The statements in order on the session (in a read-only transaction when asked).
    const run = async function* (this: Queries, session: Session): AsyncGenerator<Event> {
      for (let index = 0; index < statements.length; index++) {
        const t0 = performance.now();
        let cursor: Cursor | undefined;
        try {
          cursor = await session.open(statements[index].sql, [], Math.max(1, timeoutMs - (this.runtime.now() - started)));
          yield { event: { case: "header", value: { queryId, statementIndex: index, columns: cursor.columns } } };
          let count = 0;
          let truncated = false;
          const c = cursor;
          const raw = encoder ? c.raw : undefined;
          // Binary clients get rows written straight from the driver's text when it offers them.
          const batches = raw
            ? this.batches(raw.next, maxRows, this.settings.batchBytes, textRowBytes, (rows) => encoder!.batchRaw(index, rows, raw.columns))
            : // JSON is several times the protobuf size: its batches are kept small enough for the
              // serialized text to stay out of V8's large-object space (freed only by a full GC).
              this.batches((n) => c.next(n), maxRows, encoder ? this.settings.batchBytes : Math.min(this.settings.batchBytes, JSON_BATCH_BYTES), rowBytes, (rows) =>
                encoder ? encoder.batch(index, rows) : { statementIndex: index, rows: rows.map((values) => ({ $typeName: ROW, values: values as CellMessage[] })) },
              );
          for await (const batch of batches) {
            if (stopped) throw this.stopError(stopped);
            count += batch.rows;
            yield { event: { case: "rows", value: batch.message } };
            if (stopped) throw this.stopError(stopped);
          }
          if (count >= maxRows && cursor.columns.length > 0) truncated = (await cursor.next(1)).length > 0;
          await cursor.close();
          const affected = cursor.affected();
          const command = cursor.command();
          total += count + affected;
          cursor = undefined;
          this.hooks.statement?.(row.engine, "ok", count);
          yield {
            event: {
              case: "footer",
              value: {
                statementIndex: index,
                rowCount: BigInt(count),
                affectedRows: BigInt(affected),
                duration: durationFromMs(Math.round(performance.now() - t0)),
                truncated,
                command,
              },
            },
          };
        } finally {
          // Left open (an error, or the client went away): the session is given back as broken.
          if (cursor) {
            // A stopped statement's connection is not kept: it is ended now, not drained.
            if (stopped && session.kill) session.kill(this.stopError(stopped));
            else await cursor.close().catch(() => undefined);
          }
        }
      }
    };
    try {
      // The id first, before a connection is even acquired: a client can cancel what it did not name.
      yield { event: { case: "started", value: { queryId, statementCount: statements.length } } };
      yield* streamWithSession(this.connections, userId, row, (s) => run.call(this, s), {
        readOnly,
        acquired: (s) => {
          session = s;
          if (stopped) throw this.stopError(stopped);
        },
        // A stopped statement's connection is closed, not pooled; any other is reset when it returns.
        reusable: () => !stopped,
      });
    } catch (err) {
      // The database's own timer may end the statement before ours fires (SQLite, see its open()).
      if (!stopped && this.runtime.now() - started >= timeoutMs) stopped = "deadline";
      if (row.engine === "sqlite" && err instanceof EngineError) this.hooks.limit?.(err.reason);
      const out = stopped ? this.stopError(stopped) : err;
      failure = out instanceof Error ? out.message : "failed";
      this.hooks.statement?.(row.engine, stopped === "deadline" ? "timeout" : stopped ? "canceled" : "error", 0);
      throw out;
    } finally {
      // A client that went away ends the generator without an error: the history says so.
      if (stopped && failure === undefined) failure = this.stopError(stopped).message;
      clearTimeout(timer);
      clearTimeout(forced);
      slot?.();
      signal.removeEventListener("abort", onAbort);
      this.running.delete(key);
      this.relay?.ended(userId, queryId);
      await this.sync
        .recordHistory(userId, {
          sql: req.sql,
          connectionId: row.id,
          executedAt: timestampFromMs(started),
          durationMs: BigInt(this.runtime.now() - started),
          rowCount: BigInt(total),
          success: failure === undefined,
          errorMessage: failure?.slice(0, 1000) ?? "",
        })
        .catch((err: unknown) => this.logger.warn({ err }, "query history not recorded"));
    }
  }

  /**
   * The cursor's rows in batches of about `batchRows` rows or `batchBytes`, at most `maxRows` in
   * all. One batch is read ahead, so the database produces the next while this one is encoded and
   * written; no more, so a client that stops reading stops the fetching. Rows are asked for by the
   * expected size of a batch: 100 first, then as many as the bytes seen so far say fit.
   */
  private async *batches<T, M>(
    next: (n: number) => Promise<T[][]>,
    maxRows: number,
    batchBytes: number,
    bytesOf: (row: T[]) => number,
    make: (rows: T[][]) => M,
  ): AsyncGenerator<{ rows: number; message: M }> {
    const { batchRows } = this.settings;
    let taken = 0;
    let seenRows = 0;
    let seenBytes = 0;
    const fill = async (): Promise<T[][]> => {
      const rows: T[][] = [];
      let bytes = 0;
      while (rows.length < batchRows && bytes < batchBytes && taken + rows.length < maxRows) {
        const room = Math.min(batchRows - rows.length, maxRows - taken - rows.length);
        const fit = seenRows > 0 ? Math.floor((batchBytes - bytes) / (seenBytes / seenRows)) : 100;
        const part = await next(Math.max(1, Math.min(room, fit)));
        if (part.length === 0) break;
        for (const r of part) {
          rows.push(r);
          const b = bytesOf(r);
          bytes += b;
          seenBytes += b;
        }
        seenRows += part.length;
      }
      return rows;
    };
    let pending = fill();
    try {
      for (;;) {
        const rows = await pending;
        if (rows.length === 0) return;
        taken += rows.length;
        pending = taken < maxRows ? fill() : Promise.resolve([]);
        // Its error (if any) is thrown where it is awaited, above or in finally.
        pending.catch(() => undefined);
        // Made (encoded) while the next batch is being fetched.
        yield { rows: rows.length, message: make(rows) };
      }
    } finally {
      // Never leave a fetch running on the cursor: the caller closes it next.
      await pending.catch(() => undefined);
    }
  }

  private stopError(why: Stop) {
    if (why === "deadline") return fail(R.QUERY_TIMEOUT, "the query ran out of time and was stopped in the database");
    return fail(R.QUERY_CANCELED, "the query was canceled and stopped in the database");
  }

  /**
   * Stops a running query of this user, here or (through the relay) on another instance;
   * NotFound when the user has none with that id (another user's id included).
   */
  async cancel(userId: string, queryId: string): Promise<void> {
    if (!QUERY_ID.test(queryId)) throw invalidArgument("query_id", "must be 1-128 characters of A-Z a-z 0-9 _ . : -");
    const r = this.running.get(`${userId}\n${queryId}`);
    if (r && r.userId === userId) {
      r.stop("canceled");
      return;
    }
    if (this.relay && (await this.relay.request(userId, queryId))) return;
    throw fail(R.QUERY_NOT_FOUND, "no running query of yours has this id");
  }

  /** The plan of one statement; ANALYZE runs inside a read-only transaction that is rolled back. */
  async explain(userId: string, connectionId: string, sql: string, analyze: boolean): Promise<Plan> {
    const row = await this.connections.get(userId, connectionId);
    const statements = this.statements(sql, row.engine, true);
    if (statements.length !== 1) throw invalidArgument("sql", "must be exactly one statement");
    const dialect = this.connections.dialectOf(row.engine);
    if (analyze && !dialect.explainAnalyze) throw invalidArgument("analyze", "SQLite has no EXPLAIN ANALYZE");
    const explain = dialect.explain(statements[0].sql, analyze);
    const r = await withSession(this.connections, userId, row, (s) => s.all(explain), { readOnly: true });
    return dialect.plan(r.rows);
  }
}



import type mysql from "mysql2";
import { EngineError, NULL, type Cell, type ColumnInfo, type Cursor } from "../../driver.js";
import { protocolViolation, resultTooLarge, type WireLimits } from "../../limits.js";
import type { RawColumn, RawValue } from "../../wire.js";
import type { Lifeline } from "../lifeline.js";
import { bind, columnInfo, converter, dbError, rawColumnOf, typeCast, type Convert, type Field } from "./types.js";
import { R } from "../../../common/reasons.js";

const CLOSE_TIMEOUT_MS = 2_000;

/** What a cursor needs from its connection. */
export interface CursorHost {
  lifeline: Lifeline;
  limits: WireLimits;
  /** The column names of the result being read (the wire watcher names a cell over the cap by them). */
  reading(names: string[] | undefined): void;
  /** KILL QUERY on a connection of its own (bounded). */
  cancel(): Promise<void>;
}

interface MysqlPacket {
  offset: number;
  peekByte(): number;
  readLengthCodedNumber(): number | null;
}
interface QueryCommand {
  next: unknown;
  execute(packet: MysqlPacket | undefined, connection: unknown): boolean;
  on(event: string, f: (...args: never[]) => void): void;
}

/**
 * Refuses, before mysql2 acts on it, a result header that asks for more columns than any server
 * has, and a LOAD DATA LOCAL INFILE request (the server asking this process for a file). A throw
 * here makes mysql2 fail the connection; the session's Lifeline fails the reads with this error.
 */
function guardHeader(q: QueryCommand, limits: WireLimits): void {
  const header = (Object.getPrototypeOf(q) as { resultsetHeader: unknown }).resultsetHeader;
  const execute = q.execute;
  q.execute = function (packet, connection) {
    if (packet && this.next === header) {
      const first = packet.peekByte();
      if (first === 0xfb) throw new EngineError("the server asked this process for a local file (LOAD DATA LOCAL INFILE): refused", R.LOCAL_INFILE_REFUSED);
      if (first !== 0x00 && first !== 0xff) {
        const at = packet.offset;
        const count = packet.readLengthCodedNumber() ?? 0;
        packet.offset = at;
        if (count > limits.maxColumns) throw protocolViolation(`a result of ${count} columns`);
      }
    }
    return execute.call(this, packet, connection);
  };
}

/** A row's size as read (text or bytes), for the bytes held per read. */
function rowSize(row: (RawValue | null)[]): number {
  let n = 2;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    n += v === null ? 1 : v.length + 1;
  }
  return n;
}

/**
 * Rows stream from the socket: while the reader has not asked for more (rows, or bytes past the
 * buffer cap), the connection is paused, so the server blocks on its send buffer instead of this
 * process buffering. "all" reads a small result whole, refused past ENGINE's all-rows/bytes caps.
 */
export class MysqlCursor implements Cursor {
  columns: ColumnInfo[] = [];
  private converters: Convert[] = [];
  private rows: (RawValue | null)[][] = [];
  private bytes = 0;
  raw?: { columns: RawColumn[]; next: (n: number) => Promise<(RawValue | null)[][]> };
  private want = 0;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private affectedRows = 0;
  private received = 0;
  private discarding = false;
  private readonly fieldsReady: Promise<void>;
  private readonly finished: Promise<void>;

  constructor(
    private readonly conn: mysql.Connection,
    sql: string,
    params: Cell[],
    private readonly host: CursorHost,
    private readonly mode: "stream" | "all",
  ) {
    let ready!: () => void;
    let finish!: () => void;
    this.fieldsReady = new Promise((r) => (ready = r));
    this.finished = new Promise((r) => (finish = r));
    const q = conn.query({ sql, values: bind(params), rowsAsArray: true, typeCast: typeCast as never }) as unknown as QueryCommand;
    guardHeader(q, host.limits);
    q.on("fields", (fields: Field[] | undefined) => {
      // A statement without a result set (CREATE, INSERT) has no fields.
      const list = fields ?? [];
      this.columns = list.map(columnInfo);
      this.converters = list.map(converter);
      this.raw = { columns: list.map(rawColumnOf), next: (n) => this.nextRaw(n) };
      host.reading(list.map((f) => f.name));
      ready();
    });
    q.on("result", (row: unknown) => {
      if (Array.isArray(row)) this.row(row as (RawValue | null)[]);
      else this.affectedRows += Number((row as { affectedRows?: number }).affectedRows ?? 0);
      this.poke();
    });
    q.on("error", (err: unknown) => {
      this.error = host.lifeline.dead ?? dbError(err);
      host.reading(undefined);
      ready();
      finish();
      this.poke();
    });
    q.on("end", () => {
      this.ended = true;
      host.reading(undefined);
      ready();
      finish();
      this.poke();
    });
  }

  private row(row: (RawValue | null)[]): void {
    if (this.discarding) return;
    this.rows.push(row);
    this.bytes += rowSize(row);
    const l = this.host.limits;
    if (this.mode === "all") {
      if (++this.received > l.allRows) this.host.lifeline.kill(resultTooLarge(`more than ${l.allRows} rows`, l.allRows));
      else if (this.bytes > l.allBytes) this.host.lifeline.kill(resultTooLarge(`more than ${l.allBytes} bytes`, l.allBytes));
    } else if (this.rows.length >= this.want || this.bytes >= l.bufferBytes) this.conn.pause();
  }

  private poke() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private wait(): Promise<void> {
    return this.host.lifeline.guard(new Promise<void>((r) => (this.wake = r)));
  }

  async start(): Promise<void> {
    this.want = 100;
    await this.host.lifeline.guard(Promise.race([this.fieldsReady, new Promise<void>((r) => (this.wake = r))]));
    if (this.error) throw this.error;
  }

  /** Up to `n` rows as read; the socket is resumed only while fewer (and less than the buffer cap) are held. */
  private async nextRaw(n: number): Promise<(RawValue | null)[][]> {
    this.want = n;

    while (this.rows.length < n && this.bytes < this.host.limits.bufferBytes && !this.ended && !this.error) {
      // resume() replays queued packets synchronously: the waiter must exist before it runs.
      const woke = this.wait();
      this.conn.resume();
      if (this.rows.length >= n || this.ended || this.error) {
        woke.catch(() => undefined);
        break;
      }
      await woke;
    }
    if (this.error) throw this.error;
    if (this.host.lifeline.dead) throw this.host.lifeline.dead;
    const out = this.rows.length <= n ? this.rows : this.rows.splice(0, n);
    if (out === this.rows) {
      this.rows = [];
      this.bytes = 0;
    } else for (const r of out) this.bytes -= rowSize(r);
    return out;
  }

  async next(n: number): Promise<Cell[][]> {
    return (await this.nextRaw(n)).map((r) => this.cells(r));
  }

  /** A row as read, as cells. */
  cells(r: (RawValue | null)[]): Cell[] {
    const conv = this.converters;
    return r.map((v, i) => (v === null ? NULL : conv[i](v as string | Buffer)));
  }

  /** Every row of an "all" cursor once the statement ended. */
  async all(): Promise<(RawValue | null)[][]> {
    await this.host.lifeline.guard(this.finished);
    if (this.error) throw this.error;
    return this.rows;
  }

  affected() {
    return this.affectedRows;
  }

  command() {
    return "";
  }

  async close(): Promise<void> {
    if (this.ended || this.error || this.host.lifeline.dead) return;
    // The rest of the result must be read off the socket before the connection is reusable:
    // the server is told to stop first, so a truncated million-row result is not read to its end.
    this.discarding = true;
    this.rows = [];
    this.bytes = 0;
    await this.host.lifeline.guard(this.host.cancel()).catch(() => undefined);
    this.conn.resume();
    await this.host.lifeline.within(this.finished, CLOSE_TIMEOUT_MS, () => protocolViolation("the statement did not end after KILL QUERY"));
  }
}


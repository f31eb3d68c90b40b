import { createRequire } from "node:module";
import { protocolViolation, resultTooLarge, type WireLimits } from "../../limits.js";
import type { RawValue } from "../../wire.js";
import type { Lifeline } from "../lifeline.js";
import { checkRow, rowStrings, rowValues } from "./datarow.js";

const require = createRequire(import.meta.url);
const { prepareValue } = require("pg/lib/utils.js") as { prepareValue: (v: unknown) => unknown };

/** The part of pg's Connection a portal writes to. */
interface PgConnection {
  parse(q: { text: string }, more?: boolean): void;
  bind(c: { portal: string; values: unknown[] }, more?: boolean): void;
  describe(m: { type: "P"; name: string }, more?: boolean): void;
  execute(m: { portal: string; rows: number }, more?: boolean): void;
  flush(): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

export interface PortalField {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
  tableID: number;
  columnID: number;
}

/** What a portal needs from its connection. */
export interface PortalHost {
  lifeline: Lifeline;
  limits: WireLimits;
  /** Stops / restarts reading the socket (backpressure). */
  pause(): void;
  resume(): void;
  /** A driver or server error as ours. */
  error(err: unknown): Error;
  /** The portal pg runs now (DataRows go to it, tap.ts), or none. */
  reading(portal: PgPortal | undefined): void;
}

type State = "opening" | "reading" | "suspended" | "complete" | "done" | "failed";

/**
 * One statement on PostgreSQL's extended protocol, read as the caller asks (it replaces
 * pg-cursor, which holds every row it receives until the server suspends the portal, so a server
 * that never does grows this process without bound). Each Execute asks for the rows the reader
 * wants; rows are handed out as they arrive; more rows than asked for is a protocol violation
 * that kills the connection; past `bufferBytes` of unread rows the socket is paused ("stream"),
 * or the result is refused as too large ("all": a small result read whole, in one round trip).
 *
 * Rows arrive as the bytes of their DataRow (tap.ts), not as pg's strings, and stay bytes until
 * they are read: as text for cells (`next`, `all`), as bytes for binary clients (`nextRaw`).
 */
export class PgPortal {
  fields: PortalField[] = [];
  tag = "";
  /** Unread rows: each a DataRow body in `bufs[i]` from `starts[i]`, of `sizes[i]` bytes (its message's length). */
  private bufs: Buffer[] = [];
  private starts: number[] = [];
  private sizes: number[] = [];
  private bytes = 0;
  private got = 0;
  private state: State = "opening";
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private connection!: PgConnection;
  private paused = false;
  private synced = false;
  private discarding = false;
  private finish!: () => void;
  private readonly finished = new Promise<void>((r) => (this.finish = r));

  constructor(
    private readonly text: string,
    private readonly values: unknown[],
    private readonly host: PortalHost,
    private readonly mode: "stream" | "all",
    /** Rows asked for by the current Execute. */
    private asked: number,
  ) {}

  // ---------------------------------------------------------------- pg's Submittable interface

  submit(connection: PgConnection): void {
    this.connection = connection;
    this.host.reading(this);
    connection.parse({ text: this.text }, true);
    connection.bind({ portal: "", values: this.values.map(prepareValue) }, true);
    connection.describe({ type: "P", name: "" }, true);
    connection.execute({ portal: "", rows: this.asked }, true);
    if (this.mode === "all") this.sync();
    else connection.flush();
  }

  handleRowDescription(msg: { fields: PortalField[] }): void {
    if (msg.fields.length > this.host.limits.maxColumns) return this.host.lifeline.kill(protocolViolation(`a result of ${msg.fields.length} columns`));
    this.fields = msg.fields;
    if (this.state === "opening") this.state = "reading";
    this.poke();
  }

  /** A DataRow: its body is `buf` from `start` to `end` (tap.ts; pg's parser never sees it). */
  handleRow(buf: Buffer, start: number, end: number): void {
    if (this.host.lifeline.dead) return;
    if (++this.got > this.asked) return this.host.lifeline.kill(protocolViolation(`more rows than the ${this.asked} asked for`));
    const bad = checkRow(buf, start, end, this.fields.length);
    if (bad) return this.host.lifeline.kill(protocolViolation(bad));
    if (this.discarding) return;
    if (this.state === "opening") this.state = "reading";
    // Counted as pg counted a row: its message's length (the body and the length field).
    const size = end - start + 4;
    this.bufs.push(buf);
    this.starts.push(start);
    this.sizes.push(size);
    this.bytes += size;
    if (this.mode === "all") {
      const l = this.host.limits;
      if (this.got > l.allRows) return this.host.lifeline.kill(resultTooLarge(`more than ${l.allRows} rows`, l.allRows));
      if (this.bytes > l.allBytes) return this.host.lifeline.kill(resultTooLarge(`more than ${l.allBytes} bytes`, l.allBytes));
    } else if (this.bytes >= this.host.limits.bufferBytes && !this.paused) {
      this.paused = true;
      this.host.pause();
    }
    this.poke();
  }

  handlePortalSuspended(): void {
    this.state = "suspended";
    if (this.discarding) this.sync();
    this.poke();
  }

  handleCommandComplete(msg: { text: string }): void {
    this.tag = msg.text;
    this.state = "complete";
    this.sync();
    this.poke();
  }

  handleEmptyQuery(): void {
    this.state = "complete";
    this.sync();
    this.poke();
  }

  handleReadyForQuery(): void {
    this.host.reading(undefined);
    if (this.state !== "failed") this.state = "done";
    this.end();
  }

  handleError(err: unknown): void {
    if (this.state === "done" || this.state === "failed") return;
    // After an ErrorResponse the server skips to the Sync it is owed.
    this.sync();
    // A connection this process killed ends with pg's "terminated unexpectedly": the kill's reason
    // is the one to tell.
    this.failure = this.host.lifeline.dead ?? this.host.error(err);
    this.state = "failed";
    this.end();
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail("COPY FROM STDIN is not supported here");
  }

  handleCopyData(): void {
    // COPY TO STDOUT: not read (its messages are capped by PgFrames).
  }

  // ---------------------------------------------------------------- reading

  /** Resolves once the columns are known (or the statement ended without rows); rejects on its error. */
  async opened(): Promise<void> {
    while (this.state === "opening") await this.wait();
    if (this.failure) throw this.failure;
  }

  /** Up to `n` rows as text (an empty array at the end); a new Execute asks the server for `n` more when needed. */
  next(n: number): Promise<(string | null)[][]> {
    return this.read(n, rowStrings);
  }

  /** The same as bytes (views of the rows as they arrived; datarow.ts). */
  nextRaw(n: number): Promise<(RawValue | null)[][]> {
    return this.read(n, rowValues);
  }

  private async read<T>(n: number, decode: (buf: Buffer, start: number, count: number) => T): Promise<T[]> {
    for (;;) {
      if (this.failure) throw this.failure;
      const have = this.bufs.length;
      if (have >= n || (have > 0 && (this.state !== "reading" || this.paused))) return this.take(n, decode);
      if (this.state === "suspended") {
        this.asked = n;
        this.got = 0;
        this.state = "reading";
        this.connection.execute({ portal: "", rows: n }, true);
        this.connection.flush();
        continue;
      }
      if (this.state === "complete" || this.state === "done") return [];
      await this.wait();
    }
  }

  /** Every row of an "all" portal, once the statement ended. */
  async all(): Promise<(string | null)[][]> {
    while (this.state !== "done" && this.state !== "failed") await this.wait();
    if (this.failure) throw this.failure;
    return this.take(this.bufs.length, rowStrings);
  }

  /** Stops reading: unread rows are dropped, the server is synced; resolves when it is ready again. */
  async close(timeoutMs: number): Promise<void> {
    if (this.state === "done" || this.state === "failed") return;
    this.discarding = true;
    this.bufs = [];
    this.starts = [];
    this.sizes = [];
    this.bytes = 0;
    this.resume();
    if (this.state !== "reading" && this.state !== "opening") this.sync();
    await this.host.lifeline.within(this.finished, timeoutMs, () => protocolViolation("the statement did not end after it was closed"));
    if (this.failure && !this.discarding) throw this.failure;
  }

  /** "SELECT 3", "INSERT 0 5": the command word and the row count. */
  command(): string {
    return /^[A-Za-z]+/.exec(this.tag)?.[0] ?? "";
  }

  rowCount(): number {
    const m = /^[A-Za-z]+(?: (\d+))?(?: (\d+))?/.exec(this.tag);
    return m ? Number(m[2] ?? m[1] ?? 0) : 0;
  }

  private take<T>(n: number, decode: (buf: Buffer, start: number, count: number) => T): T[] {
    let bufs = this.bufs;
    let starts = this.starts;
    if (bufs.length <= n) {
      this.bufs = [];
      this.starts = [];
      this.sizes = [];
      this.bytes = 0;
    } else {
      bufs = bufs.splice(0, n);
      starts = starts.splice(0, n);
      for (const s of this.sizes.splice(0, n)) this.bytes -= s;
    }
    const count = this.fields.length;
    const out = new Array<T>(bufs.length);
    for (let i = 0; i < bufs.length; i++) out[i] = decode(bufs[i], starts[i], count);
    if (this.paused && this.bytes < this.host.limits.bufferBytes / 2) this.resume();
    return out;
  }

  private sync(): void {
    if (this.synced) return;
    this.synced = true;
    this.connection.sync();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.host.resume();
  }

  private end(): void {
    this.resume();
    this.finish();
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  private wait(): Promise<void> {
    return this.host.lifeline.guard(new Promise<void>((r) => (this.wake = r)));
  }
}

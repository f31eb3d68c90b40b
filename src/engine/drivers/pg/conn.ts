import { isIP } from "node:net";
import type tls from "node:tls";
import pg from "pg";
import { DatabaseError, EngineError, NULL, type Cell, type ColumnInfo, type Cursor, type Session, type Target } from "../../driver.js";
import { protocolViolation, type WireLimits } from "../../limits.js";
import { cellParam } from "../../values.js";
import type { RawColumn, RawValue } from "../../wire.js";
import type { PooledConn } from "../../conn-pool.js";
import { Lifeline } from "../lifeline.js";
import { tlsChecks, verifiedTls } from "../tls.js";
import { guardPassword } from "./auth.js";
import { sendCancel } from "./cancel.js";
import { PgFrames } from "./frames.js";
import { PgPortal, type PortalField, type PortalHost } from "./portal.js";
import { tapRows, type TappableConnection } from "./tap.js";
import { converter, rawColumn, TYPE_NAMES, type Convert } from "./types.js";
import { R } from "../../../common/reasons.js";

/** Rows the first Execute of a statement asks for (the reader's first batch). */
const FIRST_ROWS = 100;
const CLOSE_TIMEOUT_MS = 2_000;

/** TLS verification failures, as Node names them. */
const TLS_VERIFY = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/;

export function sslOption(t: Target): tls.ConnectionOptions | false {
  const checks = tlsChecks(t.sslMode);
  if (!checks) return false;
  // SNI and the identity check use the profile's host name; an address is checked as itself (no SNI).
  const name = isIP(t.serverName) === 0 ? { servername: t.serverName } : { host: t.serverName };
  if (!checks.chain) return { rejectUnauthorized: false, ...name };
  return checks.identity ? { rejectUnauthorized: true, ...name } : { rejectUnauthorized: true, ...name, checkServerIdentity: () => undefined };
}

export function dbError(err: unknown): Error {
  if (err instanceof EngineError || err instanceof DatabaseError) return err;
  const e = err as { message?: string; code?: string; severity?: string };
  if (e && typeof e.code === "string" && e.severity) {
    // Class 28 (bad password, no such role) and 3D000 (no such database): the profile is wrong.
    // Class 08 (connection exception), 53300 (too many connections) and 57P01-57P03 (shut
    // down, crashed, starting up or in recovery): the server cannot serve now; try again later.
    const kind =
      e.code === "25006"
        ? "readonly"
        : e.code === "57014"
          ? "canceled"
          : e.code.startsWith("23")
            ? "constraint"
            : e.code.startsWith("28") || e.code === "3D000"
              ? "auth"
              : e.code.startsWith("08") || e.code === "53300" || /^57P0[123]$/.test(e.code)
                ? "connect"
                : "sql";
    return new DatabaseError(e.message ?? "database error", e.code, kind);
  }
  if (e && typeof e.code === "string" && TLS_VERIFY.test(e.code)) {
    return new EngineError(`the server's TLS certificate was not verified (${e.code}): ${e.message ?? ""}`, R.TLS_VERIFY_FAILED, { field: "ssl_mode" });
  }
  if (e && typeof e.code === "string" && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|EPIPE)$/.test(e.code)) {
    return new DatabaseError(`cannot reach the database: ${e.code}`, e.code, "connect");
  }
  if (err instanceof Error && /timeout|terminated|password|authentication|SSL|SASL|does not support|unexpected/i.test(err.message)) {
    return new DatabaseError(err.message, "CONNECT", "connect");
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** 64-bit integers as text: pg would otherwise refuse a bigint it cannot serialize. */
function pgParam(c: Cell): unknown {
  const v = cellParam(c);
  return typeof v === "bigint" ? v.toString() : Array.isArray(v) ? v.map((x) => (typeof x === "bigint" ? x.toString() : x)) : v;
}

/** What a connection needs from its pool. */
export interface PgConnOwner {
  limits: WireLimits;
  /** Hears every kill of a connection (the pool counts limits). */
  observe(reason: Error): void;
  describe(fields: PortalField[]): Promise<ColumnInfo[]>;
  release(conn: PgConn, broken: boolean): void;
}

/**
 * One PostgreSQL connection: a pg Client whose bytes are watched (PgFrames), whose password rules
 * are ours (auth.ts), whose statements are read through PgPortal, and which a Lifeline can end at
 * any moment. It is the Session of whoever holds it.
 */
export class PgConn implements Session, PooledConn {
  readonly lifeline: Lifeline;
  private readonly client: pg.Client;
  private readonly host: PortalHost;
  /** The portal reading now (its columns name a cell over the cap). */
  private current: PgPortal | undefined;
  /** The portal pg runs (from its submit to its ReadyForQuery): the one DataRows belong to. */
  private reading: PgPortal | undefined;
  /** Tells the caps this connection no longer counts (once; when it is closed or lost). */
  private readonly closed: () => void;

  private constructor(
    private readonly target: Target,
    private readonly owner: PgConnOwner,
    config: pg.ClientConfig,
    onClosed: () => void,
  ) {
    this.lifeline = new Lifeline((reason) => owner.observe(reason));
    this.client = new pg.Client(config);
    // pg's Connection and its socket are not public API: the frames of the socket are watched
    // (PgFrames), its DataRows taken before pg's parser makes strings of them (tap.ts), and the
    // socket ended by us. test/unit/engine/pg-internals.test.ts fails when pg stops having them.
    const connection = (this.client as unknown as { connection: TappableConnection & { stream: import("node:net").Socket; once(e: string, f: () => void): void } }).connection;
    tapRows(connection, (buf, start, end) => {
      if (this.reading) this.reading.handleRow(buf, start, end);
      else this.lifeline.kill(protocolViolation("a row outside a statement"));
    });
    guardPassword(this.client, verifiedTls(target.sslMode));
    const frames = new PgFrames(owner.limits, (i) => this.current?.fields[i]?.name, (err) => this.lifeline.kill(err));
    const watch = (s: import("node:net").Socket) => s.prependListener("data", (d: Buffer) => frames.feed(d));
    // With TLS the messages are read from the TLS socket pg makes after the handshake.
    if (config.ssl) connection.once("sslconnect", () => watch(connection.stream));
    else watch(connection.stream);
    this.closed = onClosed;
    this.lifeline.bind(() => {
      connection.stream.destroy();
      onClosed();
    });
    connection.stream.once("close", () => this.lifeline.kill(new EngineError("the database closed the connection", R.CONNECTION_CLOSED)));
    // An idle connection the server dropped must not take the process down.
    this.client.on("error", (err) => this.lifeline.kill(dbError(err)));
    this.host = {
      lifeline: this.lifeline,
      limits: owner.limits,
      pause: () => connection.stream.pause(),
      resume: () => connection.stream.resume(),
      error: dbError,
      reading: (p) => (this.reading = p),
    };
  }

  /** Opens a connection (the caller has admitted it against the caps; `onClosed` runs once its socket is gone). */
  static async open(target: Target, owner: PgConnOwner, onClosed: () => void): Promise<PgConn> {
    const ssl = sslOption(target);
    const conn = new PgConn(target, owner, {
      host: target.host,
      port: target.port || 5432,
      database: target.database || undefined,
      user: target.username || undefined,
      password: target.password,
      ssl: ssl || false,
      connectionTimeoutMillis: target.connectTimeoutMs,
      application_name: target.options.application_name ?? "sqlstudio",
      keepAlive: true,
    }, onClosed);
    try {
      await conn.lifeline.guard(conn.client.connect());
    } catch (err) {
      conn.lifeline.kill(err instanceof Error ? err : new Error(String(err)));
      throw dbError(err);
    }
    return conn;
  }

  get alive(): boolean {
    return this.lifeline.dead === undefined;
  }

  private portal(sql: string, params: Cell[], mode: "stream" | "all"): PgPortal {
    const p = new PgPortal(sql, params.map(pgParam), this.host, mode, mode === "all" ? this.owner.limits.allRows + 1 : FIRST_ROWS);
    this.current = p;
    void this.client.query(p as never);
    return p;
  }

  async open(sql: string, params: Cell[] = []): Promise<Cursor> {
    const p = this.portal(sql, params, "stream");
    await p.opened();
    const cursor = new PgCursor(p);
    cursor.columns = p.fields.length > 0 ? await this.owner.describe(p.fields) : [];
    return cursor;
  }

  async all(sql: string, params: Cell[] = []) {
    const p = this.portal(sql, params, "all");
    const rows = await p.all();
    const conv = p.fields.map((f) => converter(f.dataTypeID));
    return {
      columns: p.fields.map((f) => ({ name: f.name, databaseType: TYPE_NAMES[f.dataTypeID] ?? String(f.dataTypeID), nullable: true })),
      // Every row has as many values as columns (PgPortal ends the connection otherwise).
      rows: rows.map((row) => row.map((v, i) => (v === null ? NULL : conv[i](v)))),
      affected: p.command() === "SELECT" ? 0 : p.rowCount(),
    };
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

  /** A cancel request on a connection of its own, bounded by ENGINE's cancel timeout. */
  async cancel(): Promise<void> {
    const c = this.client as unknown as { processID: number | null; secretKey: number | null };
    if (!c.processID || c.secretKey === null || c.secretKey === undefined) return;
    await sendCancel({ host: this.target.host, port: this.target.port || 5432, tls: sslOption(this.target) }, { pid: c.processID, secret: c.secretKey }, this.owner.limits.cancelTimeoutMs);
  }

  kill(reason: Error): void {
    this.lifeline.kill(reason);
  }

  release(broken = false): void {
    this.owner.release(this, broken);
  }

  /** What the last request left (a transaction, settings, temp tables, advisory locks, prepared statements) is cleared. */
  async reset(): Promise<void> {
    const work = (async () => {
      if (this.client.getTransactionStatus() !== "I") await this.all("ROLLBACK");
      await this.all("DISCARD ALL");
    })();
    await this.lifeline.within(work, this.owner.limits.resetTimeoutMs, () => protocolViolation("the connection reset did not finish"));
  }

  close(): void {
    if (!this.alive) return;
    this.closed();
    const stream = (this.client as unknown as { connection: { stream: import("node:net").Socket } }).connection.stream;
    const timer = setTimeout(() => this.lifeline.kill(new EngineError("closed", R.CONNECTION_CLOSED)), 1_000);
    timer.unref();
    stream.once("close", () => clearTimeout(timer));
    void this.client.end().catch(() => undefined);
  }

  destroy(reason: Error): void {
    this.lifeline.kill(reason);
  }
}

/** A statement's rows as the Cursor interface reads them. */
class PgCursor implements Cursor {
  columns: ColumnInfo[] = [];
  private readonly converters: Convert[];
  readonly raw: { columns: RawColumn[]; next: (n: number) => Promise<(RawValue | null)[][]> };

  constructor(private readonly portal: PgPortal) {
    this.converters = portal.fields.map((f) => converter(f.dataTypeID));
    this.raw = { columns: portal.fields.map((f) => rawColumn(f.dataTypeID)), next: (n) => this.portal.nextRaw(n) };
  }

  async next(n: number): Promise<Cell[][]> {
    const conv = this.converters;
    return (await this.portal.next(n)).map((r) => r.map((v, i) => (v === null ? NULL : conv[i](v))));
  }

  affected(): number {
    return this.portal.command() === "SELECT" ? 0 : this.portal.rowCount();
  }

  command(): string {
    return this.portal.command();
  }

  async close(): Promise<void> {
    await this.portal.close(CLOSE_TIMEOUT_MS);
  }
}

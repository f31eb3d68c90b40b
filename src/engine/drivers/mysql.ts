import net from "node:net";
import mysql from "mysql2";
import { mysqlDialect } from "../dialect.js";
import { EngineError, type Cell, type ColumnInfo, type Cursor, type Driver, type Session, type Target } from "../driver.js";
import { protocolViolation } from "../limits.js";
import type { PooledConn } from "../conn-pool.js";
import { Lifeline } from "./lifeline.js";
import { tlsChecks, verifiedTls } from "./tls.js";
import { authPlugins, RSA_PIN_OPTION } from "./mysql/auth.js";
import { MysqlCursor, type CursorHost } from "./mysql/cursor.js";
import { MysqlFrames } from "./mysql/frames.js";
import { MysqlPool, type MysqlOwner } from "./mysql/pool.js";
import { dbError, type Field } from "./mysql/types.js";
import { R } from "../../common/reasons.js";

function options(t: Target, stream: net.Socket): mysql.ConnectionOptions {
  const checks = tlsChecks(t.sslMode);
  const ssl = !checks ? undefined : checks.chain ? { rejectUnauthorized: true, verifyIdentity: checks.identity } : { rejectUnauthorized: false };
  return {
    // The socket is ours, to the address the network policy checked; `host` only names the server
    // for TLS (SNI and verify-full's identity check).
    stream,
    host: t.serverName,
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
    flags: ["-LOCAL_FILES"],
    authPlugins: authPlugins({ verifiedTls: verifiedTls(t.sslMode), rsaPin: t.options[RSA_PIN_OPTION] }) as never,
  };
}

/**
 * One MySQL/MariaDB connection: a mysql2 Connection on a socket of ours whose bytes are watched
 * (MysqlFrames), whose auth plugins are ours (auth.ts), and which a Lifeline can end at any moment
 * (mysql2 can drop a connection without failing the query on it). The Session of whoever holds it.
 */
class MysqlSession implements Session, PooledConn {
  readonly lifeline: Lifeline;
  private readonly host: CursorHost;
  /** The column names of the result being read. */
  private names: string[] | undefined;
  /** Tells the caps this connection no longer counts (once). */
  private readonly closed: () => void;

  private constructor(
    private readonly conn: mysql.Connection,
    private readonly owner: MysqlOwner,
    target: Target,
    socket: net.Socket,
    onClosed: () => void,
  ) {
    this.lifeline = new Lifeline((reason) => owner.observe(reason));
    this.closed = onClosed;
    this.lifeline.bind(() => {
      (conn as unknown as { stream: net.Socket }).stream.destroy();
      socket.destroy();
      onClosed();
    });
    socket.once("close", () => this.lifeline.kill(new EngineError("the database closed the connection", R.CONNECTION_CLOSED)));
    const verifying = verifiedTls(target.sslMode);
    conn.on("error", (err) => this.lifeline.kill(dbError(err, verifying)));
    this.host = { lifeline: this.lifeline, limits: owner.limits, reading: (names) => (this.names = names), cancel: () => this.cancel() };
  }

  /** Opens a connection (admitted by the caller; `onClosed` runs once it is closed or lost). */
  static async open(target: Target, owner: MysqlOwner, onClosed: () => void): Promise<MysqlSession> {
    const socket = net.connect(target.port || 3306, target.host);
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const conn = mysql.createConnection(options(target, socket));
    const session = new MysqlSession(conn, owner, target, socket, onClosed);
    const frames = new MysqlFrames(owner.limits, () => session.names, (err) => session.lifeline.kill(err));
    const watch = (s: net.Socket) => s.prependListener("data", (d: Buffer) => frames.feed(d));
    watch(socket);
    // After TLS starts the messages are read from mysql2's TLS socket.
    const c = conn as unknown as { startTLS(cb: unknown): void; stream: net.Socket };
    const startTLS = c.startTLS;
    c.startTLS = function (cb) {
      startTLS.call(this, cb);
      watch(this.stream);
    };
    const verifying = verifiedTls(target.sslMode);
    try {
      await session.lifeline.guard(new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve()))));
    } catch (err) {
      const out = dbError(err, verifying);
      session.lifeline.kill(out);
      throw out;
    }
    return session;
  }

  get alive(): boolean {
    return this.lifeline.dead === undefined;
  }

  async open(sql: string, params: Cell[] = []): Promise<Cursor> {
    const c = new MysqlCursor(this.conn, sql, params, this.host, "stream");
    await c.start();
    return c;
  }

  async all(sql: string, params: Cell[] = []): Promise<{ columns: ColumnInfo[]; rows: Cell[][]; affected: number }> {
    const c = new MysqlCursor(this.conn, sql, params, this.host, "all");
    await c.start();
    const raw = await c.all();
    const width = c.columns.length;
    return {
      columns: c.columns,
      rows: raw.map((r) => {
        if (r.length !== width) throw protocolViolation(`a row of ${r.length} values for ${width} columns`);
        return c.cells(r);
      }),
      affected: width === 0 ? c.affected() : 0,
    };
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

  /** KILL QUERY from a connection of its own, bounded by the cancel timeout. */
  async cancel(): Promise<void> {
    await this.owner.kill(this.conn.threadId);
  }

  kill(reason: Error): void {
    this.lifeline.kill(reason);
  }

  release(broken = false) {
    this.owner.release(this, broken);
  }

  /** COM_RESET_CONNECTION: the transaction, session variables (read-only mode included), user variables, temp tables, locks. */
  async reset(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.conn.reset((err: unknown) => (err ? reject(dbError(err)) : resolve())));
    await this.lifeline.within(done, this.owner.limits.resetTimeoutMs, () => protocolViolation("the connection reset did not finish"));
  }

  close(): void {
    if (!this.alive) return;
    this.closed();
    const timer = setTimeout(() => this.lifeline.kill(new EngineError("closed", R.CONNECTION_CLOSED)), 1_000);
    timer.unref();
    this.conn.end(() => {
      clearTimeout(timer);
      this.lifeline.kill(new EngineError("closed", R.CONNECTION_CLOSED));
    });
  }

  destroy(reason: Error): void {
    this.lifeline.kill(reason);
  }
}

export type { MysqlSession, Field };

export const mysqlDriver: Driver = {
  engine: "mysql",
  dialect: mysqlDialect,
  pool: (target, limits) => new MysqlPool(target, limits, (t, owner, onClosed) => MysqlSession.open(t, owner, onClosed)),
};

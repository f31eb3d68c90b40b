import type { Dialect } from "./dialect.js";
import type { Cell, EngineName, WireLimits } from "./types.js";
import type { RawColumn, RawValue } from "./wire.js";
import type { Value } from "../../gen/sqlstudio/database/v1/values_pb.js";
import { R } from "../common/reasons.js";

export type { Cell, EngineName };
export type SslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";

/** What drivers produce: a Value message. */
export type CellMessage = Value;
/**
 * Drivers make cells as messages (`$typeName` set), not init objects: protobuf-es then takes them
 * as they are instead of copying every cell of every row before encoding.
 */
export const VALUE = "sqlstudio.database.v1.Value" as const;
export const VALUE_LIST = "sqlstudio.database.v1.ValueList" as const;
export const ROW = "sqlstudio.database.v1.Row" as const;
export const NULL: Cell = { $typeName: VALUE, kind: { case: "nullValue", value: true } };

export interface ColumnInfo {
  name: string;
  databaseType: string;
  nullable: boolean;
}

/** Everything a driver needs to reach a database (the password already unsealed). */
export interface Target {
  engine: EngineName;
  /** Address to connect to (checked by the network policy); SQLite: the absolute file path, already confined. */
  host: string;
  /** The host name the profile names, for TLS verification when `host` is its checked address. */
  serverName: string;
  port: number;
  database: string;
  username: string;
  password: string;
  sslMode: SslMode;
  options: Record<string, string>;
  connectTimeoutMs: number;
}

/** A statement's rows, read on demand: the database is read only as fast as `next` is called. */
export interface Cursor {
  /** The columns; empty for a statement that returns no rows. Known once `open` resolved. */
  readonly columns: ColumnInfo[];
  /** Up to `n` more rows; an empty array at the end. */
  next(n: number): Promise<Cell[][]>;
  /**
   * The same rows as the driver's text, with a writer per column (wire.ts), for binary clients:
   * no Cell is made. Optional; `next` and `raw.next` read the same rows, use one of them.
   */
  raw?: { columns: RawColumn[]; next(n: number): Promise<(RawValue | null)[][]> };
  /** Rows affected (INSERT/UPDATE/DELETE), known once the rows are read. */
  affected(): number;
  /** The command tag, when the engine reports one. */
  command(): string;
  /** Stops reading (the rest of the result is discarded). */
  close(): Promise<void>;
}

/** One connection, held for the length of a request. */
export interface Session {
  /**
   * Runs one statement and opens its cursor. `timeoutMs`, when given, is the statement's own
   * deadline; a driver whose reads can hold the event loop (SQLite) has the database enforce it.
   */
  open(sql: string, params?: Cell[], timeoutMs?: number): Promise<Cursor>;
  /** Runs one statement and reads its whole (small) result. */
  all(sql: string, params?: Cell[]): Promise<{ columns: ColumnInfo[]; rows: Cell[][]; affected: number }>;
  /** Starts a transaction; read-only ones are enforced by the database. */
  begin(readOnly: boolean): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Stops the statement running on this session in the database itself (bounded by its own timeout). */
  cancel(): Promise<void>;
  /**
   * Ends the connection now, whatever the database does: its socket is destroyed and every pending
   * and later read of this session fails with `reason`. For a database that does not obey a cancel.
   * (SQLite runs in this process and always obeys an interrupt: it has none.)
   */
  kill?(reason: Error): void;
  /** Returns the connection to its pool (reset first); `broken` closes it instead. */
  release(broken?: boolean): void;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface EnginePool {
  acquire(): Promise<Session>;
  stats(): PoolStats;
  /** The server's version string (one round trip). */
  version(): Promise<string>;
  /** Closes up to `n` idle connections now (to make room under a cap); how many were closed. */
  closeIdle?(n: number): number;
  /** Closes the pool: idle connections now, busy ones killed (their reads fail). */
  end(): Promise<void>;
}

/** What a pool may open: `admit` is asked before each new connection (ResourceExhausted when over a cap). */
export interface PoolLimits {
  max: number;
  idleMs: number;
  /** Called before a connection is opened; returns its release (called once it is closed). */
  admit?: () => () => void;
  /** Caps on what one read may buffer (engine/limits.ts); defaults when absent. */
  wire?: WireLimits;
  /** Told when a connection is ended for a limit, a protocol violation or a refused credential exchange. */
  onLimit?: (reason: EngineReason) => void;
  /** The clock idle connections are timed by (the server's runtime); Date.now when absent. */
  now?: () => number;
}

export interface Driver {
  readonly engine: EngineName;
  readonly dialect: Dialect;
  pool(target: Target, limits: PoolLimits): EnginePool;
}

/** The driver of each engine (engines.ts has the built-in ones). */
export type Drivers = Record<EngineName, Driver>;

/** Error and notice text of a database is cut to this many characters before it goes anywhere. */
export const MAX_DATABASE_MESSAGE = 2_048;

/** A database's text, cut to MAX_DATABASE_MESSAGE characters (it reaches RPC errors and logs). */
export function cutMessage(text: string): string {
  return text.length <= MAX_DATABASE_MESSAGE ? text : `${text.slice(0, MAX_DATABASE_MESSAGE)}… (${text.length - MAX_DATABASE_MESSAGE} more characters cut)`;
}

/** An error the database answered (bad SQL, a constraint, read-only): the user's to see. */
export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /**
     * sql: the statement; auth: the profile's credentials or database; connect: the server cannot
     * be reached; denied: the database refused to compile it (SQLite's authorizer on this server).
     */
    readonly kind: "sql" | "readonly" | "canceled" | "connect" | "auth" | "constraint" | "denied" = "sql",
  ) {
    super(cutMessage(message));
    this.name = "DatabaseError";
  }
}

/** Why the engine stopped talking to a database, as the client is told (codes in common/reasons.ts). */
export type EngineReason =
  /** A cell or row over ENGINE_MAX_CELL_BYTES (ResourceExhausted, the column named). */
  | typeof R.CELL_TOO_LARGE
  /** A small result (a page, a catalog answer) over what one read may hold (ResourceExhausted). */
  | typeof R.RESULT_TOO_LARGE
  /** The server broke the protocol: more rows than asked, an oversized or malformed message (Unavailable). */
  | typeof R.DATABASE_PROTOCOL_VIOLATION
  /** The password would leave in a form that can be read or cracked (FailedPrecondition). */
  | typeof R.PASSWORD_NOT_SENT
  /** verify-ca / verify-full failed (FailedPrecondition). */
  | typeof R.TLS_VERIFY_FAILED
  /** The server asked for a local file (LOAD DATA LOCAL INFILE) (FailedPrecondition). */
  | typeof R.LOCAL_INFILE_REFUSED
  /** The connection was closed under the statement (profile changed or deleted, shutdown) (Unavailable). */
  | typeof R.CONNECTION_CLOSED;

/** The engine refused to go on with a database: a limit, a protocol violation, a refused credential exchange. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly reason: EngineReason,
    readonly extra: { field?: string; metadata?: Record<string, string> } = {},
  ) {
    super(cutMessage(message));
    this.name = "EngineError";
  }
}

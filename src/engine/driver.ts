import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RawColumn, RawValue } from "./wire.js";
import type { Value, ValueSchema } from "../../gen/sqlstudio/database/v1/values_pb.js";

/** The engines a profile may name (MariaDB is "mysql"). */
export type EngineName = "postgresql" | "mysql" | "sqlite";
export type SslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";

/** One cell as the wire carries it; `{}` (no kind) is never produced: NULL is `nullValue`. */
export type Cell = MessageInitShape<typeof ValueSchema>;
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
  /** Runs one statement and opens its cursor. */
  open(sql: string, params?: Cell[]): Promise<Cursor>;
  /** Runs one statement and reads its whole (small) result. */
  all(sql: string, params?: Cell[]): Promise<{ columns: ColumnInfo[]; rows: Cell[][]; affected: number }>;
  /** Starts a transaction; read-only ones are enforced by the database. */
  begin(readOnly: boolean): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Stops the statement running on this session in the database itself. */
  cancel(): Promise<void>;
  /** Returns the connection to its pool; `broken` closes it instead. */
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
  end(): Promise<void>;
}

export interface Driver {
  readonly engine: EngineName;
  readonly dialect: import("./dialect.js").Dialect;
  pool(target: Target, limits: { max: number; idleMs: number }): EnginePool;
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
    super(message);
    this.name = "DatabaseError";
  }
}

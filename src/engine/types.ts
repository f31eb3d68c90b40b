import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ValueSchema } from "../../gen/sqlstudio/database/v1/values_pb.js";

/**
 * The engine's leaf types, imported by driver.ts, dialect.ts, wire.ts and limits.ts alike: this
 * module imports nothing of the engine, so none of them imports another back for a type.
 */

/** The engines a profile may name (MariaDB is "mysql"). */
export type EngineName = "postgresql" | "mysql" | "sqlite";

/** One cell as the wire carries it; `{}` (no kind) is never produced: NULL is `nullValue`. */
export type Cell = MessageInitShape<typeof ValueSchema>;

/**
 * What one connection to a user's database may make this process hold. Every database a profile
 * points at is untrusted: these bound what it can send before the call ends (DESIGN.md §7).
 */
export interface WireLimits {
  /** Largest cell, and largest row, read from a database (ENGINE_MAX_CELL_BYTES). */
  maxCellBytes: number;
  /** Largest error or notice message read off the wire; larger is a protocol violation. */
  maxMessageBytes: number;
  /** Largest other protocol message (row descriptions, column definitions, authentication). */
  maxControlBytes: number;
  /** Most columns a result may have (PostgreSQL allows 1,664 and MySQL 4,096). */
  maxColumns: number;
  /** Bytes of rows a cursor holds before it stops reading the socket. */
  bufferBytes: number;
  /** Rows and bytes a whole small result (a page, a catalog answer: Session.all) may hold. */
  allRows: number;
  allBytes: number;
  /** Time a cancel request (PostgreSQL's cancel connection, MySQL's KILL QUERY) may take. */
  cancelTimeoutMs: number;
  /** Time a connection reset (DISCARD ALL, COM_RESET_CONNECTION) may take before it is closed instead. */
  resetTimeoutMs: number;
}

import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { LibsqlError } from "@libsql/client";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import { DatabaseError, EngineError, type EngineReason } from "../engine/driver.js";

/**
 * The one place where errors become Connect errors. Feature code throws these helpers (or
 * plain errors for bugs); the error interceptor turns anything else into Internal without
 * leaking its message.
 */
export function rpcError(
  code: Code,
  reason: string,
  message: string,
  extra: { field?: string; retryAfterMs?: number; metadata?: Record<string, string> } = {},
): ConnectError {
  const info = create(ErrorInfoSchema, {
    reason,
    field: extra.field ?? "",
    retryAfter: extra.retryAfterMs !== undefined ? durationFromMs(extra.retryAfterMs) : undefined,
    metadata: extra.metadata ?? {},
  });
  const err = new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: info }]);
  if (extra.retryAfterMs !== undefined) err.metadata.set("retry-after", String(Math.ceil(extra.retryAfterMs / 1000)));
  return err;
}

export const invalidArgument = (field: string, message: string, reason = "INVALID_ARGUMENT") =>
  rpcError(Code.InvalidArgument, reason, `${field}: ${message}`, { field });
export const notFound = (what: string, reason = "NOT_FOUND") => rpcError(Code.NotFound, reason, `${what} not found`);
export const unavailable = (message: string, reason = "UNAVAILABLE", retryAfterMs?: number) =>
  rpcError(Code.Unavailable, reason, message, { retryAfterMs });
export const resourceExhausted = (message: string, retryAfterMs: number, reason = "RATE_LIMITED") =>
  rpcError(Code.ResourceExhausted, reason, message, { retryAfterMs });

/**
 * ResourceExhausted for a configured cap (not a rate: no retry-after). ErrorInfo names the limit
 * by its configuration variable in `metadata.limit`, with its value in `metadata.max`.
 */
export const limitExceeded = (limit: string, max: number, reason: string, message: string, field?: string) =>
  rpcError(Code.ResourceExhausted, reason, message, { field, metadata: { limit, max: String(max) } });

/** What the user's own database answered: theirs to read, with a code that says what to do. */
function fromDatabase(err: DatabaseError): ConnectError {
  const meta = { metadata: { sqlstate: err.code } };
  switch (err.kind) {
    case "readonly":
      return rpcError(Code.PermissionDenied, "READ_ONLY", `read-only: ${err.message}`, meta);
    case "canceled":
      return rpcError(Code.Canceled, "QUERY_CANCELED", err.message, meta);
    case "connect":
      return rpcError(Code.Unavailable, "DATABASE_UNREACHABLE", err.message, meta);
    case "auth":
      return rpcError(Code.FailedPrecondition, "CONNECTION_FAILED", `cannot connect: ${err.message}`, meta);
    case "constraint":
      return rpcError(Code.FailedPrecondition, "CONSTRAINT_VIOLATION", err.message, meta);
    case "denied":
      return rpcError(Code.PermissionDenied, "SQLITE_NOT_AUTHORIZED", `sql: ${err.message}`, { ...meta, field: "sql" });
    default:
      return rpcError(Code.InvalidArgument, "SQL_ERROR", err.message, meta);
  }
}

const ENGINE_CODES: Record<EngineReason, Code> = {
  CELL_TOO_LARGE: Code.ResourceExhausted,
  RESULT_TOO_LARGE: Code.ResourceExhausted,
  DATABASE_PROTOCOL_VIOLATION: Code.Unavailable,
  PASSWORD_NOT_SENT: Code.FailedPrecondition,
  TLS_VERIFY_FAILED: Code.FailedPrecondition,
  LOCAL_INFILE_REFUSED: Code.FailedPrecondition,
  CONNECTION_CLOSED: Code.Unavailable,
};

/**
 * The app database (libSQL) failing in a way that is no bug of ours: busy for longer than a write
 * waits, out of disk, read-only, gone, unreachable. Unavailable (retry later), with a reason;
 * anything else from it (a SQL error) stays Internal. The cause goes to the log.
 */
const APP_DATABASE: Record<string, [reason: string, message: string]> = {
  SQLITE_BUSY: ["APP_DATABASE_BUSY", "the database is busy; try again"],
  SQLITE_LOCKED: ["APP_DATABASE_BUSY", "the database is busy; try again"],
  SQLITE_FULL: ["APP_DATABASE_FULL", "the server's database is out of space; try again later"],
};
const APP_DATABASE_DOWN = new Set([
  "SQLITE_READONLY",
  "SQLITE_IOERR",
  "SQLITE_CANTOPEN",
  "SQLITE_CORRUPT",
  "SQLITE_NOTADB",
  "SQLITE_PROTOCOL",
  "SQLITE_PERM",
  "CLIENT_CLOSED",
  "SERVER_ERROR",
  "HRANA_WEBSOCKET_ERROR",
  "HRANA_CLOSED_ERROR",
  "HRANA_PROTO_ERROR",
]);
function fromAppDatabase(err: LibsqlError): ConnectError | undefined {
  const known = APP_DATABASE[err.code];
  if (known) return rpcError(Code.Unavailable, known[0], known[1], { retryAfterMs: 1_000 });
  if (APP_DATABASE_DOWN.has(err.code)) return rpcError(Code.Unavailable, "APP_DATABASE_UNAVAILABLE", "the server's database is unavailable; try again later", { retryAfterMs: 5_000 });
  return undefined;
}

/** Internal errors keep their cause for the log, never for the client. */
export function toPublicError(err: unknown): { error: ConnectError; cause?: unknown } {
  if (err instanceof ConnectError) return { error: err };
  if (err instanceof LibsqlError) {
    const error = fromAppDatabase(err);
    if (error) return { error, cause: err };
  }
  if (err instanceof DatabaseError) return { error: fromDatabase(err) };
  if (err instanceof EngineError) return { error: rpcError(ENGINE_CODES[err.reason], err.reason, err.message, err.extra) };
  // Connect's own errors from other realms, and aborts, arrive here as ConnectError via from().
  if (err instanceof Error && err.name === "AbortError") return { error: new ConnectError("operation canceled", Code.Canceled) };
  return { error: rpcError(Code.Internal, "INTERNAL", "internal error"), cause: err };
}

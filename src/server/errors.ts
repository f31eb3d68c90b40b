import { Code, ConnectError } from "@connectrpc/connect";
import { rpcError } from "../common/errors.js";
import { DatabaseError, EngineError, type EngineReason } from "../engine/driver.js";

/**
 * The one place where any error becomes the Connect error a client sees: the user's database's
 * errors and the engine's get their code and reason here, and anything that is not already a
 * ConnectError becomes Internal without leaking its message.
 */

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

/** Internal errors keep their cause for the log, never for the client. */
export function toPublicError(err: unknown): { error: ConnectError; cause?: unknown } {
  if (err instanceof ConnectError) return { error: err };
  if (err instanceof DatabaseError) return { error: fromDatabase(err) };
  if (err instanceof EngineError) return { error: rpcError(ENGINE_CODES[err.reason], err.reason, err.message, err.extra) };
  // Connect's own errors from other realms, and aborts, arrive here as ConnectError via from().
  if (err instanceof Error && err.name === "AbortError") return { error: new ConnectError("operation canceled", Code.Canceled) };
  return { error: rpcError(Code.Internal, "INTERNAL", "internal error"), cause: err };
}

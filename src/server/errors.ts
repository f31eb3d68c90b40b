import { Code, ConnectError } from "@connectrpc/connect";
import { fail, R } from "../common/errors.js";
import { DatabaseError, EngineError } from "../engine/driver.js";

/*
 * The one place where any error becomes the Connect error a client sees: the user's database's
 * errors and the engine's get their reason here (its code from the catalog, common/reasons.ts),
 * and anything that is not already a ConnectError becomes Internal without leaking its message.
 */

/** What the user's own database answered: theirs to read, with a code that says what to do. */
function fromDatabase(err: DatabaseError): ConnectError {
  const meta = { metadata: { sqlstate: err.code } };
  switch (err.kind) {
    case "readonly":
      return fail(R.READ_ONLY, `read-only: ${err.message}`, meta);
    case "canceled":
      return fail(R.QUERY_CANCELED, err.message, meta);
    case "connect":
      return fail(R.DATABASE_UNREACHABLE, err.message, meta);
    case "auth":
      return fail(R.CONNECTION_FAILED, `cannot connect: ${err.message}`, meta);
    case "constraint":
      return fail(R.CONSTRAINT_VIOLATION, err.message, meta);
    case "denied":
      return fail(R.SQLITE_NOT_AUTHORIZED, `sql: ${err.message}`, meta);
    default:
      return fail(R.SQL_ERROR, err.message, meta);
  }
}

/** Internal errors keep their cause for the log, never for the client. */
export function toPublicError(err: unknown): { error: ConnectError; cause?: unknown } {
  if (err instanceof ConnectError) return { error: err };
  if (err instanceof DatabaseError) return { error: fromDatabase(err) };
  if (err instanceof EngineError) return { error: fail(err.reason, err.message, err.extra) };
  // Connect's own errors from other realms, and aborts, arrive here as ConnectError via from().
  if (err instanceof Error && err.name === "AbortError") return { error: new ConnectError("operation canceled", Code.Canceled) };
  return { error: fail(R.INTERNAL, "internal error"), cause: err };
}

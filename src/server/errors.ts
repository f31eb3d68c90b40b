import { Code, ConnectError } from "@connectrpc/connect";
import { LibsqlError } from "@libsql/client";
import { fail, R, type Reason } from "../common/errors.js";
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

/**
 * The app database (libSQL) failing in a way that is no bug of ours: busy for longer than a write
 * waits, out of disk, read-only, gone, unreachable. Unavailable (retry later), with a reason;
 * anything else from it (a SQL error) stays Internal. The cause goes to the log.
 */
const APP_DATABASE: Record<string, [reason: Reason, message: string]> = {
  SQLITE_BUSY: [R.APP_DATABASE_BUSY, "the database is busy; try again"],
  SQLITE_LOCKED: [R.APP_DATABASE_BUSY, "the database is busy; try again"],
  SQLITE_FULL: [R.APP_DATABASE_FULL, "the server's database is out of space; try again later"],
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
  if (known) return fail(known[0], known[1], { retryAfterMs: 1_000 });
  if (APP_DATABASE_DOWN.has(err.code)) return fail(R.APP_DATABASE_UNAVAILABLE, "the server's database is unavailable; try again later", { retryAfterMs: 5_000 });
  return undefined;
}

/**
 * Connect-ES's own errors for request bytes it cannot read: it answers them Internal (its binary
 * serialization is shared with clients, where a response that does not parse is the server's
 * fault), but here the client sent them. Found by the fuzz suite (test/fuzz): truncated protobuf,
 * invalid UTF-8, an illegal tag, nesting past the recursion limit, a compressed envelope without an
 * encoding, a body that does not decompress. Only these messages; every other Internal stays one.
 */
const REQUEST_FAULTS = [/^parse binary: /, /^received compressed envelope, but do not know how to decompress$/, /^decompression failed$/];

export function isRequestFault(code: Code, message: string): boolean {
  return code === Code.Internal && REQUEST_FAULTS.some((r) => r.test(message));
}

function isClientGone(err: unknown): boolean {
  return err instanceof Error && err.message === "aborted" && (err as NodeJS.ErrnoException).code === "ECONNRESET";
}

/** Internal errors keep their cause for the log, never for the client. */
export function toPublicError(err: unknown): { error: ConnectError; cause?: unknown } {
  if (err instanceof ConnectError) {
    return { error: isRequestFault(err.code, err.rawMessage) ? new ConnectError(err.rawMessage, Code.InvalidArgument, err.metadata) : err };
  }
  if (err instanceof LibsqlError) {
    const error = fromAppDatabase(err);
    if (error) return { error, cause: err };
  }
  if (err instanceof DatabaseError) return { error: fromDatabase(err) };
  if (err instanceof EngineError) return { error: fail(err.reason, err.message, err.extra) };
  // Connect's own errors from other realms, and aborts, arrive here as ConnectError via from().
  if (err instanceof Error && err.name === "AbortError") return { error: new ConnectError("operation canceled", Code.Canceled) };
  // The client went away while its request was still being read (node's IncomingMessage fails the
  // body with "aborted", ECONNRESET): the client's doing, not an Internal of ours (found by the soak,
  // test/bench/soak.ts, when a client gave up on a call).
  if (isClientGone(err)) return { error: new ConnectError("the client went away", Code.Canceled) };
  return { error: fail(R.INTERNAL, "internal error"), cause: err };
}

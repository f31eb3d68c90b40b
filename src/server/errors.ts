import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
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

/** Internal errors keep their cause for the log, never for the client. */
export function toPublicError(err: unknown): { error: ConnectError; cause?: unknown } {
  if (err instanceof ConnectError) {
    return { error: isRequestFault(err.code, err.rawMessage) ? new ConnectError(err.rawMessage, Code.InvalidArgument, err.metadata) : err };
  }
  if (err instanceof DatabaseError) return { error: fromDatabase(err) };
  if (err instanceof EngineError) return { error: rpcError(ENGINE_CODES[err.reason], err.reason, err.message, err.extra) };
  // Connect's own errors from other realms, and aborts, arrive here as ConnectError via from().
  if (err instanceof Error && err.name === "AbortError") return { error: new ConnectError("operation canceled", Code.Canceled) };
  return { error: rpcError(Code.Internal, "INTERNAL", "internal error"), cause: err };
}

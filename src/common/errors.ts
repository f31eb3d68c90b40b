import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";

/**
 * The errors a client reads: a Connect code and an ErrorInfo with a stable `reason`. Feature code
 * throws these helpers (or plain errors for bugs); the server's error interceptor turns anything
 * else into Internal without leaking its message (src/server/errors.ts).
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

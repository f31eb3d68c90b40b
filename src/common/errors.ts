import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import { perCall, R, specOf, type Reason } from "./reasons.js";

export { R, type Reason };

/**
 * The errors a client reads: a Connect code and an ErrorInfo with a stable `reason`, both from
 * the catalog (reasons.ts). Feature code throws these (or plain errors for bugs); the server's
 * error interceptor turns anything else into Internal without leaking its message
 * (src/server/errors.ts).
 */
export interface ErrorExtra {
  /** The field at fault, for a reason whose catalog field is named per call. */
  field?: string;
  retryAfterMs?: number;
  metadata?: Record<string, string>;
}

/**
 * The error of a catalog reason, with the catalog's code (or `code`, when the catalog allows that
 * one too) and field. A reason the catalog does not declare, or a field other than the one the
 * catalog fixes, is a bug: an Error, not the client's answer.
 */
export function fail(reason: Reason, message: string, extra: ErrorExtra = {}, code?: Code): ConnectError {
  const spec = specOf(reason);
  if (spec.code === undefined) throw new Error(`reason ${reason} is only a rejected change, never an RPC error`);
  if (code !== undefined && code !== spec.code && code !== spec.alsoCode) throw new Error(`reason ${reason} is not declared with code ${Code[code]}`);
  let field = extra.field;
  if (spec.field === undefined || !perCall(spec.field)) {
    if (field !== undefined && field !== spec.field) throw new Error(`reason ${reason} names ${spec.field ?? "no field"}, not ${field}`);
    field = spec.field;
  }
  return rpcError(code ?? spec.code, reason, message, { ...extra, field });
}

function rpcError(code: Code, reason: string, message: string, extra: ErrorExtra): ConnectError {
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

/** InvalidArgument naming `field`, its message prefixed with it. */
export const invalidArgument = (field: string, message: string, reason: Reason = R.INVALID_ARGUMENT) =>
  fail(reason, `${field}: ${message}`, { field }, Code.InvalidArgument);
export const resourceExhausted = (message: string, retryAfterMs: number, reason: Reason = R.RATE_LIMITED) =>
  fail(reason, message, { retryAfterMs }, Code.ResourceExhausted);

/**
 * ResourceExhausted for a configured cap (not a rate: no retry-after). ErrorInfo names the limit
 * by its configuration variable in `metadata.limit`, with its value in `metadata.max`.
 */
export const limitExceeded = (limit: string, max: number, reason: Reason, message: string) =>
  fail(reason, message, { metadata: { limit, max: String(max) } }, Code.ResourceExhausted);

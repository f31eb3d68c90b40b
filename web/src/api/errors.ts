/** A failed call as the person reads it: a sentence, and the form field it is about (if any). */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@gen/sqlstudio/common/v1/error_pb.js";

export interface Problem {
  code: Code;
  /** A stable reason from the server's ErrorInfo (e.g. HOST_NOT_ALLOWED), when it gave one. */
  reason: string;
  /** The request field it is about, in proto names (e.g. "spec.host"). */
  field: string;
  message: string;
  /** Seconds to wait, for rate limits. */
  retryAfter?: number;
}

const GENERIC: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "The server cannot be reached. Check your connection; the console retries when you are back online.",
  [Code.Internal]: "Something went wrong on the server. Try again; if it keeps happening, tell the administrator.",
  [Code.DeadlineExceeded]: "The server took too long to answer.",
  [Code.Canceled]: "Cancelled.",
};

export function problemOf(e: unknown): Problem {
  const err = ConnectError.from(e);
  const info = err.findDetails(ErrorInfoSchema)[0];
  const offline = err.code === Code.Unknown && /fetch|network/i.test(err.rawMessage);
  const code = offline ? Code.Unavailable : err.code;
  let message = GENERIC[code] && (code !== Code.Canceled || !err.rawMessage) ? GENERIC[code]! : err.rawMessage || Code[code];
  if (code === Code.ResourceExhausted && info?.retryAfter) message = `${err.rawMessage}. Try again in ${Number(info.retryAfter.seconds)} s.`;
  message = message.charAt(0).toUpperCase() + message.slice(1);
  return { code, reason: info?.reason ?? "", field: info?.field ?? "", message, retryAfter: info?.retryAfter ? Number(info.retryAfter.seconds) : undefined };
}

/** Errors that are about what the person asked for, not about the server: shown beside the form. */
export const isUsersProblem = (p: Problem) =>
  [Code.InvalidArgument, Code.FailedPrecondition, Code.PermissionDenied, Code.AlreadyExists, Code.NotFound, Code.OutOfRange, Code.Aborted, Code.ResourceExhausted, Code.Unauthenticated].includes(p.code);

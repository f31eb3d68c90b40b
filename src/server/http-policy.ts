import type { IncomingHttpHeaders, OutgoingMessage } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

/** The server's deadline policy (SERVER_MAX_DEADLINE_MS, SERVER_DEFAULT_DEADLINE_MS). */
export interface DeadlineLimits {
  maxDeadlineMs: number;
  defaultDeadlineMs: number;
}

/** Headers every response carries. HSTS only when the server itself terminates TLS. */
export function securityHeaders(tls: boolean): Record<string, string> {
  const h: Record<string, string> = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-site",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  };
  if (tls) h["strict-transport-security"] = "max-age=31536000; includeSubDomains";
  return h;
}

export const CORS_ALLOW_HEADERS = [...connectCors.allowedHeaders, "authorization", "x-request-id"].join(", ");
export const CORS_EXPOSE_HEADERS = [...connectCors.exposedHeaders, "x-request-id", "retry-after"].join(", ");
export const CORS_ALLOW_METHODS = [...connectCors.allowedMethods, "OPTIONS"].join(", ");

/**
 * Whether a browser origin may call the API: an exact configured origin, "*" when an operator
 * configured it outside production, or (development) a loopback origin: `http://localhost:*`,
 * `http://127.0.0.1:*`, `http://[::1]:*`. The opaque origin `null` (sandboxed frames, file:
 * pages, some redirects) is never admitted, whatever is configured.
 * Configured origins are compared in the form browsers send (`https://host[:port]`, lower case,
 * no path or trailing slash), so `https://Studio.example.com/` pasted from an address bar works.
 */
export function originAllowed(origin: string, allowed: readonly string[], opts: { loopback?: boolean } = {}): boolean {
  if (origin === "null" || origin === "") return false;
  if (opts.loopback && isLoopbackOrigin(origin)) return true;
  return allowed.some((a) => a === "*" || serializedOrigin(a) === origin);
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** `http://localhost[:port]`, `http://127.0.0.1[:port]` or `http://[::1][:port]`, exactly as a browser sends it. */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname) && url.origin === origin;
}

const origins = new Map<string, string>();
function serializedOrigin(configured: string): string {
  let o = origins.get(configured);
  if (o === undefined) {
    try {
      const url = new URL(configured);
      o = url.origin === "null" ? configured : url.origin;
    } catch {
      o = configured;
    }
    origins.set(configured, o);
  }
  return o;
}

/**
 * The deadline a request runs under, in ms: the client's own (Connect `connect-timeout-ms`,
 * gRPC/gRPC-Web `grpc-timeout`), capped at the ceiling; unary RPCs without one get the default.
 * Returns undefined when the request keeps no deadline (a stream the client left open-ended).
 */
export function effectiveDeadlineMs(
  clientMs: number | undefined,
  unary: boolean,
  limits: DeadlineLimits,
): number | undefined {
  if (clientMs === undefined) return unary ? limits.defaultDeadlineMs : undefined;
  return Math.min(clientMs, limits.maxDeadlineMs);
}

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Parses a gRPC timeout header ("100m", "5S"); undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const m = value ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  return m ? Number(m[1]) * GRPC_UNITS[m[2]] : undefined;
}

/** Parses a Connect timeout header; undefined when absent or malformed (Connect rejects those itself). */
export function parseConnectTimeout(value: string | undefined): number | undefined {
  return value && /^\d{1,10}$/.test(value) ? Number(value) : undefined;
}

/**
 * Puts the deadline a request runs under (effectiveDeadlineMs) into its timeout header, where
 * connect's handlers read it: a missing or malformed one on a unary RPC becomes the default, one
 * over the ceiling the ceiling.
 */
export function applyDeadline(headers: IncomingHttpHeaders, unary: boolean, limits: DeadlineLimits): void {
  const contentType = headers["content-type"];
  const grpc = contentType !== undefined && contentType.startsWith("application/grpc");
  const clientMs = grpc ? parseGrpcTimeout(headers["grpc-timeout"] as string | undefined) : parseConnectTimeout(headers["connect-timeout-ms"] as string | undefined);
  const ms = effectiveDeadlineMs(clientMs, unary, limits);
  if (ms !== undefined && ms !== clientMs) {
    if (grpc) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(ms))}m`;
    else headers["connect-timeout-ms"] = String(Math.max(1, Math.ceil(ms)));
  }
}

/** The deadline of a unary call from its headers, as applyDeadline would write it and connect read it back, ms. */
export function unaryDeadlineMs(headers: IncomingHttpHeaders, grpc: boolean, limits: DeadlineLimits): number {
  const clientMs = grpc ? parseGrpcTimeout(headers["grpc-timeout"] as string | undefined) : parseConnectTimeout(headers["connect-timeout-ms"] as string | undefined);
  const ms = effectiveDeadlineMs(clientMs, true, limits)!;
  return ms === clientMs ? ms : Math.max(1, Math.ceil(ms));
}

/** Sets the request id and the headers every response carries (`base`: name, value, …) on a response. */
export function setBaseHeaders(res: OutgoingMessage | Http2ServerResponse, requestId: string, base: readonly string[]): void {
  res.setHeader("x-request-id", requestId);
  for (let i = 0; i < base.length; i += 2) res.setHeader(base[i]!, base[i + 1]!);
}

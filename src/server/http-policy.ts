import { cors as connectCors } from "@connectrpc/connect";

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
 * Whether a browser origin may call the API: exact match, or "*" (development only).
 * Configured origins are compared in the form browsers send (`https://host[:port]`, lower case,
 * no path or trailing slash), so `https://Studio.example.com/` pasted from an address bar works.
 */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => a === "*" || serializedOrigin(a) === origin);
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
  limits: { maxDeadlineMs: number; defaultDeadlineMs: number },
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

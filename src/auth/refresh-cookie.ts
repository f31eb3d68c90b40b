import { Code, ConnectError, type Interceptor, type UnaryRequest } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { LoginResponse, RefreshTokenRequest, RefreshTokenResponse } from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { fail, R } from "../common/errors.js";

/**
 * The refresh token of a browser client, kept where page scripts cannot read it: an
 * `HttpOnly; Secure; SameSite=Strict` cookie scoped to the RefreshToken RPC's path.
 *
 * A request opts in with the header `x-sqlstudio-refresh: cookie` (the web console sends it on
 * Login, RefreshToken and Logout). Then Login and RefreshToken answer the new refresh token in the
 * cookie instead of the body, RefreshToken with an empty `refresh_token` reads the cookie, and
 * Logout (or a refresh the server refuses) clears it. Other clients are untouched.
 *
 * CSRF: the cookie is only sent to the RefreshToken path, never cross-site (SameSite=Strict), and
 * only used when the request carries the custom header, which no other origin can send without a
 * CORS preflight that does not allow it (the header is not in CORS_ALLOW_HEADERS). The answer is
 * readable only by this origin, so the worst another site could do is nothing.
 */

export const REFRESH_COOKIE = "sqlstudio_refresh";
export const REFRESH_COOKIE_HEADER = "x-sqlstudio-refresh";
const SERVICE = "sqlstudio.auth.v1.AuthService";
const PATH = `/${SERVICE}/RefreshToken`;

function cookie(value: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE}=${value}; Path=${PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

const CLEAR = cookie("", 0);

/** The cookie's value in a Cookie header, if present. */
export function readRefreshCookie(header: string | null): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === REFRESH_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export function refreshCookie(now: () => number): Interceptor {
  return (next) => (req) => {
    if (req.service.typeName !== SERVICE || req.stream) return next(req);
    const method = req.method.name;
    if ((method !== "Login" && method !== "RefreshToken" && method !== "Logout") || req.header.get(REFRESH_COOKIE_HEADER) !== "cookie") return next(req);
    return withCookie(next, req, method, now);
  };
}

type Next = Parameters<Interceptor>[0];

/** Login, RefreshToken or Logout of a client that keeps its refresh token in the cookie. */
async function withCookie(next: Next, req: UnaryRequest, method: string, now: () => number): ReturnType<Next> {
  if (method === "RefreshToken") {
    const message = req.message as RefreshTokenRequest;
    if (message.refreshToken === "") {
      const value = readRefreshCookie(req.header.get("cookie"));
      if (!value) throw fail(R.NOT_SIGNED_IN, "not signed in: no refresh cookie");
      message.refreshToken = value;
    }
  }
  try {
    const res = await next(req);
    if (method === "Logout") {
      res.header.append("set-cookie", CLEAR);
      return res;
    }
    const body = res.message as LoginResponse | RefreshTokenResponse;
    if (body.refreshToken) {
      const expires = body.refreshTokenExpiresAt ? timestampMs(body.refreshTokenExpiresAt) : now();
      res.header.append("set-cookie", cookie(body.refreshToken, Math.max(0, Math.floor((expires - now()) / 1000))));
      body.refreshToken = "";
    }
    return res;
  } catch (e) {
    // A refused refresh token is dead for good: the browser drops it too.
    if (method === "RefreshToken" && ConnectError.from(e).code === Code.Unauthenticated && e instanceof ConnectError) e.metadata.append("set-cookie", CLEAR);
    throw e;
  }
}

/**
 * Who is signed in, and the access token. The access token lives only in this module's memory;
 * the refresh token never reaches page scripts: the server keeps it in an HttpOnly cookie scoped
 * to the RefreshToken RPC when a request carries the `x-sqlstudio-refresh: cookie` header (a
 * custom header, so no other site can make the browser send it). Tokens are refreshed a minute
 * before they expire, on a 401, and at start (which is how a reload stays signed in).
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { signal } from "@preact/signals";
import { AuthService, type LoginResponse, type RefreshTokenResponse, type User } from "@gen/sqlstudio/auth/v1/auth_pb.js";

export interface SignedIn {
  user: User;
  sessionId: string;
}

/** undefined while the console finds out at start; null when signed out. */
export const session = signal<SignedIn | null | undefined>(undefined);
/** Why the last session ended, for the sign-in page ("Your session was revoked."). */
export const endedBecause = signal<string>("");

export const COOKIE_HEADER = { "x-sqlstudio-refresh": "cookie" };

let access: { token: string; expiresAt: number } | undefined;
/** Not a secret: only whether this browser may hold a refresh cookie, so a first visit skips a refresh that must fail. */
const MAYBE = "sqlstudio.signedIn";
let timer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;

const publicAuth = createClient(AuthService, createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true }));
const tabs = "BroadcastChannel" in window ? new BroadcastChannel("sqlstudio-session") : undefined;

export const accessToken = (): string | undefined => access?.token;

/** "Web console · Chrome on Linux", from the user agent, for the devices list. */
export function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom(e|ium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "a browser";
  const os = /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Linux/.test(ua) ? "Linux" : "";
  return `Web console · ${browser}${os ? ` on ${os}` : ""}`;
}

function take(r: LoginResponse | RefreshTokenResponse): void {
  localStorage.setItem(MAYBE, "1");
  const expiresAt = r.accessTokenExpiresAt ? timestampDate(r.accessTokenExpiresAt).getTime() : Date.now() + 5 * 60_000;
  access = { token: r.accessToken, expiresAt };
  session.value = { user: r.user!, sessionId: r.sessionId };
  clearTimeout(timer);
  // A minute early (or halfway, for short tokens); the clocks of server and browser may differ a little.
  const lifetime = expiresAt - Date.now();
  timer = setTimeout(() => void refresh(), Math.max(5_000, Math.min(lifetime - 60_000, lifetime / 2)));
}

function end(reason: string): void {
  localStorage.removeItem(MAYBE);
  access = undefined;
  clearTimeout(timer);
  endedBecause.value = reason;
  session.value = null;
}

export async function signIn(identifier: string, password: string): Promise<void> {
  const r = await publicAuth.login({ identifier, password, deviceName: deviceName() }, { headers: COOKIE_HEADER });
  endedBecause.value = "";
  take(r);
  tabs?.postMessage("signed-in");
}

/**
 * A new access token from the cookie; false (and signed out) when there is no valid refresh token.
 * Concurrent callers share one request, so one rotation happens.
 */
export function refresh(): Promise<boolean> {
  if (!localStorage.getItem(MAYBE) && !session.value) {
    session.value = null;
    return Promise.resolve(false);
  }
  refreshing ??= publicAuth
    .refreshToken({}, { headers: COOKIE_HEADER })
    .then(
      (r) => {
        take(r);
        return true;
      },
      (e) => {
        const err = ConnectError.from(e);
        // Offline or the server is down: keep the session, the next call tries again.
        if (err.code === Code.Unavailable || (err.code === Code.Unknown && /fetch|network/i.test(err.rawMessage))) return false;
        if (session.value) end("Your session ended. Sign in again.");
        else {
          localStorage.removeItem(MAYBE);
          session.value = null;
        }
        return false;
      },
    )
    .finally(() => (refreshing = undefined));
  return refreshing;
}

/** The session was ended elsewhere (revoked on another device, a 401 that refresh could not fix). */
export function sessionLost(reason: string): void {
  if (session.value) end(reason);
}

export async function signOut(): Promise<void> {
  const token = access?.token;
  end("");
  tabs?.postMessage("signed-out");
  if (token) await publicAuth.logout({}, { headers: { ...COOKIE_HEADER, authorization: `Bearer ${token}` } }).catch(() => undefined);
}

/** The user as the server now has it (after a profile change). */
export function updateUser(user: User): void {
  if (session.value) session.value = { ...session.value, user };
}

tabs?.addEventListener("message", (e) => {
  if (e.data === "signed-out") end("You signed out in another tab.");
  if (e.data === "signed-in" && !session.value) void refresh();
});

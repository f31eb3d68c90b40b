/** Helpers for the AuthService tests: a server with an injectable clock, Connect JSON calls, accounts. */
import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorInfoSchema, type ErrorInfo } from "../../gen/sqlstudio/common/v1/error_pb.js";
import { Accounts, type AccountsConfig } from "../../src/auth/accounts.js";
import { AccountMail } from "../../src/auth/mail.js";
import { PasswordHasher } from "../../src/auth/passwords.js";
import { Sealer } from "../../src/auth/seal.js";
import { AuthStore } from "../../src/auth/store.js";
import { AccessTokens, RefreshTokens } from "../../src/auth/tokens.js";
import { systemRuntime, type Runtime } from "../../src/common/runtime.js";
import type { Db } from "../../src/db/client.js";
import { Outbox, type Email } from "../../src/email/mailer.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import type { ServiceEntry } from "../../src/common/service.js";
import type { RequestInfo } from "../../src/common/caller.js";
import { startResendStandIn, tokenFromEmail, type ResendStandIn, type SentEmail } from "./resend.js";
import { errorInfoOf } from "./rpc.js";
import { startTestServer, type TestServer } from "./server.js";

export const AUTH = "sqlstudio.auth.v1.AuthService";
export const PUBLIC_URL = "http://app.sqlstudio.test";
/** ≥ 32 bytes, shared by every test server (and by the two processes on one database). */
export const TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/** A clock the test moves by hand; ids and randomness stay real. */
export interface ManualRuntime extends Runtime {
  advance(ms: number): void;
  set(ms: number): void;
}

export function manualRuntime(start = Date.now()): ManualRuntime {
  let t = start;
  return {
    now: () => t,
    newId: () => systemRuntime.newId(),
    random: (n) => systemRuntime.random(n),
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}

/**
 * The env of an auth test server: cheap bcrypt, a fixed JWT secret, a recognisable PUBLIC_URL, mail
 * limits high enough for tests that work one account hard,
 * and TRUST_PROXY=1 (one proxy in front: the test itself) so each test can speak from its own client
 * address (`x-forwarded-for`) and the per-IP limits of one test never reach another.
 */
export function authEnv(extra: Record<string, string> = {}): Record<string, string> {
  // Mail limits out of the way of tests that use one account hard (the mail-abuse tests set their own).
  return { BCRYPT_COST: "4", JWT_SECRET: TEST_JWT_SECRET, PUBLIC_URL, TRUST_PROXY: "1", MAIL_MAX_PER_ACCOUNT_PER_HOUR: "1000", MAIL_MAX_PER_ADDRESS_PER_HOUR: "1000", ...extra };
}

export interface AuthTestServer extends TestServer {
  /** Where the server's email goes (the one given, or a stand-in of its own). */
  resend: ResendStandIn;
}

/**
 * startTestServer with the auth env, an optional injected Runtime and database (several servers on one
 * database are several instances), and email always sent through the `resend` SDK to a Resend
 * stand-in (the one given, or its own), so nothing prints to stdout.
 */
export async function startAuthServer(
  opts: { env?: Record<string, string>; runtime?: Runtime; resend?: ResendStandIn; services?: ServiceEntry[]; db?: Db } = {},
): Promise<AuthTestServer> {
  const resend = opts.resend ?? (await startResendStandIn());
  const server = await startTestServer({
    env: authEnv({ ...resend.env, ...opts.env }),
    runtime: opts.runtime,
    services: opts.services,
    // Several servers on one database (instances): the first migrates it.
    db: opts.db,
    afterStop: opts.resend ? undefined : () => resend.close(),
  });
  return Object.assign(server, { resend });
}

// ── Connect JSON over plain fetch ──────────────────────────────────────────

export interface JsonReply {
  status: number;
  headers: Headers;
  /** The response body (the message, or the Connect error). */
  body: Record<string, unknown>;
  /** Connect error code ("unauthenticated", …) when the call failed. */
  code?: string;
  message?: string;
  info?: ErrorInfo;
}

/** The ErrorInfo detail of a Connect JSON error body, decoded from its binary value. */
export function errorInfoOfJson(body: Record<string, unknown>): ErrorInfo | undefined {
  const details = (body.details ?? []) as { type: string; value: string }[];
  const d = details.find((x) => x.type === "sqlstudio.common.v1.ErrorInfo");
  return d ? fromBinary(ErrorInfoSchema, Buffer.from(d.value, "base64")) : undefined;
}

export { errorInfoOf };

/**
 * A unary Connect call with JSON, exactly as a browser or curl would make it. `method` is an
 * AuthService method, or "package.Service/Method" for any other service.
 */
export async function call(
  base: string | { url: string },
  method: string,
  body: unknown,
  opts: { token?: string; ip?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<JsonReply> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.ip) headers["x-forwarded-for"] = opts.ip;
  const url = typeof base === "string" ? base : base.url;
  const path = method.includes("/") ? method : `${AUTH}/${method}`;
  const res = await fetch(`${url}/${path}`, { method: "POST", headers, body: opts.raw ?? JSON.stringify(body) });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { unparsed: text };
  }
  const reply: JsonReply = { status: res.status, headers: res.headers, body: parsed };
  if (res.status !== 200) {
    reply.code = String(parsed.code ?? "");
    reply.message = String(parsed.message ?? "");
    reply.info = errorInfoOfJson(parsed);
  }
  return reply;
}

/** Like call(), but throws unless the call succeeded. */
export async function ok<T = Record<string, unknown>>(base: string | { url: string }, method: string, body: unknown, opts: Parameters<typeof call>[3] = {}): Promise<T> {
  const r = await call(base, method, body, opts);
  if (r.status !== 200) throw new Error(`${method} failed: ${r.status} ${r.code} ${r.message} ${r.info?.reason ?? ""}`);
  return r.body as T;
}

// ── accounts ───────────────────────────────────────────────────────────────

let seq = 0;
/** A fresh, never-used client address for per-IP limits. */
export function freshIp(): string {
  const n = randomBytes(3);
  return `10.${n[0]}.${n[1]}.${(n[2] % 250) + 1}`;
}

/** A password zxcvbn accepts (long, random), different every call. */
export function strongPassword(): string {
  return `Quartz-${randomBytes(6).toString("hex")}-Lantern!${++seq}`;
}

export interface NewUser {
  email: string;
  username: string;
  password: string;
  displayName: string;
}

export function newUser(prefix = "user"): NewUser {
  const tag = `${prefix}${Date.now().toString(36)}${randomBytes(3).toString("hex")}${++seq}`.toLowerCase().slice(0, 32);
  return { email: `${tag}@example.test`, username: tag, password: strongPassword(), displayName: `Test ${prefix}` };
}

export interface LoginReply {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
  refreshTokenExpiresAt: string;
  sessionId: string;
  user: Record<string, unknown>;
}

/** Registers (from its own address) and returns the user id. */
export async function register(server: { url: string }, u: NewUser, ip = freshIp()): Promise<string> {
  const r = await ok<{ user: { id: string } }>(server, "Register", u, { ip });
  return r.user.id;
}

export function login(server: { url: string }, u: Pick<NewUser, "username" | "password">, opts: { ip?: string; device?: string } = {}): Promise<LoginReply> {
  return ok<LoginReply>(server, "Login", { identifier: u.username, password: u.password, deviceName: opts.device ?? "test" }, { ip: opts.ip ?? freshIp() });
}

/** Registers and logs in; returns the user, its id and the first session's tokens. */
export async function registerAndLogin(server: { url: string }, prefix = "user"): Promise<{ user: NewUser; id: string; session: LoginReply }> {
  const user = newUser(prefix);
  const id = await register(server, user);
  return { user, id, session: await login(server, user) };
}

/** Waits for the verification (or reset) email to `to` and returns its token. */
export async function emailToken(resend: ResendStandIn, to: string, path: "verify-email" | "reset-password", skip = 0): Promise<{ token: string; email: SentEmail }> {
  const subject = path === "verify-email" ? /verify/i : /reset/i;
  const email = await resend.waitForEmail(to, { subject, skip });
  return { token: tokenFromEmail(email, PUBLIC_URL, path), email };
}

// ── database ───────────────────────────────────────────────────────────────

export const sha256hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

export const AUTH_TABLES = ["users", "sessions", "email_tokens", "login_failures", "login_lockouts", "rate_limits", "security_events"] as const;

export async function countRows(db: Db, tables: readonly string[] = AUTH_TABLES): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await db.execute(`SELECT COUNT(*) AS n FROM ${t}`)).rows[0].n);
  return out;
}

/** The security event types of a user, oldest first. */
export async function eventTypes(db: Db, userId: string): Promise<string[]> {
  const rs = await db.execute({ sql: "SELECT type FROM security_events WHERE user_id = ? ORDER BY id", args: [userId] });
  return rs.rows.map((r) => String(r.type));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ── the logic without a server ─────────────────────────────────────────────

export interface DirectAccounts {
  accounts: Accounts;
  store: AuthStore;
  /** Emails the outbox sent (captured, nothing leaves the process). */
  sent: Email[];
  logs: Record<string, unknown>[];
  logger: Logger;
  outbox: Outbox;
}

/** Accounts on a database with the real store, hasher (cost 4), tokens and outbox, and the given clock. */
export function directAccounts(db: Db, runtime: Runtime, cfg: Partial<AccountsConfig> = {}): DirectAccounts {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger(
    { level: "debug", pretty: false },
    new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split("\n")) if (line.trim()) logs.push(JSON.parse(line));
        cb();
      },
    }),
  );
  const sent: Email[] = [];
  const outbox = new Outbox({ send: async (e) => void sent.push(e) }, logger);
  const store = new AuthStore(db);
  const limit = { max: 1000, windowMs: 3_600_000 };
  const mail = new AccountMail({ outbox, store, runtime, rules: { perAccount: limit, perAddress: limit }, logger, secret: TEST_JWT_SECRET });
  const accounts = new Accounts({
    store,
    hasher: new PasswordHasher(4),
    tokens: new AccessTokens({ secret: TEST_JWT_SECRET, issuer: "sqlstudio", audience: "sqlstudio-api", ttlMs: 15 * 60_000 }, runtime),
    refreshTokens: new RefreshTokens([TEST_JWT_SECRET], runtime),
    graceSealer: new Sealer(TEST_JWT_SECRET, "refresh-grace", runtime),
    mail,
    runtime,
    logger,
    config: { publicUrl: PUBLIC_URL, refreshTokenTtlMs: 30 * 24 * 3_600_000, refreshGraceMs: 30_000, sessionCacheMs: 0, ...cfg },
  });
  return { accounts, store, sent, logs, logger, outbox };
}

/** The token of the link in a captured email. */
export function linkToken(email: Email): string {
  const m = /[?&]token=([A-Za-z0-9_%-]+)/.exec(email.text);
  if (!m) throw new Error(`no token link in: ${email.text}`);
  return decodeURIComponent(m[1]);
}

/** A RequestInfo for calling Accounts directly. */
export const requestInfo = (ip = freshIp()): RequestInfo => ({ ip, userAgent: "vitest", requestId: "test" });

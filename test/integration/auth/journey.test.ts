/**
 * The whole account journey, on the real server with the real `resend` SDK talking to a local
 * stand-in for Resend's API: register → verification email → VerifyEmail → Login →
 * GetCurrentUser → RefreshToken → Logout → the old access token is refused. Over Connect JSON
 * with plain fetch, and again over gRPC and gRPC-Web with generated clients. Then: a failing
 * email provider is retried with backoff and the account is kept; and no password, token or
 * hash reaches any log line of everything this file did.
 */
import { Code, createClient, type Client, type Transport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, Role } from "../../../gen/sqlstudio/auth/v1/auth_pb.js";
import {
  call,
  emailToken,
  freshIp,
  login,
  newUser,
  register,
  sha256hex,
  startAuthServer,
  type LoginReply,
} from "../../support/auth.js";
import { startResendStandIn, type ResendStandIn } from "../../support/resend.js";
import type { TestServer } from "../../support/server.js";
import { expectRpcError, transportFor } from "../../support/rpc.js";

let resend: ResendStandIn;
let server: TestServer;
/** Every secret this file handled; none may appear in the server's logs. */
const secrets: { what: string; value: string }[] = [];
const secret = (what: string, value: string) => {
  secrets.push({ what, value });
  return value;
};

beforeAll(async () => {
  resend = await startResendStandIn("re_test_x");
  server = await startAuthServer({ resend });
});
afterAll(async () => {
  await server?.stop();
  await resend?.close();
});

describe("journey over Connect JSON (plain fetch)", () => {
  it("register → email → verify → login → me → refresh → logout → old token refused", async () => {
    const u = newUser("json");
    secret("password", u.password);
    const ip = freshIp();

    const reg = await call(server, "Register", u, { ip });
    expect(reg.status).toBe(200);
    const user = (reg.body as { user: Record<string, unknown> }).user;
    expect(user).toMatchObject({ email: u.email, username: u.username, displayName: u.displayName, role: "ROLE_USER" });
    expect(user.emailVerified ?? false).toBe(false);

    // The verification email went through the SDK to the stand-in, with both bodies.
    const { token, email } = await emailToken(resend, u.email, "verify-email");
    secret("verification token", token);
    expect(email.from).toContain("@");
    expect(email.text).toContain(`/verify-email?token=`);
    expect(email.html).toContain(`/verify-email?token=`);

    const verified = await call(server, "VerifyEmail", { token }, { ip });
    expect(verified.status).toBe(200);
    expect((verified.body as { user: { emailVerified: boolean } }).user.emailVerified).toBe(true);

    const lg = await call(server, "Login", { identifier: u.email, password: u.password, deviceName: "laptop" }, { ip });
    expect(lg.status).toBe(200);
    const s = lg.body as unknown as LoginReply;
    secret("access token", s.accessToken);
    secret("refresh token", s.refreshToken);
    expect(s.accessToken.split(".")).toHaveLength(3);
    expect(s.refreshToken).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
    expect(Date.parse(s.accessTokenExpiresAt)).toBeGreaterThan(Date.now());
    expect(Date.parse(s.refreshTokenExpiresAt)).toBeGreaterThan(Date.parse(s.accessTokenExpiresAt));
    expect(s.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.user).toMatchObject({ username: u.username, emailVerified: true });

    const me = await call(server, "GetCurrentUser", {}, { token: s.accessToken, ip });
    expect(me.status).toBe(200);
    expect((me.body as { user: { id: string; email: string } }).user).toMatchObject({ id: user.id, email: u.email, emailVerified: true });

    const rf = await call(server, "RefreshToken", { refreshToken: s.refreshToken }, { ip });
    expect(rf.status).toBe(200);
    const r = rf.body as unknown as LoginReply;
    secret("refreshed access token", r.accessToken);
    secret("refreshed refresh token", r.refreshToken);
    expect(r.refreshToken).not.toBe(s.refreshToken);
    expect(r.sessionId).toBe(s.sessionId);
    expect((await call(server, "GetCurrentUser", {}, { token: r.accessToken, ip })).status).toBe(200);

    const out = await call(server, "Logout", {}, { token: r.accessToken, ip });
    expect(out.status).toBe(200);

    // Both access tokens of the session, and its refresh token, are refused from now on.
    for (const old of [r.accessToken, s.accessToken]) {
      const refused = await call(server, "GetCurrentUser", {}, { token: old, ip });
      expect(refused.status).toBe(401);
      expect(refused.code).toBe("unauthenticated");
      expect(refused.info?.reason).toBe("SESSION_REVOKED");
    }
    const again = await call(server, "RefreshToken", { refreshToken: r.refreshToken }, { ip });
    expect(again.code).toBe("unauthenticated");
  });
});

/** The same journey through a generated client on any transport. */
async function journey(transport: Transport, label: string): Promise<void> {
  const client: Client<typeof AuthService> = createClient(AuthService, transport);
  const u = newUser(label);
  secret("password", u.password);
  const headers = { "x-forwarded-for": freshIp() };

  const reg = await client.register(u, { headers });
  expect(reg.user?.username).toBe(u.username);
  expect(reg.user?.emailVerified).toBe(false);

  const { token } = await emailToken(resend, u.email, "verify-email");
  secret("verification token", token);
  const verified = await client.verifyEmail({ token }, { headers });
  expect(verified.user?.emailVerified).toBe(true);

  const s = await client.login({ identifier: u.username, password: u.password, deviceName: label }, { headers });
  secret("access token", s.accessToken);
  secret("refresh token", s.refreshToken);
  expect(s.user?.role).toBe(Role.USER);
  expect(s.accessTokenExpiresAt).toBeDefined();
  const auth = (t: string) => ({ headers: { ...headers, authorization: `Bearer ${t}` } });

  const me = await client.getCurrentUser({}, auth(s.accessToken));
  expect(me.user?.id).toBe(reg.user?.id);
  expect(me.user?.emailVerified).toBe(true);

  const r = await client.refreshToken({ refreshToken: s.refreshToken }, { headers });
  secret("refreshed access token", r.accessToken);
  secret("refreshed refresh token", r.refreshToken);
  expect(r.refreshToken).not.toBe(s.refreshToken);
  expect(r.sessionId).toBe(s.sessionId);

  await client.logout({}, auth(r.accessToken));

  for (const old of [r.accessToken, s.accessToken]) {
    await expectRpcError(client.getCurrentUser({}, auth(old)), Code.Unauthenticated, "SESSION_REVOKED");
  }
}

describe("the same journey over gRPC and gRPC-Web", () => {
  it("gRPC (HTTP/2)", async () => {
    await journey(transportFor(server, undefined, "grpc"), "grpc");
  });

  it("gRPC-Web (HTTP/1.1)", async () => {
    await journey(transportFor(server, undefined, "grpc-web"), "grpcweb");
  });
});

describe("email delivery", () => {
  it("retries a failing provider with growing delays and never loses the account", async () => {
    const u = newUser("retry");
    secret("password", u.password);
    const before = resend.attempts.length;
    resend.failNext(2);
    const ip = freshIp();
    await register(server, u, ip);

    // The account exists and works while the email is still failing.
    const s = await login(server, u, { ip });
    secret("access token", s.accessToken);
    secret("refresh token", s.refreshToken);
    expect((await call(server, "GetCurrentUser", {}, { token: s.accessToken, ip })).status).toBe(200);

    const { token } = await emailToken(resend, u.email, "verify-email");
    secret("verification token", token);
    const mine = resend.attempts.slice(before).filter((a) => a.to.includes(u.email));
    expect(mine.map((a) => a.status)).toEqual([500, 500, 200]);
    // Backoff: the outbox waits (500 ms, then 1000 ms) before each retry; lower bounds only.
    expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(450);
    expect(mine[2].at - mine[1].at).toBeGreaterThanOrEqual(950);

    await server.features.outbox.flush();
    const failures = server.logs.filter((l) => l.msg === "email send failed: retrying" && l.kind === "verify_email");
    expect(failures.map((l) => l.attempt)).toEqual([1, 2]);
    expect(server.logs.some((l) => l.msg === "email sent" && l.kind === "verify_email" && l.attempt === 3)).toBe(true);

    // The emailed token still verifies the kept account.
    expect((await call(server, "VerifyEmail", { token }, { ip })).status).toBe(200);
  });

  it("sends the password-reset and password-changed messages (HTML and text) with working links", async () => {
    const u = newUser("reset");
    secret("password", u.password);
    const ip = freshIp();
    await register(server, u, ip);
    expect((await call(server, "RequestPasswordReset", { email: u.email.toUpperCase() }, { ip })).status).toBe(200);
    const { token, email } = await emailToken(resend, u.email, "reset-password");
    secret("reset token", token);
    expect(email.html).toContain("reset-password?token=");

    const next = secret("new password", `${u.password}-Renewed`);
    expect((await call(server, "ResetPassword", { token, newPassword: next }, { ip })).status).toBe(200);
    const changed = await resend.waitForEmail(u.email, { subject: /changed/i });
    expect(changed.text).toMatch(/password .* was just changed/i);
    expect(changed.html).toContain("<html");

    const s = await login(server, { username: u.username, password: next }, { ip });
    secret("access token", s.accessToken);
    secret("refresh token", s.refreshToken);
    const newer = secret("changed password", `${next}-Again`);
    expect((await call(server, "ChangePassword", { currentPassword: next, newPassword: newer }, { token: s.accessToken, ip })).status).toBe(200);
    await resend.waitForEmail(u.email, { subject: /changed/i, skip: 1 });

    // The stored bcrypt hash, to look for it in the logs too.
    const row = await server.db.execute({ sql: "SELECT password_hash FROM users WHERE email = ?", args: [u.email] });
    secret("bcrypt hash", String(row.rows[0].password_hash));
  });
});

describe("logs", () => {
  it("no password, token or hash appears in any log line", async () => {
    await server.features.outbox.flush();
    expect(server.logs.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThan(20);
    const lines = server.logs.map((l) => JSON.stringify(l));
    const needles = [
      ...secrets,
      // What the database keeps of the opaque tokens must not be logged either.
      ...secrets.filter((s) => s.what.includes("token") && !s.what.includes("access")).map((s) => ({ what: `sha256 of ${s.what}`, value: sha256hex(s.value) })),
      { what: "bcrypt hash prefix", value: "$2b$" },
    ];
    const leaks: string[] = [];
    for (const n of needles) {
      const hit = lines.find((l) => l.includes(n.value));
      if (hit) leaks.push(`${n.what} in: ${hit.slice(0, 300)}`);
    }
    expect(leaks).toEqual([]);
    // The access tokens' signatures alone (the part after the last dot) neither.
    for (const s of secrets.filter((x) => x.what.includes("access token"))) {
      const sig = s.value.split(".")[2];
      expect(lines.some((l) => l.includes(sig))).toBe(false);
    }
  });
});

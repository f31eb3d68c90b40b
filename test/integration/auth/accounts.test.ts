/**
 * Email tokens and account changes (DESIGN.md §5): an emailed token works once even when two
 * requests race; ResetPassword revokes every session; ChangePassword revokes the others and
 * keeps the current one; UpdateProfile keeps email and username unique case-insensitively, and
 * a new email (current password needed) becomes the account's address only when its own
 * verification link is used (test/security/email-change.test.ts has the attacks).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  emailToken,
  freshIp,
  login,
  newUser,
  ok,
  register,
  registerAndLogin,
  sha256hex,
  startAuthServer,
  type LoginReply,
  type NewUser,
} from "../../support/auth.js";
import { startResendStandIn, type ResendStandIn } from "../../support/resend.js";
import type { TestServer } from "../../support/server.js";

let resend: ResendStandIn;
let server: TestServer;

beforeAll(async () => {
  resend = await startResendStandIn();
  // No session cache: a revoked token fails on the very next call.
  server = await startAuthServer({ resend, env: { SESSION_CACHE_MS: "0" } });
});
afterAll(async () => {
  await server?.stop();
  await resend?.close();
});

const me = (token: string) => call(server, "GetCurrentUser", {}, { token });

async function resetToken(u: NewUser, skip = 0): Promise<string> {
  expect((await call(server, "RequestPasswordReset", { email: u.email }, { ip: freshIp() })).status).toBe(200);
  return (await emailToken(resend, u.email, "reset-password", skip)).token;
}

describe("email tokens are single use, even when two requests race", () => {
  it("VerifyEmail: of two concurrent requests with one token exactly one succeeds", async () => {
    for (let round = 0; round < 3; round++) {
      const u = newUser(`vrace${round}`);
      const id = await register(server, u);
      const { token } = await emailToken(resend, u.email, "verify-email");
      const replies = await Promise.all([call(server, "VerifyEmail", { token }), call(server, "VerifyEmail", { token })]);
      expect(replies.map((r) => r.status).sort()).toEqual([200, 400]);
      const loser = replies.find((r) => r.status !== 200)!;
      expect(loser.code).toBe("failed_precondition");
      expect(loser.info).toMatchObject({ reason: "TOKEN_INVALID_OR_USED", field: "token" });
      // A third try later fails too, and the account is verified exactly once.
      expect((await call(server, "VerifyEmail", { token })).code).toBe("failed_precondition");
      const ev = await server.db.execute({ sql: "SELECT COUNT(*) AS n FROM security_events WHERE user_id = ? AND type = 'email_verified'", args: [id] });
      expect(Number(ev.rows[0].n)).toBe(1);
    }
  });

  it("ResetPassword: of two concurrent requests with one token exactly one succeeds", async () => {
    for (let round = 0; round < 3; round++) {
      const u = newUser(`rrace${round}`);
      const id = await register(server, u);
      const token = await resetToken(u);
      const [p1, p2] = [`${u.password}-One`, `${u.password}-Two`];
      const replies = await Promise.all([
        call(server, "ResetPassword", { token, newPassword: p1 }),
        call(server, "ResetPassword", { token, newPassword: p2 }),
      ]);
      expect(replies.map((r) => r.status).sort()).toEqual([200, 400]);
      const loser = replies.find((r) => r.status !== 200)!;
      expect(loser.info).toMatchObject({ reason: "TOKEN_INVALID_OR_USED", field: "token" });
      // The winner's password is the password; the loser's is not.
      const winner = replies[0].status === 200 ? p1 : p2;
      const other = winner === p1 ? p2 : p1;
      expect((await call(server, "Login", { identifier: u.username, password: winner }, { ip: freshIp() })).status).toBe(200);
      expect((await call(server, "Login", { identifier: u.username, password: other }, { ip: freshIp() })).code).toBe("unauthenticated");
      const ev = await server.db.execute({ sql: "SELECT COUNT(*) AS n FROM security_events WHERE user_id = ? AND type = 'password_reset'", args: [id] });
      expect(Number(ev.rows[0].n)).toBe(1);
    }
  });

  it("only the token's SHA-256 is stored", async () => {
    const u = newUser("hashonly");
    const id = await register(server, u);
    const { token } = await emailToken(resend, u.email, "verify-email");
    const rs = await server.db.execute({ sql: "SELECT token_hash FROM email_tokens WHERE user_id = ?", args: [id] });
    expect(rs.rows.map((r) => r.token_hash)).toEqual([sha256hex(token)]);
  });
});

describe("password changes and sessions", () => {
  it("ResetPassword revokes every session", async () => {
    const { user } = await registerAndLogin(server, "resetall");
    const s1 = await login(server, user, { device: "phone" });
    const s2 = await login(server, user, { device: "laptop" });
    expect((await me(s1.accessToken)).status).toBe(200);
    expect((await me(s2.accessToken)).status).toBe(200);

    const token = await resetToken(user);
    const next = `${user.password}-Reset`;
    expect((await call(server, "ResetPassword", { token, newPassword: next })).status).toBe(200);

    for (const s of [s1, s2]) {
      const r = await me(s.accessToken);
      expect(r.code).toBe("unauthenticated");
      expect(r.info?.reason).toBe("SESSION_REVOKED");
      expect((await call(server, "RefreshToken", { refreshToken: s.refreshToken })).code).toBe("unauthenticated");
    }
    const live = await server.db.execute({
      sql: "SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username_key = ? AND s.revoked_at IS NULL",
      args: [user.username],
    });
    expect(Number(live.rows[0].n)).toBe(0);
    // The old password is gone, the new one works.
    expect((await call(server, "Login", { identifier: user.username, password: user.password }, { ip: freshIp() })).code).toBe("unauthenticated");
    expect((await login(server, { username: user.username, password: next })).accessToken).toBeTruthy();
  });

  it("ChangePassword revokes the other sessions and keeps the current one", async () => {
    const { user, session: current } = await registerAndLogin(server, "change");
    const other1 = await login(server, user, { device: "tablet" });
    const other2 = await login(server, user, { device: "tv" });
    const next = `${user.password}-Changed`;

    const r = await ok<{ revokedSessions: number }>(server, "ChangePassword", { currentPassword: user.password, newPassword: next }, { token: current.accessToken });
    expect(r.revokedSessions).toBe(2);

    expect((await me(current.accessToken)).status).toBe(200);
    expect((await call(server, "RefreshToken", { refreshToken: current.refreshToken })).status).toBe(200);
    for (const s of [other1, other2]) {
      expect((await me(s.accessToken)).code).toBe("unauthenticated");
      expect((await call(server, "RefreshToken", { refreshToken: s.refreshToken })).code).toBe("unauthenticated");
    }
    const sessions = await ok<{ sessions: { id: string; current?: boolean }[] }>(server, "ListSessions", {}, { token: current.accessToken });
    expect(sessions.sessions.map((s) => s.id)).toEqual([current.sessionId]);
    expect(sessions.sessions[0].current).toBe(true);

    expect((await call(server, "Login", { identifier: user.username, password: user.password }, { ip: freshIp() })).code).toBe("unauthenticated");
    expect((await call(server, "Login", { identifier: user.username, password: next }, { ip: freshIp() })).status).toBe(200);
  });

  it("ChangePassword voids password-reset links sent before it", async () => {
    const { user, session } = await registerAndLogin(server, "voidreset");
    const token = await resetToken(user);
    const next = `${user.password}-Changed`;
    await ok(server, "ChangePassword", { currentPassword: user.password, newPassword: next }, { token: session.accessToken });
    const r = await call(server, "ResetPassword", { token, newPassword: `${user.password}-Attacker` });
    expect(r.code).toBe("failed_precondition");
    expect(r.info?.reason).toBe("TOKEN_INVALID_OR_USED");
    expect((await login(server, { username: user.username, password: next })).accessToken).toBeTruthy();
  });

  it("ChangePassword with a wrong current password changes nothing", async () => {
    const { user, session } = await registerAndLogin(server, "nochange");
    const other = await login(server, user);
    const r = await call(server, "ChangePassword", { currentPassword: `${user.password}x`, newPassword: `${user.password}-New` }, { token: session.accessToken });
    expect(r.code).toBe("invalid_argument");
    expect(r.info?.field).toBe("current_password");
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await login(server, user)).accessToken).toBeTruthy();
  });
});

describe("UpdateProfile", () => {
  let alice: { user: NewUser; session: LoginReply };
  let bob: { user: NewUser; session: LoginReply };
  beforeAll(async () => {
    alice = await registerAndLogin(server, "alice");
    bob = await registerAndLogin(server, "bob");
  });
  const update = (s: LoginReply, body: Record<string, string>) => call(server, "UpdateProfile", body, { token: s.accessToken });
  const changeEmail = (who: { user: NewUser; session: LoginReply }, email: string) => update(who.session, { email, currentPassword: who.user.password });
  const verifyNewest = async (address: string) => {
    const mails = resend.messages.filter((m) => m.to.includes(address.toLowerCase()) && /verify/i.test(m.subject));
    const { token } = await emailToken(resend, address.toLowerCase(), "verify-email", Math.max(0, mails.length - 1));
    return call(server, "VerifyEmail", { token });
  };

  it("refuses another account's email in any case, naming the field", async () => {
    const r = await changeEmail(bob, alice.user.email.toUpperCase());
    expect(r.code).toBe("already_exists");
    expect(r.info).toMatchObject({ reason: "EMAIL_TAKEN", field: "email" });
    expect(r.message).toContain("email");
  });

  it("refuses another account's username in any case, naming the field", async () => {
    const r = await update(bob.session, { username: alice.user.username.toUpperCase() });
    expect(r.code).toBe("already_exists");
    expect(r.info).toMatchObject({ reason: "USERNAME_TAKEN", field: "username" });
    // Register is held to the same rule.
    const dup = await call(server, "Register", { ...newUser("dup"), username: alice.user.username.toUpperCase() }, { ip: freshIp() });
    expect(dup.info).toMatchObject({ reason: "USERNAME_TAKEN", field: "username" });
    const dupEmail = await call(server, "Register", { ...newUser("dup"), email: alice.user.email.toUpperCase() }, { ip: freshIp() });
    expect(dupEmail.info).toMatchObject({ reason: "EMAIL_TAKEN", field: "email" });
  });

  it("lets a user change the case of their own username, and frees the old name", async () => {
    const upper = bob.user.username.toUpperCase();
    const r = await update(bob.session, { username: upper });
    expect(r.status).toBe(200);
    expect((r.body as { user: { username: string } }).user.username).toBe(upper);
    // Logging in by any case still finds the account.
    expect((await login(server, { username: bob.user.username, password: bob.user.password })).accessToken).toBeTruthy();

    const renamed = `${bob.user.username.slice(0, 24)}-new`;
    expect((await update(bob.session, { username: renamed })).status).toBe(200);
    const takeOld = await update(alice.session, { username: bob.user.username });
    expect(takeOld.status).toBe(200);
    bob.user.username = renamed;
    alice.user.username = (takeOld.body as { user: { username: string } }).user.username;
  });

  it("a new email waits for its own verification; then it is the account's, verified", async () => {
    // Verify alice's first address.
    const first = await emailToken(resend, alice.user.email, "verify-email");
    expect((await call(server, "VerifyEmail", { token: first.token })).status).toBe(200);
    expect(((await me(alice.session.accessToken)).body as { user: { emailVerified?: boolean } }).user.emailVerified).toBe(true);

    const newEmail = `New-${alice.user.email}`;
    const r = await changeEmail(alice, newEmail);
    expect(r.status).toBe(200);
    const user = (r.body as { user: { email: string; pendingEmail: string; emailVerified?: boolean } }).user;
    expect(user).toMatchObject({ email: alice.user.email, pendingEmail: newEmail.toLowerCase(), emailVerified: true });

    const v = await verifyNewest(newEmail);
    expect(v.status).toBe(200);
    expect((v.body as { user: { email: string; emailVerified: boolean } }).user).toMatchObject({ email: newEmail.toLowerCase(), emailVerified: true });
    // The old address is free again, and unique to whoever takes it (once verified).
    expect((await changeEmail(bob, alice.user.email)).status).toBe(200);
    expect((await verifyNewest(alice.user.email)).status).toBe(200);
    expect((await changeEmail(alice, alice.user.email.toUpperCase())).info?.field).toBe("email");
  });

  it("a reset link sent to the previous address no longer resets the password once the new one is verified", async () => {
    const dave = await registerAndLogin(server, "dave");
    const token = await resetToken(dave.user);
    const moved = `moved-${dave.user.email}`;
    expect((await changeEmail(dave, moved)).status).toBe(200);
    expect((await verifyNewest(moved)).status).toBe(200);
    const r = await call(server, "ResetPassword", { token, newPassword: `${dave.user.password}-Hijack` });
    expect(r.code).toBe("failed_precondition");
    expect(r.info?.reason).toBe("TOKEN_INVALID_OR_USED");
    // Nothing changed: the password is the old one and the session lives.
    expect((await me(dave.session.accessToken)).status).toBe(200);
    expect((await login(server, { username: dave.user.username, password: dave.user.password })).accessToken).toBeTruthy();
  });

  it("a verification link sent to the previous address no longer verifies anything once the new one is", async () => {
    const carol = await registerAndLogin(server, "carol");
    const old = await emailToken(resend, carol.user.email, "verify-email");
    const moved = `moved-${carol.user.email}`;
    expect((await changeEmail(carol, moved)).status).toBe(200);
    expect((await verifyNewest(moved)).status).toBe(200);
    const r = await call(server, "VerifyEmail", { token: old.token });
    expect(r.code).toBe("failed_precondition");
    expect(((await me(carol.session.accessToken)).body as { user: { email: string } }).user.email).toBe(moved);
  });
});

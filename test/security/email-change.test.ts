/**
 * Issue 17.8: an access token alone took the account over for good. `UpdateProfile{email}` needed
 * no password and told the old address nothing, and a reset was then mailed to the new,
 * unverified address. Now: a new email needs the current password; the old address is told, with
 * a link that secures the account; until the new address is verified the old one stays the
 * address for login and reset; security events record each step.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, emailToken, freshIp, login, newUser, ok, registerAndLogin, startAuthServer, type AuthTestServer, type LoginReply, type NewUser } from "../support/auth.js";
import { tokenFromEmail } from "../support/resend.js";
import { PUBLIC_URL } from "../support/auth.js";

let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer({ env: { SESSION_CACHE_MS: "0" } });
});
afterAll(async () => {
  await server?.stop();
});

type User = { email: string; pendingEmail?: string; emailVerified?: boolean };
const me = async (token: string) => (await ok<{ user: User }>(server, "GetCurrentUser", {}, { token })).user;
const update = (s: LoginReply, body: Record<string, string>) => call(server, "UpdateProfile", body, { token: s.accessToken });
const mailsTo = async (address: string) => {
  await server.features.outbox.flush();
  return server.resend.messages.filter((m) => m.to.includes(address));
};
async function events(token: string): Promise<string[]> {
  const r = await ok<{ events: { type: string }[] }>(server, "ListSecurityEvents", {}, { token });
  return r.events.map((e) => e.type.replace("SECURITY_EVENT_TYPE_", ""));
}
async function verified(u: NewUser): Promise<void> {
  const { token } = await emailToken(server.resend, u.email, "verify-email");
  expect((await call(server, "VerifyEmail", { token })).status).toBe(200);
}

describe("changing the email needs the current password", () => {
  it("without it: InvalidArgument naming current_password, and nothing changes or is sent", async () => {
    const a = await registerAndLogin(server, "pw");
    const target = `taken-over-${a.user.email}`;
    const before = server.resend.messages.length;
    const r = await update(a.session, { email: target });
    expect(r.code).toBe("invalid_argument");
    expect(r.info).toMatchObject({ reason: "PASSWORD_REQUIRED", field: "current_password" });
    const wrong = await update(a.session, { email: target, currentPassword: `${a.user.password}x` });
    expect(wrong.code).toBe("invalid_argument");
    expect(wrong.info).toMatchObject({ reason: "WRONG_PASSWORD", field: "current_password" });
    expect(await me(a.session.accessToken)).toMatchObject({ email: a.user.email });
    expect((await me(a.session.accessToken)).pendingEmail ?? "").toBe("");
    await server.features.outbox.flush();
    expect(server.resend.messages.slice(before).filter((m) => m.to.includes(target))).toEqual([]);
  });

  it("the display name and username change without it", async () => {
    const a = await registerAndLogin(server, "nopw");
    expect((await update(a.session, { displayName: "New name" })).status).toBe(200);
  });
});

describe("until the new address is verified", () => {
  let a: { user: NewUser; id: string; session: LoginReply };
  let next: string;
  beforeAll(async () => {
    a = await registerAndLogin(server, "move");
    await verified(a.user);
    next = `moved-${a.user.email}`;
    const r = await update(a.session, { email: next, currentPassword: a.user.password });
    expect(r.status).toBe(200);
    expect((r.body as { user: User }).user).toMatchObject({ email: a.user.email, pendingEmail: next, emailVerified: true });
  });

  it("the old address stays the login address; the new one logs nobody in", async () => {
    expect((await login(server, { username: a.user.email, password: a.user.password })).accessToken).toBeTruthy();
    const r = await call(server, "Login", { identifier: next, password: a.user.password, deviceName: "x" }, { ip: freshIp() });
    expect(r.info?.reason).toBe("INVALID_CREDENTIALS");
  });

  it("a password reset for the new address sends nothing; for the old one it goes to the old one", async () => {
    expect((await call(server, "RequestPasswordReset", { email: next }, { ip: freshIp() })).status).toBe(200);
    expect((await call(server, "RequestPasswordReset", { email: a.user.email }, { ip: freshIp() })).status).toBe(200);
    expect((await mailsTo(next)).filter((m) => /reset/i.test(m.subject))).toEqual([]);
    expect((await mailsTo(a.user.email)).filter((m) => /reset your/i.test(m.subject))).toHaveLength(1);
  });

  it("the old address was told, with a link that secures the account; the new one got the verification link", async () => {
    const notice = (await mailsTo(a.user.email)).find((m) => /email address/i.test(m.subject));
    expect(notice, "a notice to the old address").toBeDefined();
    expect(notice!.text).toMatch(/if this was not you/i);
    expect(tokenFromEmail(notice!, PUBLIC_URL, "reset-password")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await mailsTo(next)).filter((m) => /verify/i.test(m.subject))).toHaveLength(1);
  });

  it("security events record the request", async () => {
    expect(await events(a.session.accessToken)).toContain("EMAIL_CHANGE_REQUESTED");
  });

  it("once verified, the new address is the account's and the old one is free", async () => {
    const { token } = await emailToken(server.resend, next, "verify-email");
    const v = await ok<{ user: User }>(server, "VerifyEmail", { token });
    expect(v.user).toMatchObject({ email: next, emailVerified: true });
    expect(v.user.pendingEmail ?? "").toBe("");
    expect((await login(server, { username: next, password: a.user.password })).accessToken).toBeTruthy();
    const old = await call(server, "Login", { identifier: a.user.email, password: a.user.password, deviceName: "x" }, { ip: freshIp() });
    expect(old.info?.reason).toBe("INVALID_CREDENTIALS");
    expect(await events(a.session.accessToken)).toContain("EMAIL_CHANGED");
  });
});

describe("a thief with the password and a token", () => {
  it("moves the account to their address, and the owner takes it back with the link sent to the old address", async () => {
    const owner = await registerAndLogin(server, "own");
    await verified(owner.user);
    // The thief: the owner's password and a session of their own.
    const thief = await login(server, owner.user);
    const thiefAddress = `thief-${owner.user.email}`;
    expect((await update(thief, { email: thiefAddress, currentPassword: owner.user.password })).status).toBe(200);
    const { token: verifyToken } = await emailToken(server.resend, thiefAddress, "verify-email");
    expect((await call(server, "VerifyEmail", { token: verifyToken })).status).toBe(200);
    // And changes the password, which ends the owner's other sessions.
    const stolen = `${owner.user.password}-stolen`;
    expect((await call(server, "ChangePassword", { currentPassword: owner.user.password, newPassword: stolen }, { token: thief.accessToken })).status).toBe(200);

    // The owner still has the notice sent to the old address: its link secures the account.
    const notice = (await mailsTo(owner.user.email)).find((m) => /email address/i.test(m.subject))!;
    const secure = tokenFromEmail(notice, PUBLIC_URL, "reset-password");
    const mine = `${owner.user.password}-mine-again`;
    expect((await call(server, "ResetPassword", { token: secure, newPassword: mine })).status).toBe(200);

    // Every session ended (the thief's too), the old address is the account's again, verified.
    expect((await call(server, "GetCurrentUser", {}, { token: thief.accessToken })).info?.reason).toBe("SESSION_REVOKED");
    const back = await login(server, { username: owner.user.email, password: mine });
    expect(await me(back.accessToken)).toMatchObject({ email: owner.user.email, emailVerified: true });
    const t = await call(server, "Login", { identifier: thiefAddress, password: mine, deviceName: "x" }, { ip: freshIp() });
    expect(t.info?.reason).toBe("INVALID_CREDENTIALS");
    expect(await events(back.accessToken)).toContain("ACCOUNT_SECURED");
    // The link works once.
    expect((await call(server, "ResetPassword", { token: secure, newPassword: `${mine}-again` })).info?.reason).toBe("TOKEN_INVALID_OR_USED");
  });
});

describe("a pending address taken meanwhile", () => {
  it("cannot be verified: AlreadyExists EMAIL_TAKEN, and the account keeps its address", async () => {
    const a = await registerAndLogin(server, "race");
    const wanted = `contested-${newUser("x").email}`;
    expect((await update(a.session, { email: wanted, currentPassword: a.user.password })).status).toBe(200);
    // Someone registers the address first (pending addresses do not reserve anything).
    expect((await call(server, "Register", { ...newUser("first"), email: wanted }, { ip: freshIp() })).status).toBe(200);
    const { token } = await emailToken(server.resend, wanted, "verify-email", 0);
    // The first email to `wanted` is the pending change's verification (sent before the registration's).
    const r = await call(server, "VerifyEmail", { token });
    expect(r.code).toBe("already_exists");
    expect(r.info).toMatchObject({ reason: "EMAIL_TAKEN", field: "email" });
    expect(await me(a.session.accessToken)).toMatchObject({ email: a.user.email });
  });
});

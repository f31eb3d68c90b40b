/**
 * Issue 17.9 (mail): one account sent a victim 37 emails in 7.6 s (UpdateProfile{email} flipped
 * between the victim and a sink; ChangePassword notices to an address registered without
 * verification), with any text the attacker chose as the first line, from the product's own
 * sender. Now every path that sends mail is limited per account and per recipient, in the
 * database (so every instance counts together), and user-chosen text never goes into mail to
 * an address that was not verified.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, type Db } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrator.js";
import { call, emailToken, freshIp, newUser, ok, register, registerAndLogin, login, startAuthServer, strongPassword, type AuthTestServer } from "../support/auth.js";
import { startResendStandIn, type ResendStandIn } from "../support/resend.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PER_ADDRESS = 6;
const PER_ACCOUNT = 10;
let resend: ResendStandIn;
let a: AuthTestServer;
let b: AuthTestServer;
let db: Db;
const dir = mkdtempSync(join(tmpdir(), "sqlstudio-mail-"));

beforeAll(async () => {
  resend = await startResendStandIn();
  // Two instances on one database: the limits must be counted there, not in one process.
  db = await openDb({ url: `file:${join(dir, "app.db")}` });
  await migrate(db);
  const env = { MAIL_MAX_PER_ADDRESS_PER_HOUR: String(PER_ADDRESS), MAIL_MAX_PER_ACCOUNT_PER_HOUR: String(PER_ACCOUNT) };
  a = await startAuthServer({ resend, env, db });
  b = await startAuthServer({ resend, env, db });
});
afterAll(async () => {
  // Both at once: the first to finish closes the shared database.
  await Promise.all([a?.stop(), b?.stop()]);
  await resend?.close();
  rmSync(dir, { recursive: true, force: true });
});

const delivered = async (to: string) => {
  await a.features.outbox.flush();
  await b.features.outbox.flush();
  return resend.messages.filter((m) => m.to.includes(to));
};

describe("flipping UpdateProfile{email} between a victim and a sink", () => {
  it("reaches the victim at most the per-address limit, then answers ResourceExhausted MAIL_RATE_LIMITED", async () => {
    const attacker = await registerAndLogin(a, "flip");
    const victim = `victim-${newUser("v").email}`;
    const sink = `sink-${newUser("s").email}`;
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const server = i % 2 ? a : b;
      const r = await call(server, "UpdateProfile", { email: i % 2 ? sink : victim, currentPassword: attacker.user.password }, { token: attacker.session.accessToken });
      answers.push(r.status === 200 ? "ok" : `${r.code}:${r.info?.reason}`);
      if (r.status !== 200) {
        expect(r.code).toBe("resource_exhausted");
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(answers).toContain("resource_exhausted:MAIL_RATE_LIMITED");
    expect((await delivered(victim)).length).toBeLessThanOrEqual(PER_ADDRESS);
    // Every mail of the account counts: notices to its own address included.
    const all = resend.messages.filter((m) => m.to.some((t) => [victim, sink, attacker.user.email].includes(t)));
    expect(all.length).toBeLessThanOrEqual(PER_ACCOUNT);
  });
});

describe("many accounts against one address", () => {
  it("the address gets at most its limit, whichever accounts (and instances) ask", async () => {
    const victim = `target-${newUser("t").email}`;
    for (let i = 0; i < 5; i++) {
      const attacker = await registerAndLogin(i % 2 ? a : b, `many${i}`);
      for (let k = 0; k < 3; k++) {
        await call(i % 2 ? a : b, "UpdateProfile", { email: k % 2 ? `sink${i}${k}-${victim}` : victim, currentPassword: attacker.user.password }, { token: attacker.session.accessToken });
      }
    }
    expect((await delivered(victim)).length).toBeLessThanOrEqual(PER_ADDRESS);
  });
});

describe("ChangePassword notices to an address registered without verification", () => {
  it("stop at the limit, while the password still changes", async () => {
    const victim = `unverified-${newUser("u").email}`;
    const u = { ...newUser("cp"), email: victim };
    await register(a, u);
    const s = await login(a, u);
    let password = u.password;
    for (let i = 0; i < 10; i++) {
      const next = strongPassword();
      const r = await call(i % 2 ? a : b, "ChangePassword", { currentPassword: password, newPassword: next }, { token: s.accessToken });
      expect(r.status).toBe(200);
      password = next;
    }
    expect((await delivered(victim)).length).toBeLessThanOrEqual(PER_ADDRESS);
  });
});

describe("user-chosen text", () => {
  const bait = "YOUR ACCOUNT IS LOCKED call +1 555 0100";

  it("never reaches an unverified address: not the display name, not the username", async () => {
    const u = { ...newUser("bait"), displayName: bait };
    await register(a, u);
    const s = await login(a, u);
    await call(a, "ChangePassword", { currentPassword: u.password, newPassword: strongPassword() }, { token: s.accessToken });
    const mails = await delivered(u.email);
    expect(mails.length).toBeGreaterThanOrEqual(2);
    for (const m of mails) {
      for (const body of [m.subject, m.text, m.html]) {
        expect(body).not.toContain("YOUR ACCOUNT IS LOCKED");
        expect(body).not.toContain(u.username);
      }
    }
  });

  it("nor the new address a change is asked for", async () => {
    const u = await registerAndLogin(a, "bait2");
    await call(a, "UpdateProfile", { displayName: bait }, { token: u.session.accessToken });
    const next = `call-555-0100-${u.user.email}`;
    expect((await call(a, "UpdateProfile", { email: next, currentPassword: u.user.password }, { token: u.session.accessToken })).status).toBe(200);
    for (const m of [...(await delivered(next)), ...(await delivered(u.user.email))]) {
      expect(m.text).not.toContain("YOUR ACCOUNT IS LOCKED");
      // The notice to the (unverified) old address does not carry the new one either.
      if (m.to.includes(u.user.email)) expect(m.text).not.toContain(next);
    }
  });

  it("a verified address is greeted by name", async () => {
    const u = { ...newUser("named"), displayName: "Ann Example" };
    await register(a, u);
    const { token } = await emailToken(resend, u.email, "verify-email");
    expect((await call(a, "VerifyEmail", { token })).status).toBe(200);
    const s = await login(a, u);
    await ok(a, "ChangePassword", { currentPassword: u.password, newPassword: strongPassword() }, { token: s.accessToken });
    const notice = (await delivered(u.email)).find((m) => /password was changed/i.test(m.subject));
    expect(notice?.text).toContain("Hello Ann Example,");
  });
});

describe("ResendVerificationEmail and RequestPasswordReset", () => {
  it("count against the same per-address limit (a reset still answers OK)", async () => {
    const u = newUser("both");
    await register(a, u, freshIp());
    const s = await login(a, u);
    for (let i = 0; i < 3; i++) await call(i % 2 ? a : b, "ResendVerificationEmail", {}, { token: s.accessToken });
    for (let i = 0; i < 6; i++) expect((await call(i % 2 ? a : b, "RequestPasswordReset", { email: u.email }, { ip: freshIp() })).status).toBe(200);
    expect((await delivered(u.email)).length).toBeLessThanOrEqual(PER_ADDRESS);
  });
});

/**
 * Bad input on every AuthService RPC (empty, too long, wrong JSON types, control characters,
 * a 10 MB password) gets InvalidArgument naming the field, and stores nothing: every auth table
 * is read in full before and after each call and must be unchanged.
 *
 * Wrong JSON types never reach the service: Connect's JSON decoder refuses them with
 * InvalidArgument and a message naming the field (`<message type>.<field>`); those answers
 * carry no ErrorInfo, so for them the field is checked in the message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUTH_TABLES,
  call,
  emailToken,
  freshIp,
  newUser,
  registerAndLogin,
  startAuthServer,
  type JsonReply,
  type LoginReply,
  type NewUser,
} from "../../support/auth.js";
import { startResendStandIn, type ResendStandIn } from "../../support/resend.js";
import type { TestServer } from "../../support/server.js";

const TEN_MB = "p".repeat(10 * 1024 * 1024);
const CONTROL = ["\u0000", "\u0007", "\u001b", "\u007f"];

let resend: ResendStandIn;
let server: TestServer;
let owner: { user: NewUser; id: string; session: LoginReply };

beforeAll(async () => {
  resend = await startResendStandIn();
  // Large enough for the 10 MB password to reach validation instead of the size limit.
  server = await startAuthServer({ resend, env: { READ_MAX_BYTES: String(16 * 1024 * 1024) } });
  owner = await registerAndLogin(server, "owner");
});
afterAll(async () => {
  await server?.stop();
  await resend?.close();
});

/** Every row of every auth table, to compare before/after. */
async function snapshot(): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of AUTH_TABLES) out[t] = (await server.db.execute(`SELECT * FROM ${t} ORDER BY rowid`)).rows.map((r) => ({ ...r }));
  return JSON.stringify(out);
}

interface Case {
  method: string;
  /** The JSON field (camelCase) and its proto name. */
  field: string;
  proto: string;
  label: string;
  value: unknown;
  /** A valid request the bad value is put into. */
  base: () => Record<string, unknown>;
  auth?: boolean;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const strong = () => `Quartz-${Math.random().toString(36).slice(2, 10)}-Lantern`;

/** The usual bad values for a required text field of at most `max` characters. */
function textCases(method: string, field: string, max: number, base: () => Record<string, unknown>, opts: { auth?: boolean; required?: boolean } = {}): Case[] {
  const proto = snake(field);
  const cases: Omit<Case, "method" | "field" | "proto" | "base">[] = [
    { label: "too long", value: "a".repeat(max + 1) },
    { label: "far too long", value: "a".repeat(100_000) },
    ...CONTROL.map((c) => ({ label: `control ${JSON.stringify(c)}`, value: `ab${c}cd@example.test` })),
    { label: "a number", value: 42 },
    { label: "an object", value: { x: 1 } },
    { label: "an array", value: ["a"] },
    { label: "a boolean", value: true },
  ];
  if (opts.required !== false) cases.push({ label: "empty", value: "" }, { label: "blank", value: "   " });
  return cases.map((c) => ({ method, field, proto, base, auth: opts.auth, ...c }));
}

function passwordCases(method: string, field: string, base: () => Record<string, unknown>, opts: { auth?: boolean; isNew: boolean }): Case[] {
  const proto = snake(field);
  const cases: Omit<Case, "method" | "field" | "proto" | "base">[] = [
    { label: "empty", value: "" },
    { label: "257 characters", value: "Qz9!".repeat(64) + "x" },
    { label: "10 MB", value: TEN_MB },
    ...CONTROL.map((c) => ({ label: `control ${JSON.stringify(c)}`, value: `Quartz-${c}-Lantern-4821` })),
    { label: "a number", value: 12345678901 },
    { label: "an array", value: ["Quartz-Lantern-4821"] },
  ];
  if (opts.isNew) cases.push({ label: "too short", value: "Qz9!x" }, { label: "common", value: "password1234" });
  return cases.map((c) => ({ method, field, proto, base, auth: opts.auth, ...c }));
}

const registerBase = () => ({ ...newUser("bad") });
const loginBase = () => ({ identifier: owner.user.username, password: owner.user.password, deviceName: "d" });
const changeBase = () => ({ currentPassword: owner.user.password, newPassword: strong() });
const token43 = "A".repeat(43);

const cases: Case[] = [
  ...textCases("Register", "email", 254, registerBase),
  { method: "Register", field: "email", proto: "email", label: "not an email", value: "nope", base: registerBase },
  ...textCases("Register", "username", 64, registerBase),
  { method: "Register", field: "username", proto: "username", label: "33 characters", value: "a".repeat(33), base: registerBase },
  { method: "Register", field: "username", proto: "username", label: "a space", value: "ab cd", base: registerBase },
  ...passwordCases("Register", "password", registerBase, { isNew: true }),
  ...textCases("Register", "displayName", 100, registerBase, { required: false }),

  ...textCases("VerifyEmail", "token", 43, () => ({ token: token43 })),

  ...textCases("Login", "identifier", 254, loginBase),
  ...passwordCases("Login", "password", loginBase, { isNew: false }),
  ...textCases("Login", "deviceName", 100, loginBase, { required: false }),

  ...textCases("RefreshToken", "refreshToken", 256, () => ({ refreshToken: token43 })),

  ...textCases("UpdateProfile", "displayName", 100, () => ({}), { auth: true, required: false }),
  ...textCases("UpdateProfile", "username", 64, () => ({}), { auth: true }),
  ...textCases("UpdateProfile", "email", 254, () => ({}), { auth: true }),

  ...passwordCases("ChangePassword", "currentPassword", changeBase, { auth: true, isNew: false }),
  ...passwordCases("ChangePassword", "newPassword", changeBase, { auth: true, isNew: true }),

  ...textCases("RequestPasswordReset", "email", 254, () => ({ email: "someone@example.test" })),

  ...textCases("ResetPassword", "token", 43, () => ({ token: token43, newPassword: strong() })),

  ...textCases("RevokeSession", "sessionId", 36, () => ({ sessionId: owner.session.sessionId }), { auth: true }),
  { method: "RevokeSession", field: "sessionId", proto: "session_id", label: "not an id", value: "x".repeat(36), base: () => ({}), auth: true },

  ...["ListSessions", "ListSecurityEvents"].flatMap((method): Case[] => [
    { method, field: "pageSize", proto: "page_size", label: "negative", value: -1, base: () => ({}), auth: true },
    { method, field: "pageSize", proto: "page_size", label: "a string", value: "ten", base: () => ({}), auth: true },
    { method, field: "pageSize", proto: "page_size", label: "a fraction", value: 1.5, base: () => ({}), auth: true },
    { method, field: "pageToken", proto: "page_token", label: "not a token", value: "!!!", base: () => ({}), auth: true },
    { method, field: "pageToken", proto: "page_token", label: "too long", value: "A".repeat(10_000), base: () => ({}), auth: true },
    { method, field: "pageToken", proto: "page_token", label: "control", value: "\u0000abc", base: () => ({}), auth: true },
    { method, field: "pageToken", proto: "page_token", label: "a number", value: 5, base: () => ({}), auth: true },
  ]),
];

function expectNamesField(r: JsonReply, c: Case) {
  const what = `${c.method}.${c.field} = ${c.label}: ${r.status} ${r.code} ${r.message} (${r.info?.reason ?? "no ErrorInfo"}/${r.info?.field ?? ""})`;
  expect(r.code, what).toBe("invalid_argument");
  expect(r.status, what).toBe(400);
  // A value of the field's JSON type reaches the service's validation; any other type is
  // refused by Connect's decoder first.
  const rightType = c.proto === "page_size" ? Number.isInteger(c.value) : typeof c.value === "string";
  if (rightType) {
    expect(r.info, `${what}: expected an ErrorInfo`).toBeDefined();
    expect(r.info!.field, what).toBe(c.proto);
    expect(r.message, what).toContain(c.proto);
  } else {
    // "cannot decode field sqlstudio.auth.v1.<Request>.<field> from JSON: …"
    expect(r.message, what).toContain(`sqlstudio.auth.v1.${c.method}Request.${c.proto}`);
  }
}

describe("bad input on every RPC: InvalidArgument naming the field, nothing stored", () => {
  const methods = [...new Set(cases.map((c) => c.method))];
  for (const method of methods) {
    it(method, async () => {
      const mine = cases.filter((c) => c.method === method);
      for (const c of mine) {
        const before = await snapshot();
        const body = { ...c.base(), [c.field]: c.value };
        const r = await call(server, c.method, body, { ip: freshIp(), token: c.auth ? owner.session.accessToken : undefined });
        expectNamesField(r, c);
        expect(await snapshot(), `${c.method}.${c.field} = ${c.label} changed the database`).toBe(before);
      }
    });
  }

  it("RPCs without fields refuse bodies of the wrong shape", async () => {
    for (const method of ["ResendVerificationEmail", "Logout", "GetCurrentUser", "RevokeOtherSessions"]) {
      for (const raw of ["[]", '"x"', "5", '{"unexpected": 1}', "{", "null"]) {
        const before = await snapshot();
        const r = await call(server, method, undefined, { raw, token: owner.session.accessToken });
        expect(r.code, `${method} ${raw}: ${r.message}`).toBe("invalid_argument");
        expect(await snapshot()).toBe(before);
      }
    }
    // And the session they would have ended is still alive.
    expect((await call(server, "GetCurrentUser", {}, { token: owner.session.accessToken })).status).toBe(200);
  });

  it("unknown JSON fields are refused, naming the key", async () => {
    const before = await snapshot();
    const r = await call(server, "Register", { ...newUser("unk"), emial: "x@example.test" }, { ip: freshIp() });
    expect(r.code).toBe("invalid_argument");
    expect(r.message).toContain("emial");
    expect(await snapshot()).toBe(before);
  });

  it("ResetPassword with a valid token and a bad new password names new_password and keeps the token usable", async () => {
    const u = newUser("rst");
    await call(server, "Register", u, { ip: freshIp() });
    expect((await call(server, "RequestPasswordReset", { email: u.email }, { ip: freshIp() })).status).toBe(200);
    const { token } = await emailToken(resend, u.email, "reset-password");
    for (const c of passwordCases("ResetPassword", "newPassword", () => ({ token }), { isNew: true })) {
      const before = await snapshot();
      const r = await call(server, "ResetPassword", { token, newPassword: c.value }, { ip: freshIp() });
      expectNamesField(r, c);
      expect(await snapshot(), `ResetPassword.newPassword = ${c.label} changed the database`).toBe(before);
    }
    // The token was not spent by the refused attempts.
    expect((await call(server, "ResetPassword", { token, newPassword: strong() })).status).toBe(200);
  });
});

describe("RequestPasswordReset", () => {
  it("answers OK for an unknown email, the same as for a known one, and sends nothing", async () => {
    // Mail of earlier tests (a password-changed notice) may still be on its way.
    await server.features.outbox.flush();
    const sentBefore = resend.messages.length;
    const users = await (async () => {
      const before = await server.db.execute("SELECT COUNT(*) AS n FROM users");
      return Number(before.rows[0].n);
    })();
    const unknown = await call(server, "RequestPasswordReset", { email: "nobody-here@example.test" }, { ip: freshIp() });
    const known = await call(server, "RequestPasswordReset", { email: owner.user.email }, { ip: freshIp() });
    expect(unknown.status).toBe(200);
    expect(known.status).toBe(200);
    expect(unknown.body).toEqual(known.body);
    await resend.waitForEmail(owner.user.email, { subject: /reset/i });
    await server.features.outbox.flush();
    expect(resend.messages.slice(sentBefore).map((m) => m.to[0])).toEqual([owner.user.email]);
    const after = await server.db.execute("SELECT COUNT(*) AS n FROM users");
    expect(Number(after.rows[0].n)).toBe(users);
    const tokens = await server.db.execute({ sql: "SELECT COUNT(*) AS n FROM email_tokens WHERE email = ?", args: ["nobody-here@example.test"] });
    expect(Number(tokens.rows[0].n)).toBe(0);
  });
});

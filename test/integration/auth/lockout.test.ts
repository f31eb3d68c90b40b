/**
 * Login abuse protection (DESIGN.md §5): after 5 failures an identifier is locked with a
 * growing delay, the lock lifts after its time and resets on success; spraying one password
 * across many accounts from one address is throttled; an unknown user and a wrong password
 * answer the same code, message and ErrorInfo, in about the same time.
 *
 * The lock tests run on an injected clock, so every duration is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  emailToken,
  freshIp,
  login,
  manualRuntime,
  newUser,
  ok,
  register,
  startAuthServer,
  type AuthTestServer,
  type JsonReply,
  type NewUser,
} from "../../support/auth.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const clock = manualRuntime();
let server: AuthTestServer;

beforeAll(async () => {
  server = await startAuthServer({ runtime: clock });
});
afterAll(async () => {
  await server?.stop();
});

const attempt = (identifier: string, password: string, ip: string) => call(server, "Login", { identifier, password, deviceName: "t" }, { ip });

function expectInvalidCredentials(r: JsonReply) {
  expect(r.status).toBe(401);
  expect(r.code).toBe("unauthenticated");
  expect(r.info?.reason).toBe("INVALID_CREDENTIALS");
}

/** Locked, with exactly `ms` left: ErrorInfo.retry_after to the ms, the header in whole seconds rounded up. */
function expectLocked(r: JsonReply, ms: number) {
  expect(r.status).toBe(429);
  expect(r.code).toBe("resource_exhausted");
  expect(r.info?.reason).toBe("LOGIN_LOCKED");
  const d = r.info?.retryAfter;
  expect(Number(d?.seconds ?? 0) * 1000 + Math.round((d?.nanos ?? 0) / 1e6)).toBe(ms);
  expect(r.headers.get("retry-after")).toBe(String(Math.ceil(ms / 1000)));
}

async function events(userId: string): Promise<string[]> {
  const rs = await server.db.execute({ sql: "SELECT type FROM security_events WHERE user_id = ? ORDER BY id", args: [userId] });
  return rs.rows.map((r) => String(r.type));
}

describe("per-identifier lockout", () => {
  let u: NewUser;
  let id: string;
  const ip = freshIp();
  const wrong = "Wrong-password-but-long-enough";

  beforeAll(async () => {
    u = newUser("lock");
    id = await register(server, u);
  });

  it("engages after 5 failures: the 6th attempt, even with the right password, is ResourceExhausted with retry-after", async () => {
    for (let i = 0; i < 5; i++) expectInvalidCredentials(await attempt(u.username, wrong, ip));
    expectLocked(await attempt(u.username, u.password, ip), MIN);
    // The lock is the account's, whichever identifier is typed.
    expectLocked(await attempt(u.email, u.password, freshIp()), MIN);
    const types = await events(id);
    expect(types.filter((t) => t === "login_failed")).toHaveLength(5);
    expect(types.filter((t) => t === "login_locked")).toHaveLength(1);
    expect(types).not.toContain("login_succeeded");
  });

  it("lifts after its time (not a millisecond before)", async () => {
    clock.advance(MIN - 1);
    expectLocked(await attempt(u.username, u.password, ip), 1);
    clock.advance(1);
    // Lifted: a wrong password is now counted again, and the lock comes back longer.
    expectInvalidCredentials(await attempt(u.username, wrong, ip));
  });

  it("grows on the next failure after it lifts", async () => {
    expectLocked(await attempt(u.username, u.password, ip), 2 * MIN);
    clock.advance(2 * MIN);
    expectInvalidCredentials(await attempt(u.username, wrong, ip));
    expectLocked(await attempt(u.username, u.password, ip), 4 * MIN);
    expect((await events(id)).filter((t) => t === "login_locked")).toHaveLength(3);
  });

  it("resets on success", async () => {
    clock.advance(4 * MIN);
    const okReply = await attempt(u.username, u.password, ip);
    expect(okReply.status).toBe(200);
    // Four failures after the success do not lock (they would if the earlier ones still counted).
    for (let i = 0; i < 4; i++) expectInvalidCredentials(await attempt(u.username, wrong, ip));
    expect((await attempt(u.username, u.password, ip)).status).toBe(200);
    const rs = await server.db.execute({ sql: "SELECT COUNT(*) AS n FROM login_failures WHERE identifier = ?", args: [`user:${id}`] });
    expect(Number(rs.rows[0].n)).toBe(0);
  });

  it("caps the delay at 15 minutes", async () => {
    const v = newUser("cap");
    await register(server, v);
    const vip = freshIp();
    for (let i = 0; i < 5; i++) await attempt(v.username, wrong, vip);
    let lock = MIN;
    for (let round = 0; round < 6; round++) {
      expectLocked(await attempt(v.username, v.password, vip), lock);
      clock.advance(lock);
      expectInvalidCredentials(await attempt(v.username, wrong, vip));
      lock = Math.min(lock * 2, 15 * MIN);
    }
    expectLocked(await attempt(v.username, v.password, vip), 15 * MIN);
    clock.advance(15 * MIN);
  });
});

describe("password spraying from one address", () => {
  it("one wrong password across 25 accounts from one IP is throttled with LOGIN_THROTTLED", async () => {
    const users: NewUser[] = [];
    for (let i = 0; i < 25; i++) {
      const v = newUser(`spray${i}`);
      await register(server, v);
      users.push(v);
    }
    const attacker = freshIp();
    const replies: JsonReply[] = [];
    for (const v of users) replies.push(await attempt(v.username, "Summer2024!Summer2024!", attacker));
    const reasons = replies.map((r) => r.info?.reason);
    expect(reasons.slice(0, 20)).toEqual(Array(20).fill("INVALID_CREDENTIALS"));
    expect(reasons.slice(20)).toEqual(Array(5).fill("LOGIN_THROTTLED"));
    for (const r of replies.slice(20)) {
      expect(r.code).toBe("resource_exhausted");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(Number(r.info?.retryAfter?.seconds)).toBeGreaterThan(0);
    }
    // Throttled means throttled: even a right password from that address is refused…
    const right = await attempt(users[24].username, users[24].password, attacker);
    expect(right.info?.reason).toBe("LOGIN_THROTTLED");
    // …while the accounts themselves are not locked: their owners log in from elsewhere.
    expect((await attempt(users[24].username, users[24].password, freshIp())).status).toBe(200);
    // The throttle ends with its window.
    clock.advance(15 * MIN + 1);
    expect((await attempt(users[23].username, users[23].password, attacker)).status).toBe(200);
  });
});

describe("unknown user vs wrong password", () => {
  it("answer the same code, message, ErrorInfo and HTTP status", async () => {
    const v = newUser("same");
    await register(server, v);
    const unknown = await attempt(`nobody-${v.username}`.slice(0, 32), "Some-password-123456", freshIp());
    const wrongPw = await attempt(v.username, "Some-password-123456", freshIp());
    expectInvalidCredentials(unknown);
    expectInvalidCredentials(wrongPw);
    expect(unknown.status).toBe(wrongPw.status);
    expect(unknown.code).toBe(wrongPw.code);
    expect(unknown.message).toBe(wrongPw.message);
    expect(unknown.info).toEqual(wrongPw.info);
    expect(unknown.body).toEqual(wrongPw.body);
  });

  it("an unknown identifier locks exactly like an account", async () => {
    const v = newUser("twin");
    await register(server, v);
    const ghost = `ghost-${v.username}`.slice(0, 32);
    const [ipA, ipB] = [freshIp(), freshIp()];
    const a: JsonReply[] = [];
    const b: JsonReply[] = [];
    for (let i = 0; i < 6; i++) {
      a.push(await attempt(ghost, "Some-password-123456", ipA));
      b.push(await attempt(v.username, "Some-password-123456", ipB));
    }
    expect(a.map((r) => [r.code, r.info?.reason, r.headers.get("retry-after")])).toEqual(b.map((r) => [r.code, r.info?.reason, r.headers.get("retry-after")]));
    expect(a[5].info?.reason).toBe("LOGIN_LOCKED");
  });
});

describe("rate limits (fixed windows of an hour, shared through the database)", () => {
  /** Moves the clock to one minute into the next window, so the whole test stays in it. */
  const nextWindow = () => clock.set(Math.floor(clock.now() / HOUR) * HOUR + HOUR + MIN);

  function expectRateLimited(r: JsonReply, ms: number) {
    expect(r.status).toBe(429);
    expect(r.code).toBe("resource_exhausted");
    expect(r.info?.reason).toBe("RATE_LIMITED");
    const d = r.info?.retryAfter;
    expect(Number(d?.seconds ?? 0) * 1000 + Math.round((d?.nanos ?? 0) / 1e6)).toBe(ms);
    expect(r.headers.get("retry-after")).toBe(String(Math.ceil(ms / 1000)));
  }

  it("Register: 10 per address per hour, then ResourceExhausted with retry-after until the window ends", async () => {
    nextWindow();
    const ip = freshIp();
    for (let i = 0; i < 10; i++) expect((await call(server, "Register", newUser(`rl${i}`), { ip })).status).toBe(200);
    const refused = await call(server, "Register", newUser("rl10"), { ip });
    expectRateLimited(refused, HOUR - MIN);
    expect((await call(server, "Register", newUser("rlother"), { ip: freshIp() })).status).toBe(200);
    clock.advance(HOUR - MIN);
    expect((await call(server, "Register", newUser("rlnext"), { ip })).status).toBe(200);
  });

  it("ResendVerificationEmail: 3 per user per hour; each sends a working link; none once verified", async () => {
    nextWindow();
    const u = newUser("resend");
    await register(server, u);
    const s = await login(server, u);
    for (let i = 0; i < 3; i++) {
      expect(await ok(server, "ResendVerificationEmail", {}, { token: s.accessToken })).toEqual({ sent: true });
    }
    expectRateLimited(await call(server, "ResendVerificationEmail", {}, { token: s.accessToken }), HOUR - MIN);
    // The registration email and three more; the last one verifies.
    const { token } = await emailToken(server.resend, u.email, "verify-email", 3);
    expect((await call(server, "VerifyEmail", { token })).status).toBe(200);
    clock.advance(HOUR);
    expect(await ok(server, "ResendVerificationEmail", {}, { token: (await login(server, u)).accessToken })).toEqual({});
  });

  it("RequestPasswordReset: 3 emails per account per hour (still answering OK), 10 requests per address", async () => {
    nextWindow();
    const u = newUser("rstl");
    await register(server, u);
    const before = server.resend.messages.length;
    for (let i = 0; i < 5; i++) expect((await call(server, "RequestPasswordReset", { email: u.email }, { ip: freshIp() })).status).toBe(200);
    await server.features.outbox.flush();
    expect(server.resend.messages.slice(before).filter((m) => m.to.includes(u.email) && /reset/i.test(m.subject))).toHaveLength(3);

    // Per address, the same answer whether the account exists or not.
    const ip = freshIp();
    for (let i = 0; i < 10; i++) {
      const email = i % 2 ? u.email : `nobody${i}@example.test`;
      expect((await call(server, "RequestPasswordReset", { email }, { ip })).status).toBe(200);
    }
    const a = await call(server, "RequestPasswordReset", { email: u.email }, { ip });
    const b = await call(server, "RequestPasswordReset", { email: "nobody@example.test" }, { ip });
    expectRateLimited(a, HOUR - MIN);
    expect(b.body).toEqual(a.body);
  });
});

describe("timing (bcrypt cost 10)", () => {
  let slow: AuthTestServer;
  beforeAll(async () => {
    slow = await startAuthServer({ env: { BCRYPT_COST: "10" } });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it("an unknown user and a wrong password take about the same time (median ratio within 0.7-1.4)", async () => {
    const N = 11;
    const users: NewUser[] = [];
    for (let i = 0; i < N + 1; i++) {
      const v = newUser(`tm${i}`);
      await register(slow, v);
      users.push(v);
    }
    const timed = async (identifier: string) => {
      const started = performance.now();
      const r = await call(slow, "Login", { identifier, password: "Wrong-password-123456", deviceName: "t" }, { ip: freshIp() });
      const ms = performance.now() - started;
      expect(r.info?.reason).toBe("INVALID_CREDENTIALS");
      return ms;
    };
    // Warm-up: the first unknown login prepares the dummy hash.
    await timed(`warm-${users[N].username}`.slice(0, 32));
    await timed(users[N].username);
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < N; i++) {
      // Interleaved, each on a fresh account/identifier and address: no lock, no throttle.
      wrong.push(await timed(users[i].username));
      unknown.push(await timed(`none${i}-${users[i].username}`.slice(0, 32)));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const ratio = median(unknown) / median(wrong);
    if (process.env.SHOW_TIMING) console.log(`timing: unknown ${median(unknown).toFixed(1)} ms, wrong ${median(wrong).toFixed(1)} ms, ratio ${ratio.toFixed(3)}`);
    // bcrypt at cost 10 dominates both paths (tens of ms), so a missing verifyNothing would show.
    expect(median(wrong)).toBeGreaterThan(15);
    expect(ratio, `unknown ${median(unknown).toFixed(1)} ms vs wrong ${median(wrong).toFixed(1)} ms`).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(1.4);
  });

  it("RequestPasswordReset takes about the same time for an unknown and a known email (no account oracle)", async () => {
    const N = 11;
    const known: NewUser[] = [];
    for (let i = 0; i < N; i++) {
      const v = newUser(`rt${i}`);
      await register(slow, v);
      known.push(v);
    }
    const timed = async (email: string) => {
      const started = performance.now();
      const r = await call(slow, "RequestPasswordReset", { email }, { ip: freshIp() });
      const ms = performance.now() - started;
      expect(r.status).toBe(200);
      return ms;
    };
    await timed("warm-up-nobody@example.test");
    await timed(known[0].email);
    const unknownMs: number[] = [];
    const knownMs: number[] = [];
    for (let i = 0; i < N; i++) {
      knownMs.push(await timed(known[i].email));
      unknownMs.push(await timed(`nobody-${i}-${known[i].email}`));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const [u, k] = [median(unknownMs), median(knownMs)];
    if (process.env.SHOW_TIMING) console.log(`reset timing: unknown ${u.toFixed(1)} ms, known ${k.toFixed(1)} ms`);
    // Within a tolerance, with a floor for fast answers: one database write more or less is a
    // few ms; a bcrypt on one path only (what this guards against) is ~70 ms at cost 10.
    const tolerance = Math.max(20, 0.4 * Math.max(u, k));
    expect(Math.abs(u - k), `unknown ${u.toFixed(1)} ms vs known ${k.toFixed(1)} ms`).toBeLessThan(tolerance);
  });
});

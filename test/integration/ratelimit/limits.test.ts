/**
 * Rate limits of every RPC (issue 14 item 8) on a real server with tiny limits and a clock the test
 * moves: the N+1th call of a class is ResourceExhausted RATE_LIMITED with retry-after (ErrorInfo and
 * header) and the class named; another user and another class are unaffected; the window rolls
 * over; calls without an account are limited per address, every call also by the address ceiling;
 * health checks are exempt; refusals are counted in rpc_rate_limited_total{class}.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, freshIp, manualRuntime, registerAndLogin, startAuthServer, type AuthTestServer, type JsonReply, type ManualRuntime } from "../../support/auth.js";
import { rateLimitJobs } from "../../../src/ratelimit/jobs.js";
import { RateLimitStore } from "../../../src/ratelimit/store.js";

const WINDOW = 60_000;
const LIMITS = {
  RATE_LIMIT_WINDOW_MS: String(WINDOW),
  RATE_LIMIT_READ_PER_USER: "5",
  RATE_LIMIT_WRITE_PER_USER: "3",
  RATE_LIMIT_ENGINE_PER_USER: "4",
  RATE_LIMIT_PUBLIC_PER_ADDRESS: "4",
  RATE_LIMIT_PER_ADDRESS: "8",
};
const SCHEMA = "sqlstudio.database.v1.SchemaService/ListSchemas";
const HEALTH = "grpc.health.v1.Health/Check";

let server: AuthTestServer;
let clock: ManualRuntime;

beforeAll(async () => {
  // The start of a window, so a test's calls never straddle two.
  const t = Date.now();
  clock = manualRuntime(t - (t % WINDOW) + WINDOW);
  server = await startAuthServer({ runtime: clock, env: LIMITS });
});
afterAll(async () => {
  await server?.stop();
});

/** Moves the clock to the start of the next window. */
function nextWindow() {
  const t = clock.now();
  clock.set(t - (t % WINDOW) + WINDOW);
}

function expectLimited(r: JsonReply, cls: string, variable: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(429);
  expect(r.code).toBe("resource_exhausted");
  expect(r.info?.reason).toBe("RATE_LIMITED");
  expect(r.info?.metadata).toMatchObject({ class: cls, limit: variable });
  expect(r.message).toContain(variable);
  const ms = Number(r.info?.retryAfter?.seconds ?? 0) * 1000 + Math.round((r.info?.retryAfter?.nanos ?? 0) / 1e6);
  const left = WINDOW - (clock.now() % WINDOW);
  expect(ms).toBe(left);
  expect(r.headers.get("retry-after")).toBe(String(Math.ceil(left / 1000)));
}

async function refused(cls: string): Promise<number> {
  const m = (await server.metrics.rateLimited.get()).values.find((v) => v.labels.class === cls);
  return m?.value ?? 0;
}

describe("per user, by class", () => {
  it("the 6th read of a user in a window is ResourceExhausted RATE_LIMITED with retry-after; another user and other classes are unaffected; the next window admits again", async () => {
    nextWindow();
    const alice = await registerAndLogin(server, "rl-alice");
    const bob = await registerAndLogin(server, "rl-bob");
    // Each user from an address of their own: the address ceiling stays out of the way here.
    const a = { token: alice.session.accessToken, ip: freshIp() };
    const b = { token: bob.session.accessToken, ip: freshIp() };
    const before = await refused("read");

    for (let i = 0; i < 5; i++) expect((await call(server, "GetCurrentUser", {}, a)).status).toBe(200);
    clock.advance(20_000);
    expectLimited(await call(server, "GetCurrentUser", {}, a), "read", "RATE_LIMIT_READ_PER_USER");
    expectLimited(await call(server, "ListSessions", {}, a), "read", "RATE_LIMIT_READ_PER_USER");
    expect(await refused("read")).toBe(before + 2);

    // Another user: their own budget.
    expect((await call(server, "GetCurrentUser", {}, b)).status).toBe(200);
    // Another class of the same user: a write, and an engine call (NotFound: it reached the handler).
    expect((await call(server, "RevokeOtherSessions", {}, a)).status).toBe(200);
    const engine = await call(server, SCHEMA, { connectionId: randomUUID() }, a);
    expect(engine.code).toBe("not_found");

    // The next window: reads again.
    nextWindow();
    expect((await call(server, "GetCurrentUser", {}, a)).status).toBe(200);
  });

  it("writes and engine calls have their own budgets (3 and 4 here)", async () => {
    nextWindow();
    const carol = await registerAndLogin(server, "rl-carol");
    const c = { token: carol.session.accessToken, ip: freshIp() };
    for (let i = 0; i < 3; i++) expect((await call(server, "RevokeOtherSessions", {}, c)).status).toBe(200);
    expectLimited(await call(server, "RevokeOtherSessions", {}, c), "write", "RATE_LIMIT_WRITE_PER_USER");
    for (let i = 0; i < 4; i++) expect((await call(server, SCHEMA, { connectionId: randomUUID() }, c)).code).toBe("not_found");
    expectLimited(await call(server, SCHEMA, { connectionId: randomUUID() }, c), "engine", "RATE_LIMIT_ENGINE_PER_USER");
    // CancelQuery is a write: a user out of engine budget can still stop a query (NotFound: nothing runs).
    nextWindow();
    for (let i = 0; i < 4; i++) await call(server, SCHEMA, { connectionId: randomUUID() }, c);
    expect((await call(server, "sqlstudio.database.v1.QueryService/CancelQuery", { queryId: "q-none" }, c)).status).not.toBe(429);
  });
});

describe("per address", () => {
  it("calls without an account are limited per client address (RATE_LIMIT_PUBLIC_PER_ADDRESS)", async () => {
    nextWindow();
    const ip = freshIp();
    for (let i = 0; i < 4; i++) expect((await call(server, "RefreshToken", { refreshToken: "x".repeat(40) }, { ip })).code).toBe("unauthenticated");
    expectLimited(await call(server, "RefreshToken", { refreshToken: "x".repeat(40) }, { ip }), "public", "RATE_LIMIT_PUBLIC_PER_ADDRESS");
    expectLimited(await call(server, "Login", { identifier: "nobody", password: "x", deviceName: "t" }, { ip }), "public", "RATE_LIMIT_PUBLIC_PER_ADDRESS");
    // Another address is not affected.
    expect((await call(server, "RefreshToken", { refreshToken: "x".repeat(40) }, { ip: freshIp() })).code).toBe("unauthenticated");
  });

  it("every call from one address, with any account, counts against the address ceiling (RATE_LIMIT_PER_ADDRESS); health checks are exempt", async () => {
    nextWindow();
    const ip = freshIp();
    const users = [await registerAndLogin(server, "rl-d"), await registerAndLogin(server, "rl-e"), await registerAndLogin(server, "rl-f")];
    for (const u of users.slice(0, 2)) for (let i = 0; i < 4; i++) expect((await call(server, "GetCurrentUser", {}, { token: u.session.accessToken, ip })).status).toBe(200);
    // The third user has their whole read budget, but the address has spent its 8.
    expectLimited(await call(server, "GetCurrentUser", {}, { token: users[2].session.accessToken, ip }), "address", "RATE_LIMIT_PER_ADDRESS");
    expect(await refused("address")).toBeGreaterThanOrEqual(1);
    // The same user from another address is fine.
    expect((await call(server, "GetCurrentUser", {}, { token: users[2].session.accessToken, ip: freshIp() })).status).toBe(200);
    // Health checks are never limited.
    for (let i = 0; i < 20; i++) expect((await call(server, HEALTH, {}, { ip })).status).toBe(200);
  });
});

describe("the common case costs no database round trip", () => {
  it("with the default limits, 300 reads of one user from one address ask the database twice (each time a chunk of 150 for the user and one for the address, together)", async () => {
    // A clock that stands still: the calls never straddle two windows.
    const t = Date.now();
    const plain = await startAuthServer({ runtime: manualRuntime(t - (t % WINDOW) + WINDOW) });
    try {
      const u = await registerAndLogin(plain, "rl-fast");
      const opts = { token: u.session.accessToken, ip: freshIp() };
      const stats = plain.features.rateLimiter.stats;
      const asked = async () => (await plain.metrics.rateLimitRequests.get()).values.reduce((n, v) => n + v.value, 0);
      const [before, metricBefore] = [stats.storeRequests, await asked()];
      for (let i = 0; i < 300; i++) expect((await call(plain, "GetCurrentUser", {}, opts)).status).toBe(200);
      // Round trips: 2; grants (the metric counts each bucket's): 4.
      expect(stats.storeRequests - before).toBe(2);
      expect((await asked()) - metricBefore).toBe(4);
      const rs = await plain.db.execute({ sql: "SELECT used FROM rpc_rate_limits WHERE bucket = ?", args: [`user:${u.id}:read`] });
      expect(Number(rs.rows[0]?.used)).toBe(300);
    } finally {
      await plain.stop();
    }
  });
});

describe("the database side", () => {
  it("a grant is at most what is left under the limit, one atomic statement per chunk", async () => {
    const store = new RateLimitStore(server.db);
    const b = `test:${randomUUID()}`;
    expect(await store.grant(b, 0, { want: 5, limit: 12 }, 1, null)).toBe(5);
    expect(await store.grant(b, 0, { want: 5, limit: 12 }, 2, null)).toBe(5);
    expect(await store.grant(b, 0, { want: 5, limit: 12 }, 3, null)).toBe(2);
    expect(await store.grant(b, 0, { want: 5, limit: 12 }, 4, null)).toBe(0);
    expect(await store.grant(b, WINDOW, { want: 5, limit: 12 }, 5, null)).toBe(5);
    const rs = await server.db.execute({ sql: "SELECT window_start, used FROM rpc_rate_limits WHERE bucket = ? ORDER BY window_start", args: [b] });
    expect(rs.rows.map((r) => [Number(r.window_start), Number(r.used)])).toEqual([
      [0, 12],
      [WINDOW, 5],
    ]);
    expect(await store.deleteWindowsBefore(0)).toBe(1);
    // Several buckets in one transaction: each as alone, in order.
    const [d, e] = [`test:${randomUUID()}`, `test:${randomUUID()}`];
    const many = (now: number) => [
      { bucket: d, windowStart: WINDOW, want: 5, limit: 12, now, userId: null },
      { bucket: e, windowStart: WINDOW, want: 3, limit: 2, now, userId: null },
    ];
    expect(await store.grantMany(many(6))).toEqual([5, 2]);
    expect(await store.grantMany(many(7))).toEqual([5, 0]);
    expect(await store.grantMany([...many(8), ...many(8)])).toEqual([2, 0, 0, 0]);
  });

  it("the ratelimit.windows job deletes the rows of ended windows and keeps the current and the one before", async () => {
    const store = new RateLimitStore(server.db);
    const [job] = rateLimitJobs(store, WINDOW);
    expect(job.name).toBe("ratelimit.windows");
    const b = `job:${randomUUID()}`;
    const now = 100 * WINDOW + 5_000;
    for (const w of [97, 98, 99, 100]) await store.grant(b, w * WINDOW, { want: 1, limit: 10 }, now, null);
    await job.run(now);
    const rs = await server.db.execute({ sql: "SELECT window_start FROM rpc_rate_limits WHERE bucket = ? ORDER BY window_start", args: [b] });
    expect(rs.rows.map((r) => Number(r.window_start) / WINDOW)).toEqual([99, 100]);
  });

  it("a user's buckets name the user (DeleteAccount's sweep of user_id columns removes them); address buckets do not", async () => {
    nextWindow();
    const u = await registerAndLogin(server, "rl-g");
    await call(server, "GetCurrentUser", {}, { token: u.session.accessToken, ip: freshIp() });
    const rs = await server.db.execute({ sql: "SELECT bucket, user_id FROM rpc_rate_limits WHERE bucket LIKE ? OR user_id = ?", args: [`user:${u.id}:%`, u.id] });
    expect(rs.rows.map((r) => [String(r.bucket), r.user_id])).toEqual([[`user:${u.id}:read`, u.id]]);
  });
});

/**
 * Two server processes on one database file share each rate limit: a user's reads alternate
 * between them, the two admit exactly the limit together (each spending chunks it took from the
 * shared row), then both refuse with RATE_LIMITED; each instance asked the database only once
 * per chunk (rpc_rate_limit_requests_total on its metrics port).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { authEnv, call, freshIp, login, registerAndLogin } from "../../support/auth.js";
import { spawnInstances, type ChildServer, type Instances } from "../../support/server.js";

// 40 per window: chunks of 2. A day-long window, so the test's calls stay in one.
const env = authEnv({ RATE_LIMIT_READ_PER_USER: "40", RATE_LIMIT_WINDOW_MS: "86400000" });
let instances: Instances;
let a: ChildServer;
let b: ChildServer;

beforeAll(async () => {
  instances = await spawnInstances(2, env, "sqlstudio-ratelimit-two-");
  [a, b] = instances.servers;
}, 90_000);
afterAll(async () => {
  await instances?.stop();
});

async function asked(s: ChildServer): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.ports.metrics}/metrics`)).text();
  return [...text.matchAll(/^rpc_rate_limit_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

it("instances on one database admit exactly the limit together, then both refuse", async () => {
  const { user, session } = await registerAndLogin(a, "rl-two");
  const onA = { token: session.accessToken, ip: freshIp() };
  const onB = { token: (await login(b, user)).accessToken, ip: freshIp() };
  const [askedA, askedB] = [await asked(a), await asked(b)];
  const codes: number[] = [];
  for (let i = 0; i < 40; i++) codes.push((await call(i % 2 === 0 ? a : b, "GetCurrentUser", {}, i % 2 === 0 ? onA : onB)).status);
  expect(codes.every((c) => c === 200)).toBe(true);
  for (const [s, opts] of [[a, onA], [b, onB]] as const) {
    const r = await call(s, "GetCurrentUser", {}, opts);
    expect(r.status).toBe(429);
    expect(r.info?.reason).toBe("RATE_LIMITED");
    expect(r.info?.metadata.class).toBe("read");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  }
  // Per instance: 10 chunks of 2 for the user plus the refusal's short grant, plus the address's
  // (chunk 50: 1), and no more.
  expect((await asked(a)) - askedA).toBeLessThanOrEqual(12);
  expect((await asked(b)) - askedB).toBeLessThanOrEqual(12);
}, 60_000);

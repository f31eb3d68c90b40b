/**
 * Revocation reaches every instance within 5 s (DESIGN.md §5): two server processes
 * (`src/main.ts`) on one database file with the same JWT secret and the default session cache.
 * A token works on both; revoked on A, B refuses it within 5 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, freshIp, ok, registerAndLogin, sleep, TEST_JWT_SECRET, type LoginReply } from "../../support/auth.js";
import { spawnInstances, type ChildServer, type Instances } from "../../support/server.js";

const env = { JWT_SECRET: TEST_JWT_SECRET, BCRYPT_COST: "4" };
let instances: Instances;
let a: ChildServer;
let b: ChildServer;

beforeAll(async () => {
  instances = await spawnInstances(2, env, "sqlstudio-two-");
  [a, b] = instances.servers;
}, 60_000);
afterAll(async () => {
  await instances?.stop();
});

/** Polls B with the token until it is refused; returns the ms it took. */
async function msUntilRefused(server: ChildServer, token: string, since: number): Promise<number> {
  for (;;) {
    const r = await call(server, "GetCurrentUser", {}, { token });
    if (r.status !== 200) {
      expect(r.code).toBe("unauthenticated");
      expect(r.info?.reason).toBe("SESSION_REVOKED");
      return performance.now() - since;
    }
    if (performance.now() - since > 10_000) return Infinity;
    await sleep(50);
  }
}

describe("two processes on one database", () => {
  it("RevokeSession on A makes the token fail on B within 5 s", async () => {
    const { user, session: victim } = await registerAndLogin(a, "two");
    // A second session of the same user, on A, does the revoking.
    const admin = await ok<LoginReply>(a, "Login", { identifier: user.email, password: user.password, deviceName: "other" }, { ip: freshIp() });

    // The token works on B (and B now has the session in its cache).
    const me = await call(b, "GetCurrentUser", {}, { token: victim.accessToken });
    expect(me.status).toBe(200);
    expect((await call(b, "GetCurrentUser", {}, { token: victim.accessToken })).status).toBe(200);

    expect((await call(a, "RevokeSession", { sessionId: victim.sessionId }, { token: admin.accessToken })).status).toBe(200);
    const started = performance.now();
    const elapsed = await msUntilRefused(b, victim.accessToken, started);
    expect(elapsed).toBeLessThan(5000);
    // A refuses it at once (its own cache entry was dropped on revoke).
    expect((await call(a, "GetCurrentUser", {}, { token: victim.accessToken })).status).toBe(401);
    // The revoking session lives on, on both.
    expect((await call(b, "GetCurrentUser", {}, { token: admin.accessToken })).status).toBe(200);
  });

  it("Logout on A makes the token fail on B within 5 s", async () => {
    const { session } = await registerAndLogin(a, "twolog");
    expect((await call(b, "GetCurrentUser", {}, { token: session.accessToken })).status).toBe(200);
    expect((await call(a, "Logout", {}, { token: session.accessToken })).status).toBe(200);
    const elapsed = await msUntilRefused(b, session.accessToken, performance.now());
    expect(elapsed).toBeLessThan(5000);
  });
});

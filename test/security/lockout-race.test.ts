/**
 * Issue 17.7: the lockout raced. `login` read the lock state, awaited bcrypt, then recorded the
 * failure, so concurrent wrong passwords were all judged (40 of 40 on one instance) and the right
 * one still logged in. Now each attempt is counted in the database, atomically, before its
 * password is judged, and forgiven on success: 30 concurrent wrong passwords spread over two
 * server processes on one database judge at most the limit (5), and the account is locked.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockoutPolicy } from "../../src/auth/lockout.js";
import { openDb, type Db } from "../../src/db/client.js";
import { call, freshIp, newUser, register, TEST_JWT_SECRET, type JsonReply } from "../support/auth.js";
import { spawnInstances, type ChildServer, type Instances } from "../support/server.js";

// bcrypt at cost 10 (tens of ms) keeps every attempt in flight at once, as a real attack over the network would.
const env = { JWT_SECRET: TEST_JWT_SECRET, BCRYPT_COST: "10", TRUST_PROXY: "1" };
let instances: Instances;
let a: ChildServer;
let b: ChildServer;

beforeAll(async () => {
  instances = await spawnInstances(2, env, "sqlstudio-race-");
  [a, b] = instances.servers;
}, 60_000);
afterAll(async () => {
  await instances?.stop();
});

/**
 * The login_failed events of a user, read by a connection of this test process opened just for it
 * (a third process holding the file open disturbs the servers' writes: they retry on SQLITE_BUSY).
 */
async function failedLogins(userId: string): Promise<number> {
  const db: Db = await openDb({ url: `file:${join(instances.dir, "app.db")}` });
  try {
    const rs = await db.execute({ sql: "SELECT COUNT(*) AS n FROM security_events WHERE user_id = ? AND type = 'login_failed'", args: [userId] });
    return Number(rs.rows[0].n);
  } finally {
    db.close();
  }
}

const attempt = (s: ChildServer, identifier: string, password: string) =>
  call(s, "Login", { identifier, password, deviceName: "race" }, { ip: freshIp() });

describe("30 concurrent wrong passwords over two processes on one database", () => {
  it("judge at most the limit; the rest are refused as locked, and then so is the right password", async () => {
    const victim = newUser("race");
    const id = await register(a, victim);
    const replies: JsonReply[] = await Promise.all(
      Array.from({ length: 30 }, (_, i) => attempt(i % 2 ? a : b, i % 3 ? victim.username : victim.email, `Wrong-password-${i}-long-enough`)),
    );
    const reasons = replies.map((r) => r.info?.reason);
    const judged = reasons.filter((r) => r === "INVALID_CREDENTIALS").length;
    const locked = reasons.filter((r) => r === "LOGIN_LOCKED").length;
    expect(judged + locked, JSON.stringify(reasons)).toBe(30);
    expect(judged).toBeLessThanOrEqual(lockoutPolicy.threshold);
    expect(judged).toBeGreaterThanOrEqual(1);

    expect(await failedLogins(id)).toBe(judged);

    for (const s of [a, b]) {
      const right = await attempt(s, victim.username, victim.password);
      expect(right.code).toBe("resource_exhausted");
      expect(right.info?.reason).toBe("LOGIN_LOCKED");
    }
  });

  it("a right password among concurrent wrong ones is judged like the others and, when it succeeds, forgives the count", async () => {
    const u = newUser("forgive");
    await register(a, u);
    const replies = await Promise.all([
      attempt(a, u.username, "Wrong-password-0-long-enough"),
      attempt(b, u.username, "Wrong-password-1-long-enough"),
      attempt(a, u.username, u.password),
    ]);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    // Success forgave what came before it; at most the two failures judged after it still count.
    const after: string[] = [];
    for (let i = 0; i < 2; i++) after.push(String((await attempt(b, u.username, `Wrong-again-${i}-long-enough`)).info?.reason));
    expect(after).toEqual(["INVALID_CREDENTIALS", "INVALID_CREDENTIALS"]);
    expect((await attempt(a, u.username, u.password)).status).toBe(200);
  });
});

/**
 * The hot lookups of src/auth/store.ts use indexes (issue 3 §2). The statements are not copied
 * here: each store method runs against a recording database, and `EXPLAIN QUERY PLAN` is asked
 * for exactly the SQL it sent, so the test follows the store when its SQL changes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InArgs, InStatement, Transaction } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthStore, type SecurityEventRow } from "../../../src/auth/store.js";
import { openDb, type Db } from "../../../src/db/client.js";
import { migrate } from "../../../src/db/migrator.js";
import { directAccounts, manualRuntime, newUser, requestInfo } from "../../support/auth.js";

const dir = mkdtempSync(join(tmpdir(), "sqlstudio-plans-"));
let db: Db;
/** A second connection for EXPLAIN, so its statements never hold up the store's transactions. */
let planDb: Db;
let store: AuthStore;
let userId: string;
let sessionId: string;
/** Every statement the store sent, in order. */
let recorded: { sql: string; args: InArgs }[] = [];

function norm(s: InStatement): { sql: string; args: InArgs } {
  return typeof s === "string" ? { sql: s, args: [] } : { sql: s.sql, args: s.args ?? [] };
}

/** A Db that records every statement (also inside batches and interactive transactions). */
function recording(inner: Db): Db {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === "execute") return (s: InStatement) => (recorded.push(norm(s)), target.execute(s));
      if (prop === "batch") return (stmts: InStatement[], mode?: "write" | "read" | "deferred") => (recorded.push(...stmts.map(norm)), target.batch(stmts, mode));
      if (prop === "transaction")
        return async (mode?: "write" | "read" | "deferred") => {
          const tx = await target.transaction(mode);
          return new Proxy(tx, {
            get(t, p) {
              const v = Reflect.get(t, p, t) as unknown;
              if (p === "execute") return (s: InStatement) => (recorded.push(norm(s)), t.execute(s));
              if (p === "batch") return (stmts: InStatement[]) => (recorded.push(...stmts.map(norm)), t.batch(stmts));
              return typeof v === "function" ? v.bind(t) : v;
            },
          }) as Transaction;
        };
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The statements a store call sent. */
async function statementsOf(fn: () => Promise<unknown>): Promise<{ sql: string; args: InArgs }[]> {
  recorded = [];
  await fn();
  return recorded.filter((s) => /^\s*(SELECT|UPDATE|DELETE|WITH)/i.test(s.sql));
}

async function plan(s: { sql: string; args: InArgs }): Promise<string[]> {
  const rs = await planDb.execute({ sql: `EXPLAIN QUERY PLAN ${s.sql}`, args: s.args });
  return rs.rows.map((r) => String(r.detail));
}

/** Table accesses that read a whole table instead of an index. */
const fullScans = (details: string[]) => details.filter((d) => /^SCAN \w+( AS \w+)?$/.test(d.trim()) || /^SCAN \w+ \(/.test(d.trim()));

const event = (type: string): SecurityEventRow => ({ id: crypto.randomUUID(), userId, type, sessionId: null, ipAddress: "", userAgent: "", details: {}, createdAt: Date.now() });

beforeAll(async () => {
  db = await openDb({ url: `file:${join(dir, "plans.db")}` });
  await migrate(db);
  // Some real rows, made by the real logic.
  const clock = manualRuntime();
  const d = directAccounts(db, clock);
  for (let i = 0; i < 5; i++) {
    const u = newUser("plan");
    const user = await d.accounts.emailFlows.register(u, requestInfo());
    const s = await d.accounts.login(u.username, u.password, "d", requestInfo());
    await d.accounts.login(u.username, "Wrong-password-1234", "d", requestInfo()).catch(() => undefined);
    userId = user.id;
    sessionId = s.sessionId;
  }
  store = new AuthStore(recording(db));
  planDb = await openDb({ url: `file:${join(dir, "plans.db")}` });
});
afterAll(() => {
  db?.close();
  planDb?.close();
  rmSync(dir, { recursive: true, force: true });
});

const now = Date.now();
const h = "0".repeat(64);
const lookups: [string, () => Promise<unknown>][] = [
  ["user by email", () => store.userByIdentifier("someone@example.test")],
  ["user by username_key", () => store.userByIdentifier("someone")],
  ["email or username taken", () => store.emailOrUsernameTaken("someone@example.test", "Someone", "x")],
  ["user by id", () => store.userById("x")],
  ["session by id (interceptor)", () => store.checkSession(sessionId, now)],
  ["session by id and user", () => store.sessionById(userId, sessionId)],
  ["rotateRefresh WHERE refresh_hash", () => store.rotateRefresh(sessionId, h, { hash: "1".repeat(64), graceSealed: "sealed", expiresAt: now + 1000 }, now, "")],
  ["sessionByPreviousRefresh", () => store.sessionByPreviousRefresh(h)],
  ["sessionOwner (reuse detection)", () => store.sessionOwner(sessionId)],
  ["login attempt: counts of the identifier and the address", () => store.countLoginAttempt("user:x", "10.0.0.1", now, { key: now - 1000, ip: now - 1000 }, () => ({ admit: false, why: "locked", retryAfterMs: 1 }))],
  ["listSessions", () => store.listSessions(userId, now, 51)],
  ["listSessions, next page", () => store.listSessions(userId, now, 51, { lastSeenAt: now, id: "z" })],
  ["listEvents", () => store.listEvents(userId, 51)],
  ["listEvents, next page", () => store.listEvents(userId, 51, "z")],
  ["revoke sessions of a user", () => store.revokeSessions("nobody", { except: "x" }, "test", now, () => event("session_revoked"))],
  ["email token: peek", () => store.peekEmailToken(h, "reset_password", now)],
  ["email token: consume (VerifyEmail)", () => store.verifyEmail(h, now, () => [event("email_verified")])],
  ["email token: consume (ResetPassword)", () => store.setPassword("nobody", "hash", now, { consumeTokenHash: h }, [])],
  ["password change: revoke the others", () => store.setPassword("nobody", "hash", now, { keepSessionId: "x" }, [])],
];

describe("EXPLAIN QUERY PLAN of the hot lookups", () => {
  for (const [name, fn] of lookups) {
    it(`${name} uses an index`, async () => {
      const stmts = await statementsOf(fn);
      expect(stmts.length, `${name}: no statement recorded`).toBeGreaterThan(0);
      for (const s of stmts) {
        const details = await plan(s);
        const what = `${name}\n  ${s.sql.replace(/\s+/g, " ")}\n  plan: ${details.join(" | ")}`;
        expect(details.length, what).toBeGreaterThan(0);
        if (process.env.SHOW_PLANS) console.log(what);
        expect(fullScans(details), what).toEqual([]);
        // Every table the statement reads is reached through an index or the primary key.
        expect(details.some((d) => /USING (COVERING )?INDEX|USING (INTEGER )?PRIMARY KEY/.test(d)), what).toBe(true);
      }
    });
  }

  it("the check itself catches a full scan", async () => {
    const details = await plan({ sql: "SELECT * FROM sessions WHERE device_name = ?", args: ["x"] });
    expect(fullScans(details)).toEqual(["SCAN sessions"]);
  });
});

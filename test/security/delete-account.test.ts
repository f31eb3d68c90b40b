/**
 * Issue 17.9 (the way out): there was no way to delete an account, and no way to take one's data
 * along. DeleteAccount (current password) ends every session on every instance and removes every
 * row of the user from every feature (sync records and conflicts, engine profiles, running
 * queries, realtime events, security events, login attempts, rate-limit buckets) and the user's own
 * SQLite folder (<ENGINE_SQLITE_DIR>/<user id>/): afterwards the
 * app database FILE holds no byte of the email or username, WAL and freed pages included.
 * ExportMyData returns everything of the caller (never a secret) as one JSON document.
 * Two accounts on two instances sharing one database, over real HTTP.
 */
import { existsSync, readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, type Db } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrator.js";
import { call, freshIp, login, ok, registerAndLogin, sleep, startAuthServer, type AuthTestServer, type LoginReply, type NewUser } from "../support/auth.js";
import { startResendStandIn, type ResendStandIn } from "../support/resend.js";
import { connection, history, savedQuery, syncCall, uuid } from "../support/sync.js";
import { clientsFor, run, sqliteSpec } from "../support/engine.js";

const dir = mkdtempSync(join(tmpdir(), "sqlstudio-erase-"));
const file = join(dir, "app.db");
let resend: ResendStandIn;
let db: Db;
let a: AuthTestServer;
let b: AuthTestServer;

beforeAll(async () => {
  resend = await startResendStandIn();
  db = await openDb({ url: `file:${file}` });
  await migrate(db);
  a = await startAuthServer({ resend, db, env: { DATABASE_URL: `file:${file}` } });
  b = await startAuthServer({ resend, db, env: { DATABASE_URL: `file:${file}` } });
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await resend?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Account = { user: NewUser; id: string; session: LoginReply; onB: LoginReply; connectionId: string; sqliteFolder: string };
const DB_PASSWORD = "Db-pa55word-that-must-never-leave";

/** An account with rows in every feature, made through the API (and one running query as an instance records it). */
async function populated(prefix: string): Promise<Account> {
  const { user, id, session } = await registerAndLogin(a, prefix);
  const onB = await login(b, user);
  const t = session.accessToken;
  // Failed logins under both identifiers (login_failures, security events).
  for (const identifier of [user.username, user.email]) await call(a, "Login", { identifier, password: "Wrong-password-123456", deviceName: "x" }, { ip: freshIp() });
  // The library: a connection profile, a saved query, history, and a conflict from a second device.
  const rec = uuid();
  const push = (device: string, changes: unknown[]) => syncCall(a, "Push", { deviceId: device, changes }, t);
  expect((await push("laptop", [connection(uuid(), 0, { name: `${prefix} db`, host: "db.example.com", username: user.username }), savedQuery(rec, 0, { title: `${prefix} query`, sql: "select 1" }), history(uuid(), { sql: `select '${user.email}'` })])).status).toBe(200);
  expect((await push("phone", [savedQuery(rec, 0, { title: `${prefix} other`, sql: "select 2" })])).status).toBe(200);
  // An engine profile with a stored password.
  const created = await ok<{ connection: { id: string } }>(
    a,
    "sqlstudio.database.v1.ConnectionService/CreateConnection",
    { spec: { name: `${prefix} pg`, engine: "ENGINE_POSTGRESQL", host: "127.0.0.1", port: 5432, database: "app", username: user.username, password: DB_PASSWORD, sslMode: "SSL_MODE_DISABLE" } },
    { token: t },
  );
  // A SQLite database of their own, in their folder (<ENGINE_SQLITE_DIR>/<user id>/), with a query run on it.
  const engine = clientsFor(a.url, t);
  const lite = (await engine.connections.createConnection({ spec: sqliteSpec(`${prefix}.db`) })).connection!.id;
  await run(engine, lite, `create table notes (body text); insert into notes values ('${user.email}')`);
  const sqliteFolder = join(a.config.engine.sqliteDir!, id);
  expect(existsSync(join(sqliteFolder, `${prefix}.db`))).toBe(true);
  // A query some instance is running for the user (rows live as long as their query).
  await db.execute({ sql: "INSERT INTO engine_queries (user_id, query_id, instance, created_at, updated_at) VALUES (?, ?, 'other-instance', ?, ?)", args: [id, uuid(), Date.now(), Date.now()] });
  return { user, id, session, onB, connectionId: created.connection.id, sqliteFolder };
}

/** Every row of every table, as text. */
async function allRows(): Promise<{ table: string; row: string }[]> {
  const tables = await db.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
  const out: { table: string; row: string }[] = [];
  for (const t of tables.rows) {
    const rs = await db.execute(`SELECT * FROM "${String(t.name)}"`);
    for (const r of rs.rows) out.push({ table: String(t.name), row: JSON.stringify(r) });
  }
  return out;
}

/** The bytes of the database files (main, WAL, shared memory). */
function fileBytes(): Buffer {
  return Buffer.concat(readdirSync(dir).filter((f) => f.startsWith("app.db")).map((f) => readFileSync(join(dir, f))));
}

let alice: Account;
let bob: Account;
beforeAll(async () => {
  alice = await populated("alice");
  bob = await populated("bob");
  // A failed login with alice's address typed before she existed is counted under the address.
  await ok(a, "ExportMyData", {}, { token: alice.session.accessToken });
});

describe("ExportMyData", () => {
  it("returns the caller's profile, sessions, events, connection profiles without secrets, saved queries and history", async () => {
    const r = await ok<{ document: string; fileName: string }>(a, "ExportMyData", {}, { token: alice.session.accessToken });
    expect(r.fileName).toMatch(new RegExp(`^sqlstudio-export-${alice.user.username}-\\d{4}-\\d\\d-\\d\\d\\.json$`));
    const doc = JSON.parse(r.document);
    expect(doc).toMatchObject({ format: "sqlstudio-export", version: 1, profile: { id: alice.id, email: alice.user.email, username: alice.user.username } });
    expect(doc.sessions.length).toBeGreaterThanOrEqual(2);
    expect(doc.securityEvents.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(["registered", "login_succeeded", "login_failed"]));
    expect(doc.connectionProfiles).toEqual(expect.arrayContaining([expect.objectContaining({ id: alice.connectionId, name: "alice pg", hasPassword: true })]));
    expect(doc.connectionProfiles).toHaveLength(2);
    expect(doc.library.connections).toEqual([expect.objectContaining({ name: "alice db" })]);
    expect(doc.library.savedQueries).toEqual([expect.objectContaining({ title: "alice query" })]);
    // The pushed entry, and the statement run on the SQLite profile (every execution is history).
    expect(doc.library.history).toEqual(expect.arrayContaining([expect.objectContaining({ sql: expect.stringContaining("select") }), expect.objectContaining({ sql: expect.stringContaining("create table notes") })]));
    // Nothing secret, and nothing of bob.
    expect(r.document).not.toContain(DB_PASSWORD);
    expect(r.document).not.toMatch(/password_?(hash|sealed)|passwordSealed|\$2[aby]\$/i);
    expect(r.document).not.toContain(bob.user.email);
    expect(r.document).not.toContain(bob.id);
  });
});

describe("DeleteAccount", () => {
  it("needs the current password: InvalidArgument naming current_password, and nothing is deleted", async () => {
    const none = await call(a, "DeleteAccount", {}, { token: alice.session.accessToken });
    expect(none.code).toBe("invalid_argument");
    expect(none.info?.field).toBe("current_password");
    const wrong = await call(a, "DeleteAccount", { currentPassword: `${alice.user.password}x` }, { token: alice.session.accessToken });
    expect(wrong.info).toMatchObject({ reason: "WRONG_PASSWORD", field: "current_password" });
    expect((await call(b, "GetCurrentUser", {}, { token: alice.onB.accessToken })).status).toBe(200);
  });

  it("ends every session on every instance and leaves no row and no byte of the account", async () => {
    // B has alice's session cached.
    expect((await call(b, "GetCurrentUser", {}, { token: alice.onB.accessToken })).status).toBe(200);
    expect((await call(a, "DeleteAccount", { currentPassword: alice.user.password }, { token: alice.session.accessToken })).status).toBe(200);

    expect((await call(a, "GetCurrentUser", {}, { token: alice.session.accessToken })).info?.reason).toBe("SESSION_REVOKED");
    const started = Date.now();
    for (;;) {
      const r = await call(b, "GetCurrentUser", {}, { token: alice.onB.accessToken });
      if (r.status !== 200) {
        expect(r.info?.reason).toBe("SESSION_REVOKED");
        break;
      }
      expect(Date.now() - started, "B still accepts alice's token").toBeLessThan(5000);
      await sleep(100);
    }
    expect((await call(a, "RefreshToken", { refreshToken: alice.session.refreshToken })).code).toBe("unauthenticated");

    // No row names her: not her email, not her username; her id only in the realtime pokes
    // that tell other instances to close her sockets (no personal data; gone within the hour).
    const rows = await allRows();
    const lower = (s: string) => s.toLowerCase();
    expect(rows.filter((r) => lower(r.row).includes(lower(alice.user.email)))).toEqual([]);
    expect(rows.filter((r) => lower(r.row).includes(lower(alice.user.username)))).toEqual([]);
    const withId = rows.filter((r) => r.row.includes(alice.id));
    for (const r of withId) expect(r, "a row still naming alice's id").toMatchObject({ table: "realtime_events", row: expect.stringContaining("session_revoked") });

    // And not a byte in the files: main database, WAL, shared memory.
    const bytes = fileBytes();
    for (const needle of [alice.user.email, alice.user.username, alice.user.email.split("@")[0]]) {
      expect(bytes.includes(Buffer.from(needle, "utf8")), `"${needle}" is still in the database files`).toBe(false);
    }
    // Her own SQLite files went with her.
    expect(existsSync(alice.sqliteFolder)).toBe(false);
    expect(existsSync(bob.sqliteFolder)).toBe(true);
    // (Typing her address to log in now is counted like any unknown identifier: after the scan.)
    expect((await call(a, "Login", { identifier: alice.user.email, password: alice.user.password, deviceName: "x" }, { ip: freshIp() })).info?.reason).toBe("INVALID_CREDENTIALS");
  });

  it("leaves bob's account and data as they were", async () => {
    expect((await call(b, "GetCurrentUser", {}, { token: bob.onB.accessToken })).status).toBe(200);
    const doc = JSON.parse((await ok<{ document: string }>(a, "ExportMyData", {}, { token: bob.session.accessToken })).document);
    expect(doc.connectionProfiles).toHaveLength(2);
    expect(doc.library.savedQueries).toHaveLength(1);
    expect(fileBytes().includes(Buffer.from(bob.user.email))).toBe(true);
  });
});

/**
 * Issue 17.11: client-chosen connection ids are scoped per user. Another user's id is no longer
 * answered CONNECTION_EXISTS (which told bob that alice has a profile with that id); each user
 * has their own profile under the same id. Real server, real HTTP, two accounts.
 */
import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AuthTestServer } from "../support/auth.js";
import { engineUser, run, sqliteSpec, startEngineServer, type EngineUser } from "../support/engine.js";
import { expectRpcError } from "../support/rpc.js";

let server: AuthTestServer;
let alice: EngineUser;
let bob: EngineUser;
beforeAll(async () => {
  server = await startEngineServer();
  alice = await engineUser(server, "ids-alice");
  bob = await engineUser(server, "ids-bob");
});
afterAll(async () => {
  await server?.stop();
});

it("bob can create a profile with the id alice uses; each sees only their own", async () => {
  const id = randomUUID();
  await alice.connections.createConnection({ id, spec: sqliteSpec("a.db", { name: "alice's" }) });
  const b = await bob.connections.createConnection({ id, spec: sqliteSpec("b.db", { name: "bob's" }) });
  expect(b.connection?.id).toBe(id);
  expect((await alice.connections.getConnection({ id })).connection?.name).toBe("alice's");
  expect((await bob.connections.getConnection({ id })).connection?.name).toBe("bob's");
  // Each runs on their own file, and deleting one leaves the other.
  await run(alice, id, "CREATE TABLE mine (x)");
  await expect(run(bob, id, "SELECT * FROM mine")).rejects.toThrow(/no such table/);
  await bob.connections.deleteConnection({ id });
  expect((await alice.connections.getConnection({ id })).connection?.name).toBe("alice's");
});

it("the same user reusing an id still gets AlreadyExists CONNECTION_EXISTS", async () => {
  const id = randomUUID();
  await alice.connections.createConnection({ id, spec: sqliteSpec("c.db") });
  await expectRpcError(alice.connections.createConnection({ id, spec: sqliteSpec("d.db") }), Code.AlreadyExists, "CONNECTION_EXISTS", "id");
});

it("migration 0008 keeps every stored profile and keys them by (user, id)", async () => {
  const { openDb } = await import("../../src/db/client.js");
  const { migrate, readMigrations } = await import("../../src/db/migrator.js");
  const db = await openDb({ url: ":memory:" });
  const all = readMigrations();
  await migrate(db, Date.now, all.filter((m) => m.version < 8));
  await db.execute("INSERT INTO users (id, email, username, username_key, password_hash, password_changed_at, created_at, updated_at) VALUES ('u1', 'a@x', 'a', 'a', 'h', 1, 1, 1), ('u2', 'b@x', 'b', 'b', 'h', 1, 1, 1)");
  const row = "INSERT INTO engine_connections (id, user_id, name, engine, host, port, database_name, username, password_sealed, ssl_mode, options, read_only, created_at, updated_at) VALUES (?, ?, 'n', 'sqlite', 'x.db', 0, '', '', 'sealed', 'disable', '{}', 0, 1, 2)";
  await db.execute({ sql: row, args: ["c1", "u1"] });
  await expect(db.execute({ sql: row, args: ["c1", "u2"] })).rejects.toThrow(/UNIQUE|constraint/i);
  await migrate(db, Date.now, all);
  await db.execute({ sql: row, args: ["c1", "u2"] });
  const rows = await db.execute("SELECT id, user_id, password_sealed, updated_at FROM engine_connections ORDER BY user_id");
  expect(rows.rows.map((r) => [r.id, r.user_id, r.password_sealed, r.updated_at])).toEqual([
    ["c1", "u1", "sealed", 2],
    ["c1", "u2", "sealed", 2],
  ]);
  db.close();
});

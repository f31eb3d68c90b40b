/**
 * Pooled sessions keep nothing of the last request (issue 17 item 10): every connection is reset
 * when it returns to the pool (PostgreSQL: DISCARD ALL, which also unlocks advisory locks;
 * MySQL/MariaDB: COM_RESET_CONNECTION), whatever the statement's first word was. Each leak is
 * checked on the same backend (its pid / connection id) the leaking request used.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import mysql from "mysql2/promise";
import type { AuthTestServer } from "../support/auth.js";
import { startMariadb, startPostgres, type ServerInfo } from "../support/databases.js";
import { cell, createConnection, engineUser, run, specFor, startEngineServer, type EngineUser } from "../support/engine.js";

let server: AuthTestServer;
let u: EngineUser;
let pgInfo: ServerInfo;
let pgId: string;
let myInfo: ServerInfo | undefined;
let myId: string | undefined;
let mariadbMissing = "";

beforeAll(async () => {
  pgInfo = await (await startPostgres()).createDatabase("pool_reset");
  const maria = await startMariadb();
  server = await startEngineServer({ ENGINE_POOL_MAX: "2" });
  u = await engineUser(server, "reset");
  pgId = await createConnection(u, specFor(pgInfo));
  if ("unavailable" in maria) mariadbMissing = maria.unavailable;
  else {
    myInfo = await maria.createDatabase("pool_reset");
    myId = await createConnection(u, specFor(myInfo));
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

const value = async (id: string, sql: string) => {
  const r = await run(u, id, sql);
  return cell(r[r.length - 1].rows[0][0])[1];
};

/**
 * Runs `leak` (with the backend's id) until a later request lands on the same backend, then runs
 * `check` there and returns its value: what the next user of that pooled connection would see.
 */
async function onSameBackend(id: string, whoami: string, leak: string, check: string): Promise<unknown> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await run(u, id, `${leak}; ${whoami}`);
    const backend = cell(r[r.length - 1].rows[0][0])[1];
    await new Promise((res) => setTimeout(res, 100)); // the reset runs when the connection returns
    const after = await run(u, id, `${whoami}; ${check}`);
    if (cell(after[0].rows[0][0])[1] === backend) return cell(after[after.length - 1].rows[0][0])[1];
  }
  throw new Error("no request landed on the same backend twice");
}

describe("PostgreSQL", () => {
  it("set_config(..., false) does not carry over to the next request", async () => {
    const path = await onSameBackend(pgId, "SELECT pg_backend_pid()", "SELECT set_config('search_path', 'leaked', false)", "SHOW search_path");
    expect(path).toBe('"$user", public');
  });

  it("a temporary table does not carry over", async () => {
    const found = await onSameBackend(pgId, "SELECT pg_backend_pid()", "CREATE TEMP TABLE t_leak (x int)", "SELECT to_regclass('t_leak')::text IS NOT NULL");
    expect(found).toBe(false);
  });

  it("an advisory lock taken by a request is released: another user of the database is not blocked", async () => {
    await run(u, pgId, "SELECT pg_advisory_lock(4242)");
    await new Promise((res) => setTimeout(res, 300));
    const other = new pg.Client(pgInfo);
    await other.connect();
    try {
      expect((await other.query("SELECT pg_try_advisory_lock(4242) AS got")).rows[0].got).toBe(true);
    } finally {
      await other.end();
    }
  });
});

describe("MariaDB", () => {
  it("user variables, temporary tables and user-level locks do not carry over; the character set stays", async (ctx) => {
    if (mariadbMissing) return ctx.skip(mariadbMissing);
    const id = myId!;
    expect(await onSameBackend(id, "SELECT CONNECTION_ID()", "SELECT @leak := 42", "SELECT @leak IS NULL")).toBe(1n);
    // A leaked temporary table would make CREATE ... IF NOT EXISTS warn.
    expect(await onSameBackend(id, "SELECT CONNECTION_ID()", "CREATE TEMPORARY TABLE t_leak (x int)", "CREATE TEMPORARY TABLE IF NOT EXISTS t_leak (x int); SELECT @@warning_count")).toBe(0n);
    await run(u, id, "SELECT GET_LOCK('leak', 0)");
    await new Promise((res) => setTimeout(res, 300));
    const other = await mysql.createConnection({ host: myInfo!.host, port: myInfo!.port, user: myInfo!.user, password: myInfo!.password, database: myInfo!.database });
    try {
      const [rows] = await other.query("SELECT IS_FREE_LOCK('leak') AS free");
      expect((rows as { free: number }[])[0].free).toBe(1);
    } finally {
      await other.end();
    }
    // The reset keeps the connection's character set: text round-trips.
    expect(await onSameBackend(id, "SELECT CONNECTION_ID()", "SELECT 1", "SELECT @@character_set_client")).toBe("utf8mb4");
    expect(await value(id, "SELECT 'é😀'")).toBe("é😀");
  });
});

import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import mysql from "mysql2/promise";
import { startMariadb, startPostgres, type ServerInfo } from "../../support/databases.js";

// Known at collection time, so the skip (and its reason) shows in the test name.
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;

async function pgQuery(info: ServerInfo, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client(info);
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function myQuery({ host, port, user, password, database }: ServerInfo, sql: string): Promise<unknown[]> {
  // Only connection fields: mysql2 warns about unknown options such as `engine`.
  const conn = await mysql.createConnection({ host, port, user, password, database });
  try {
    const [rows] = await conn.query(sql);
    return rows as unknown[];
  } finally {
    await conn.end();
  }
}

describe("PostgreSQL test server", () => {
  afterAll(async () => (await startPostgres()).stop());

  it("answers select version() over TCP with the password", async () => {
    const server = await startPostgres();
    expect(server).toMatchObject({ engine: "postgresql", host: "127.0.0.1", user: "postgres", database: "postgres" });
    const { rows } = await pgQuery(server, "select version() as v");
    expect(rows[0].v).toMatch(/^PostgreSQL \d+\.\d+/);
    await expect(pgQuery({ ...server, password: "wrong" }, "select 1")).rejects.toThrow(/password/);
  });

  it("is memoized and configured for tests", async () => {
    expect(await startPostgres()).toBe(await startPostgres());
    const server = await startPostgres();
    const { rows } = await pgQuery(server, "select current_setting('max_connections')::int as max, current_setting('fsync') as fsync");
    expect(rows[0].max).toBeGreaterThanOrEqual(100);
    expect(rows[0].fsync).toBe("off");
  });

  it("createDatabase gives an isolated database", async () => {
    const server = await startPostgres();
    const a = await server.createDatabase("iso_a");
    const b = await server.createDatabase("iso_b");
    expect(a).toMatchObject({ database: "iso_a", port: server.port });
    await pgQuery(a, "create table t (x int); insert into t values (1)");
    expect((await pgQuery(a, "select current_database() as d, count(*)::int as n from t")).rows[0]).toEqual({ d: "iso_a", n: 1 });
    expect((await pgQuery(b, "select to_regclass('t') as t")).rows[0].t).toBeNull();
  });
});

describe("MariaDB test server", () => {
  const server = "unavailable" in mariadb ? undefined : mariadb;
  afterAll(async () => server?.stop());
  const skipped = mariadbMissing ? ` (skipped: ${mariadbMissing})` : "";

  it.skipIf(mariadbMissing)(`answers select version() with a real user and password${skipped}`, async () => {
    const s = server!;
    expect(s).toMatchObject({ engine: "mariadb", host: "127.0.0.1", database: "test" });
    const rows = (await myQuery(s, "select version() as v, current_user() as u")) as { v: string; u: string }[];
    expect(rows[0].v).toMatch(/^\d+\.\d+\.\d+-MariaDB/);
    expect(rows[0].u).toBe(`${s.user}@%`);
    // Grant tables are live: a wrong password is refused.
    await expect(myQuery({ ...s, password: "wrong" }, "select 1")).rejects.toThrow(/Access denied/);
  });

  it.skipIf(mariadbMissing)(`createDatabase gives an isolated database${skipped}`, async () => {
    const s = server!;
    const a = await s.createDatabase("iso_a");
    const b = await s.createDatabase("iso_b");
    expect(a).toMatchObject({ database: "iso_a", port: s.port, user: s.user });
    await myQuery(a, "create table t (x int)");
    expect(await myQuery(a, "select database() as d")).toEqual([{ d: "iso_a" }]);
    expect(await myQuery(b, "select count(*) as n from information_schema.tables where table_schema = 'iso_b'")).toEqual([{ n: 0 }]);
  });
});

import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthTestServer } from "../../support/auth.js";
import { startPostgres, startMariadb, type DatabaseServer } from "../../support/databases.js";
import { cell, createConnection, engineUser, run, specFor, sqliteSpec, startEngineServer, type EngineUser } from "../../support/engine.js";
import { expectRpcError } from "../../support/rpc.js";

let server: AuthTestServer;
let u: EngineUser;
let pgDb: DatabaseServer;
let my: DatabaseServer | { unavailable: string };

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server);
  pgDb = await startPostgres();
  my = await startMariadb();
});
afterAll(async () => {
  await server?.stop();
});

describe("engine smoke", () => {
  it("postgres", async () => {
    const id = await createConnection(u, specFor(pgDb));
    const r = await run(u, id, "select 1::int8 as a, 'x' as b; select 2");
    expect(r).toHaveLength(2);
    expect(r[0].columns.map((c) => c.name)).toEqual(["a", "b"]);
    expect(cell(r[0].rows[0][0])).toEqual(["intValue", 1n]);
  });
  it("every request starts on a clean session: an open transaction is rolled back, a setting does not carry over", async () => {
    const id = await createConnection(u, specFor(pgDb));
    await run(u, id, "CREATE TABLE IF NOT EXISTS clean_t (a int); DELETE FROM clean_t");
    await run(u, id, "BEGIN; INSERT INTO clean_t VALUES (1)");
    await run(u, id, "SET search_path TO nowhere");
    const r = await run(u, id, "SELECT count(*) FROM public.clean_t; SHOW search_path");
    expect(cell(r[0].rows[0][0])).toEqual(["intValue", 0n]);
    expect(cell(r[1].rows[0][0])[1]).not.toContain("nowhere");
  });
  it("mariadb", async () => {
    if ("unavailable" in my) throw new Error(my.unavailable);
    const id = await createConnection(u, specFor(my));
    const r = await run(u, id, "select 1 as a, 'x' as b; select 2");
    expect(r).toHaveLength(2);
    expect(cell(r[0].rows[0][0])).toEqual(["intValue", 1n]);
    // Statements without a result set: columns empty, affected rows counted.
    const w = await run(u, id, "create table smoke_t (a int); insert into smoke_t values (1), (2); select count(*) from smoke_t");
    expect(w.map((s) => s.columns.length)).toEqual([0, 0, 1]);
    expect(w[1].affectedRows).toBe(2n);
    expect(cell(w[2].rows[0][0])).toEqual(["intValue", 2n]);
  });
  it("max_rows truncates without reading the rest (10 of 10M rows, at once) on every engine", async () => {
    const engines: [string, string][] = [
      [await createConnection(u, specFor(pgDb)), "SELECT g FROM generate_series(1, 10000000) g"],
      [await createConnection(u, sqliteSpec("t.db")), "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000000) SELECT x FROM c"],
    ];
    if (!("unavailable" in my)) engines.push([await createConnection(u, specFor(my)), "SELECT seq FROM seq_1_to_10000000"]);
    for (const [id, sql] of engines) {
      const t0 = performance.now();
      const r = await run(u, id, sql, { maxRows: 10 });
      expect(r[0].rows).toHaveLength(10);
      expect(r[0].rowCount).toBe(10n);
      expect(r[0].truncated).toBe(true);
      expect(performance.now() - t0).toBeLessThan(3_000);
      // The connection is clean for the next query.
      expect(cell((await run(u, id, "SELECT 7"))[0].rows[0][0])).toEqual(["intValue", 7n]);
    }
    const metrics = await server.metrics.registry.getSingleMetricAsString("engine_statements_total");
    expect(metrics).toMatch(/engine_statements_total\{engine="postgresql",result="ok"\} \d+/);
  });
  it("a wrong password or database answers FailedPrecondition CONNECTION_FAILED, not a SQL error", async () => {
    const targets = [specFor(pgDb, { password: "wrong" }), specFor(pgDb, { database: "no_such_db" })];
    if (!("unavailable" in my)) targets.push(specFor(my, { password: "wrong" }), specFor(my, { database: "no_such_db" }));
    for (const spec of targets) {
      const id = await createConnection(u, spec);
      await expectRpcError(run(u, id, "select 1"), Code.FailedPrecondition, "CONNECTION_FAILED");
    }
  });
  it("sqlite", async () => {
    const id = await createConnection(u, sqliteSpec("a.db"));
    const r = await run(u, id, "create table t(a integer primary key, b text); insert into t(b) values ('x'),('y'); select * from t");
    expect(r).toHaveLength(3);
    expect(r[2].rows).toHaveLength(2);
  });
});

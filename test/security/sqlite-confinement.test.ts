/**
 * Issue 17.1: user SQL on a SQLite profile reaches nothing outside its own database file, in every
 * mode: no file-system functions or virtual tables, no extension loading, no ATTACH / VACUUM INTO of
 * another path, no PRAGMA that reaches outside, also through a comment, a CTE, a view or a trigger
 * of the user's own file, and from a pre-made malicious file. Real server, real HTTP, two accounts,
 * real SQLite files.
 */
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import type { AuthTestServer } from "../support/auth.js";
import { createConnection, engineUser, run, sqliteSpec, startEngineServer, type EngineUser, type StatementResult } from "../support/engine.js";

let server: AuthTestServer;
let alice: EngineUser;
let bob: EngineUser;
const ids = { rw: "", ro: "" };
let engineKey = "";

/** Where the server keeps a user's SQLite files. */
const folderOf = (u: EngineUser) => join(server.dir, "sqlite", u.userId);

beforeAll(async () => {
  server = await startEngineServer();
  alice = await engineUser(server, "sq-alice");
  bob = await engineUser(server, "sq-bob");
  ids.rw = await createConnection(alice, sqliteSpec("alice.db"));
  ids.ro = await createConnection(alice, sqliteSpec("alice.db", { name: "alice ro", readOnly: true }));
  await run(alice, ids.rw, "CREATE TABLE t (x); INSERT INTO t VALUES (1); CREATE TABLE log (y)");
  engineKey = readFileSync(join(server.dir, "engine.key"), "utf8").trim();
});
afterAll(async () => {
  await server?.stop();
});

/** The failure of a call, or the rows it answered (a test then shows them). */
async function attempt(u: EngineUser, id: string, sql: string): Promise<ConnectError | StatementResult[]> {
  try {
    return await run(u, id, sql);
  } catch (err) {
    return ConnectError.from(err);
  }
}

function expectRefused(r: ConnectError | StatementResult[], sql: string) {
  if (!(r instanceof ConnectError)) throw new Error(`not refused: ${sql}\n${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v)).slice(0, 300)}`);
  expect([Code.PermissionDenied, Code.InvalidArgument]).toContain(r.code);
  expect(r.rawMessage).not.toContain("root:");
  if (engineKey) expect(r.rawMessage).not.toContain(engineKey);
}

const HOST_FILE = "/etc/passwd";

describe("functions and virtual tables that reach the host are refused, in every mode", () => {
  const attacks = [
    `select cast(readfile('${HOST_FILE}') as text)`,
    `SELECT READFILE('${HOST_FILE}')`,
    `select "readfile"('${HOST_FILE}')`,
    `select [readfile]('${HOST_FILE}')`,
    `select readfile/* a comment */('${HOST_FILE}')`,
    `with x(r) as (select readfile('${HOST_FILE}')) select * from x`,
    "select readfile('engine.key')",
    "select writefile('pwned.txt', 'x')",
    "select name from fsdir('.')",
    "select count(*) from fsdir('/')",
    "select * from FSDIR('/etc') where name like '%passwd'",
    "select lsmode(16877)",
    "select load_extension('/nonexistent/lib.so')",
    "select sha3_query('select 1')",
    "select fts3_tokenizer('simple')",
    "select sqlite3mc_config('cipher')",
    "select sqlite3mc_codec_data('cipher_salt')",
    "select count(*) from sqlite_dbpage",
  ];
  for (const mode of ["rw", "ro"] as const) {
    it.each(attacks)(`${mode}: %s`, async (sql) => {
      expectRefused(await attempt(alice, ids[mode], sql), sql);
      expect(existsSync(join(folderOf(alice), "pwned.txt"))).toBe(false);
      expect(existsSync(join(process.cwd(), "pwned.txt"))).toBe(false);
    });
  }

  it("the refusal is PermissionDenied with a reason and the field sql", async () => {
    const r = await attempt(alice, ids.rw, `select readfile('${HOST_FILE}')`);
    expect(r).toBeInstanceOf(ConnectError);
    const err = r as ConnectError;
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "SQLITE_NOT_AUTHORIZED", field: "sql" });
  });
});

describe("no other file: ATTACH, VACUUM INTO and PRAGMAs that reach outside are refused", () => {
  const attacks = [
    "ATTACH '@APP_DB' AS app",
    "ATTACH 'file::memory:?cache=shared' AS shared",
    "attach ':memory:' as m",
    "VACUUM INTO '/tmp/sqlstudio-vacuum-copy.db'",
    "PRAGMA writable_schema = 1",
    "PRAGMA trusted_schema = 1",
    "PRAGMA temp_store_directory = '/tmp'",
    "PRAGMA main.writable_schema = ON",
    "PRAGMA hard_heap_limit = 1",
    "PRAGMA key = 'x'",
  ];
  it.each(attacks)("%s", async (sql) => {
    // The app database's path is known once the server runs.
    const text = sql.replace("@APP_DB", join(server.dir, "app.db"));
    expectRefused(await attempt(alice, ids.rw, text), text);
    expect(existsSync("/tmp/sqlstudio-vacuum-copy.db")).toBe(false);
  });

  it("what a SQL client needs still works: VACUUM, ANALYZE, PRAGMA foreign_keys, table_info, FTS5, JSON, recursive CTEs", async () => {
    const r = await run(
      alice,
      ids.rw,
      [
        "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(body)",
        "INSERT INTO docs VALUES ('hello world')",
        "SELECT count(*) FROM docs WHERE docs MATCH 'hello'",
        "SELECT highlight(docs, 0, '[', ']') FROM docs WHERE docs MATCH 'hello'",
        "SELECT value FROM json_each('[1,2]')",
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT sum(n) FROM c",
        "PRAGMA foreign_keys",
        "PRAGMA table_info(t)",
        "SELECT name FROM pragma_table_list",
        "VACUUM",
        "ANALYZE",
        "SELECT sqrt(16), upper('x'), date('now') IS NOT NULL",
        "CREATE TABLE r1 (a, b)",
        "ALTER TABLE r1 RENAME TO r2",
        "ALTER TABLE r2 RENAME COLUMN a TO c",
        "ALTER TABLE r2 ADD COLUMN d DEFAULT (upper('x'))",
        "ALTER TABLE r2 DROP COLUMN b",
        "CREATE INDEX r2_c ON r2 (lower(c))",
        "CREATE VIEW r2v AS SELECT upper(c) FROM r2",
        "CREATE TRIGGER r2t AFTER INSERT ON r2 BEGIN INSERT INTO log VALUES (upper(new.c)); END",
        "INSERT INTO r2 (c) VALUES ('q')",
        "SELECT * FROM r2v",
        "DROP TRIGGER r2t",
        "DROP VIEW r2v",
        "DROP TABLE r2",
        "DELETE FROM log",
        "BEGIN",
        "SAVEPOINT s",
        "RELEASE s",
        "COMMIT",
      ].join(";\n"),
    );
    expect(r[2].rows[0][0].kind.value).toBe(1n);
    expect(r[3].rows[0][0].kind.value).toBe("[hello] world");
    expect(r[5].rows[0][0].kind.value).toBe(6n);
  });
});

describe("a view or trigger in the user's own file cannot call them either", () => {
  it("a view that calls readfile fails when read, in both modes", async () => {
    // Creating it may pass (SQLite resolves the body when the view is used); using it never does.
    await attempt(alice, ids.rw, `CREATE VIEW v_read AS SELECT readfile('${HOST_FILE}') AS r`);
    await attempt(alice, ids.rw, "CREATE VIEW v_dir AS SELECT name FROM fsdir('/')");
    await attempt(alice, ids.rw, "CREATE VIEW v_mode AS SELECT lsmode(16877) AS m");
    for (const id of [ids.rw, ids.ro]) {
      for (const v of ["v_read", "v_dir", "v_mode"]) expectRefused(await attempt(alice, id, `SELECT * FROM ${v}`), v);
    }
  });

  it("a trigger that calls readfile or writefile makes the insert fail and writes nothing", async () => {
    await attempt(alice, ids.rw, `CREATE TRIGGER tr_read AFTER INSERT ON t BEGIN INSERT INTO log SELECT readfile('${HOST_FILE}'); END`);
    expectRefused(await attempt(alice, ids.rw, "INSERT INTO t VALUES (2)"), "insert firing tr_read");
    await attempt(alice, ids.rw, "DROP TRIGGER IF EXISTS tr_read");
    await attempt(alice, ids.rw, "CREATE TRIGGER tr_mode AFTER INSERT ON t BEGIN INSERT INTO log SELECT lsmode(16877); END");
    expectRefused(await attempt(alice, ids.rw, "INSERT INTO t VALUES (3)"), "insert firing tr_mode");
    await attempt(alice, ids.rw, "DROP TRIGGER IF EXISTS tr_mode");
    const r = await run(alice, ids.rw, "SELECT count(*) FROM log; SELECT count(*) FROM t");
    expect(r[0].rows[0][0].kind.value).toBe(0n);
    expect(r[1].rows[0][0].kind.value).toBe(1n);
  });
});

describe("a pre-made malicious database file is harmless", () => {
  // Made with the other libsql build the server has (the app database's), which registers the
  // same fileio functions: a view, a trigger, CHECK and DEFAULT expressions calling them; and, in a
  // second file, a virtual table declared with fsdir by editing the schema (writable_schema).
  const ids2 = { evil: "", vtab: "" };
  beforeAll(async () => {
    mkdirSync(folderOf(alice), { recursive: true });
    const require = createRequire(import.meta.url);
    const Database = require("libsql/promise") as new (path: string) => { exec(sql: string): Promise<void>; close(): void };
    const make = async (name: string, sql: string[]) => {
      const db = new Database(join(folderOf(alice), name));
      await db.exec(sql.join(";\n"));
      db.close();
    };
    await make("evil.db", [
      "CREATE TABLE ok (x); INSERT INTO ok VALUES (42)",
      "CREATE VIEW v1 AS SELECT lsmode(16877) AS m",
      "CREATE TABLE c (x CHECK (lsmode(x) IS NOT NULL), z DEFAULT (lsmode(1)))",
      "CREATE TABLE log (y)",
      "CREATE TRIGGER tr AFTER INSERT ON ok BEGIN INSERT INTO log SELECT lsmode(1); END",
    ]);
    await make("evil-vtab.db", [
      "CREATE TABLE ok (x); INSERT INTO ok VALUES (42)",
      "CREATE TABLE y (a)",
      "PRAGMA writable_schema = ON",
      "UPDATE sqlite_schema SET sql = 'CREATE VIRTUAL TABLE y /* hidden */ USING \"fsdir\"', rootpage = 0 WHERE name = 'y'",
      "PRAGMA writable_schema = OFF",
    ]);
    ids2.evil = await createConnection(alice, sqliteSpec("evil.db"));
    ids2.vtab = await createConnection(alice, sqliteSpec("evil-vtab.db"));
  });

  it("the crafted virtual table never lists the host's files", async () => {
    for (const sql of ["SELECT name, data FROM y WHERE path = '/etc'", "SELECT count(*) FROM y WHERE path = '/'"]) expectRefused(await attempt(alice, ids2.vtab, sql), sql);
  });

  it("its view, trigger, CHECK and DEFAULT expressions refuse the functions; its plain tables still read", async () => {
    const ok = await run(alice, ids2.evil, "SELECT x FROM ok");
    expect(ok[0].rows[0][0].kind.value).toBe(42n);
    for (const sql of ["SELECT * FROM v1", "INSERT INTO ok VALUES (1)", "INSERT INTO c (x) VALUES (1)"]) {
      expectRefused(await attempt(alice, ids2.evil, sql), sql);
    }
    const log = await run(alice, ids2.evil, "SELECT count(*) FROM log; SELECT count(*) FROM c");
    expect([log[0].rows[0][0].kind.value, log[1].rows[0][0].kind.value]).toEqual([0n, 0n]);
  });

  it("bob cannot open alice's file, nor reach it through a path", async () => {
    for (const host of ["evil.db", `../${alice.userId}/evil.db`, join(folderOf(alice), "evil.db")]) {
      const id = await createConnection(bob, sqliteSpec(host)).catch((e: unknown) => ConnectError.from(e));
      if (id instanceof ConnectError) {
        expect(id.code).toBe(Code.PermissionDenied);
        continue;
      }
      // A plain name is bob's own (new, empty) file.
      expect(await attempt(bob, id, "SELECT count(*) FROM ok")).toBeInstanceOf(ConnectError);
    }
  });
});

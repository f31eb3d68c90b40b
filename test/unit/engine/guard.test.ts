import { describe, expect, it } from "vitest";
import type { EngineName } from "../../../src/engine/driver.js";
import { refusal } from "../../../src/engine/guard.js";
import { splitStatements } from "../../../src/engine/split.js";

const ENGINES: EngineName[] = ["postgresql", "mysql", "sqlite"];

/** The refusal of each statement of a script, as queries.ts checks them. */
function refusals(script: string, engine: EngineName, readOnly: boolean): (string | undefined)[] {
  const list = splitStatements(script, engine);
  expect(list.length, `no statement in ${script}`).toBeGreaterThan(0);
  return list.map((s) => refusal(s, engine, readOnly));
}
const refused = (script: string, engine: EngineName, readOnly = true) => refusals(script, engine, readOnly).some((r) => r !== undefined);

describe("guard: read-only requests cannot leave their read-only transaction", () => {
  const control = [
    "COMMIT",
    "commit; insert into t values (1)",
    "END",
    "ROLLBACK",
    "ABORT",
    "BEGIN",
    "START TRANSACTION",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "PREPARE TRANSACTION 'x'",
    "/* hidden */ -- also\n COMMIT",
    "select 1; commit",
  ];
  for (const engine of ENGINES) {
    it.each(control)(`${engine}: %s is refused read-only and allowed otherwise`, (sql) => {
      expect(refused(sql, engine)).toBe(true);
      expect(refused(sql, engine, false)).toBe(false);
    });
  }

  it.each(ENGINES)("reads pass (the database enforces the rest) (%s)", (engine) => {
    for (const sql of ["select 1", "SELECT * FROM t WHERE a = 'commit'", "with x as (select 1) select * from x", "explain select 1", "values (1)"]) {
      expect(refusals(sql, engine, true), sql).toEqual([undefined]);
    }
  });

  it("the refusal names the statement's first word", () => {
    const [s] = splitStatements("commit", "postgresql");
    expect(refusal(s, "postgresql", true)).toMatch(/COMMIT/);
  });
});

describe("guard: MySQL/MariaDB", () => {
  const tricks = [
    "SET autocommit = 1",
    "set autocommit=1; insert into t values (1)",
    "SET SESSION TRANSACTION READ WRITE",
    "SET TRANSACTION READ WRITE",
    "SET @@session.tx_read_only = 0",
    "SET STATEMENT tx_read_only = 0 FOR INSERT INTO t VALUES (1)",
    "CALL proc()",
    "EXECUTE IMMEDIATE 'COMMIT'",
    "execute stmt",
    "PREPARE s FROM 'COMMIT'",
    "/*!COMMIT*/",
    "/*M!100100 SET SESSION TRANSACTION READ WRITE */",
    "/*!50001 SET autocommit = 1*/",
    "select 1--1; commit",
    "CREATE TABLE x (a int)",
    "DROP TABLE t",
    "ALTER TABLE t ADD b int",
    "TRUNCATE t",
    "RENAME TABLE t TO u",
    "LOCK TABLES t WRITE",
    "UNLOCK TABLES",
    "XA START 'x'",
    "DO my_func()",
    "LOAD DATA INFILE '/tmp/x' INTO TABLE t",
    "FLUSH TABLES",
    "OPTIMIZE TABLE t",
    "HANDLER t OPEN",
    "GRANT ALL ON *.* TO x",
    "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END",
    "IF 1 THEN COMMIT; END IF",
    "WHILE 1 DO COMMIT; END WHILE",
    "REPEAT COMMIT; UNTIL 1 END REPEAT",
    "FOR i IN 1..2 DO COMMIT; END FOR",
    "CASE WHEN 1 THEN COMMIT; END CASE",
    "SELECT * FROM t INTO OUTFILE '/tmp/x.txt'",
    "SELECT 1 INTO DUMPFILE '/tmp/x.bin'",
  ];
  it.each(tricks)("read-only refuses: %s", (sql) => {
    expect(refused(sql, "mysql")).toBe(true);
  });

  it.each(["SET autocommit = 1", "CALL proc()", "CREATE TABLE x (a int)", "EXECUTE IMMEDIATE 'SELECT 1'"])("not read-only, %s passes", (sql) => {
    expect(refused(sql, "mysql", false)).toBe(false);
  });

  it("reads and writes the database itself refuses in a read-only transaction pass the guard", () => {
    for (const sql of ["select my_func()", "insert into t values (1)", "delete from t", "SHOW TABLES", "select * from t for update", "select 1 into @x", "select outfile from t"]) {
      expect(refusals(sql, "mysql", true), sql).toEqual([undefined]);
    }
  });
});

describe("guard: PostgreSQL", () => {
  const tricks = [
    "SET TRANSACTION READ WRITE",
    "SET SESSION TRANSACTION READ WRITE",
    "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET transaction_read_only = off",
    "set local transaction_read_only to false",
    'SET "transaction_read_only" = off',
    'SET U&"\\0074ransaction_read_only" = off',
    "RESET transaction_read_only",
    "COPY t FROM PROGRAM 'id'",
    "COPY t TO PROGRAM 'cat > /tmp/x'",
    "COPY t TO '/tmp/x.csv'",
    "COPY (SELECT stdout FROM t) TO '/tmp/x.csv' WITH (FORMAT csv)",
  ];
  it.each(tricks)("read-only refuses: %s", (sql) => {
    expect(refused(sql, "postgresql")).toBe(true);
  });

  it("ordinary settings and reads pass read-only", () => {
    for (const sql of ["SET search_path = public", "SET statement_timeout = 1000", "RESET search_path", "SHOW transaction_read_only", "COPY t TO STDOUT", "COPY (SELECT 1 AS x) TO STDOUT WITH (FORMAT csv)"]) {
      expect(refusals(sql, "postgresql", true), sql).toEqual([undefined]);
    }
  });

  it("a CTE with DELETE and a function call pass the guard: the read-only transaction refuses them", () => {
    for (const sql of ["WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "SELECT my_func()"]) {
      expect(refusals(sql, "postgresql", true), sql).toEqual([undefined]);
    }
  });

  it("not read-only, SET TRANSACTION and COPY PROGRAM pass (the server's own rules apply)", () => {
    expect(refused("SET TRANSACTION READ WRITE", "postgresql", false)).toBe(false);
    expect(refused("COPY t FROM PROGRAM 'id'", "postgresql", false)).toBe(false);
  });

  it("COMMIT hidden behind a CREATE … AS with columns named function and begin is still seen", () => {
    expect(refusals("CREATE TABLE z AS SELECT 1 AS function, 2 AS begin; COMMIT; DELETE FROM t", "postgresql", true)).toEqual([
      undefined,
      expect.stringMatching(/COMMIT/),
      undefined,
    ]);
  });
});

describe("guard: SQLite", () => {
  it.each([
    ["ATTACH DATABASE '/etc/x.db' AS x", false],
    ["ATTACH DATABASE '/etc/x.db' AS x", true],
    ["attach '../other.db' as o", false],
    ["/* c */ attach 'x.db' as o", true],
    ["DETACH DATABASE x", false],
    ["VACUUM INTO '/tmp/copy.db'", false],
    ["select 1; attach 'x.db' as o", false],
  ] as const)("%s is refused (read-only: %s)", (sql, readOnly) => {
    expect(refused(sql, "sqlite", readOnly)).toBe(true);
  });

  it("PRAGMA is refused read-only (query_only = OFF would lift it), allowed otherwise", () => {
    expect(refused("PRAGMA query_only = OFF", "sqlite")).toBe(true);
    expect(refused("pragma query_only=0; insert into t values (1)", "sqlite")).toBe(true);
    expect(refused("PRAGMA table_info(t)", "sqlite", false)).toBe(false);
  });

  it("VACUUM without INTO and reads are not the guard's business", () => {
    expect(refused("VACUUM", "sqlite", false)).toBe(false);
    expect(refusals("select * from t", "sqlite", true)).toEqual([undefined]);
  });
});

describe("guard: MySQL/MariaDB versioned comments in read-only requests (issue 17.5)", () => {
  it.each([
    "/*M!999999 SELECT */ SET SESSION TRANSACTION READ WRITE",
    "/*M!999999 SELECT */ COMMIT",
    "SELECT 1 INTO /*M!999999 x */ OUTFILE '/tmp/x'",
    "/*!99999 SELECT */ INSERT INTO t VALUES (1)",
    "SELECT /*!50000 1 */",
  ])("%s is refused read-only (whatever the server's version) and allowed otherwise", (sql) => {
    expect(refused(sql, "mysql")).toBe(true);
    expect(refused(sql, "mysql", false)).toBe(false);
  });

  it("plain comments, optimizer hints and strings holding /*! are not versioned comments", () => {
    for (const sql of ["SELECT /* !1 */ 1", "SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1", "SELECT '/*!1 x */'"]) expect(refused(sql, "mysql"), sql).toBe(false);
  });

  it.each(["KILL 12", "KILL QUERY 12", "SHUTDOWN", "PURGE BINARY LOGS BEFORE NOW()", "SELECT LOAD_FILE('/etc/passwd')", "SELECT GET_LOCK('x', 1)", "select release_all_locks()"])(
    "mysql: %s is refused read-only",
    (sql) => {
      expect(refused(sql, "mysql")).toBe(true);
      expect(refused(sql, "mysql", false)).toBe(false);
    },
  );
});

describe("guard: PostgreSQL file and side-connection functions in read-only requests (issue 17.5)", () => {
  it.each([
    "SELECT lo_export(12345, '/tmp/x')",
    "SELECT lo_import('/etc/passwd')",
    "select pg_catalog.lo_export(1, '/tmp/x')",
    'SELECT "lo_export"(1, \'/tmp/x\')',
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT pg_stat_file('postgresql.conf')",
    "SELECT dblink_exec('dbname=x', 'DELETE FROM t')",
    "SELECT * FROM dblink('dbname=x', 'select 1') AS t(a int)",
    "SELECT dblink_connect('c', 'dbname=x')",
    "SELECT pg_reload_conf()",
    "SELECT pg_terminate_backend(1)",
    "SELECT pg_cancel_backend(1)",
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_try_advisory_xact_lock(1)",
    "SELECT pg_advisory_unlock_all()",
    "SELECT pg_stat_reset()",
    "SELECT query_to_xml('select lo_export(1, ''/tmp/x'')', true, false, '')",
    "SELECT set_config('search_path', 'x', false)",
    "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
    "COPY t TO PROGRAM 'id'",
    "COPY t FROM PROGRAM 'id'",
    "COPY t TO '/tmp/x'",
    "DO $$ BEGIN PERFORM 1; END $$",
    "CALL p()",
    "LISTEN c",
    "NOTIFY c",
    "LOAD 'plpgsql'",
    "CHECKPOINT",
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    'SELECT U&"\\006Co_export"(1, \'/tmp/x\')',
  ])("%s is refused read-only", (sql) => {
    expect(refused(sql, "postgresql")).toBe(true);
  });

  it("ordinary reads, and names that only contain those words, pass", () => {
    for (const sql of ["SELECT * FROM lock_log", "SELECT 'lo_export' AS name", "SELECT my_lo_export_count FROM t", "COPY t TO STDOUT", "SELECT pg_size_pretty(1)"]) {
      expect(refused(sql, "postgresql"), sql).toBe(false);
    }
  });
});

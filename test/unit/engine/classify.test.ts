import { describe, expect, it } from "vitest";
import { classifyStatement, writesData } from "../../../src/engine/classify.js";
import { splitStatements } from "../../../src/engine/split.js";

const kind = (sql: string, engine: "postgresql" | "mysql" | "sqlite" = "postgresql") => classifyStatement(splitStatements(sql, engine)[0], engine);

describe("the statement classifier", () => {
  it.each([
    "SELECT * FROM orders",
    "select * from orders where status = 'DELETE' -- UPDATE later",
    "WITH t AS (SELECT 1) SELECT * FROM t",
    "SELECT * FROM orders FOR UPDATE",
    "SELECT * FROM orders FOR NO KEY UPDATE",
    "SELECT replace(name, 'a', 'b') FROM t",
    'SELECT "insert" FROM t',
    "EXPLAIN DELETE FROM orders",
    "SHOW search_path",
    "VALUES (1), (2)",
  ])("reads: %s", (sql) => expect(kind(sql)).toBe("read"));

  it.each([
    "INSERT INTO t VALUES (1)",
    "update t set x = 1",
    "DELETE FROM t",
    "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
    "TRUNCATE t",
    "CREATE TABLE t (id int)",
    "DROP TABLE t",
    "ALTER TABLE t ADD c int",
    "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone",
    "SELECT * INTO backup FROM t",
    "SELECT nextval('s')",
    "EXPLAIN ANALYZE DELETE FROM t",
    "CALL do_things()",
    "COPY t FROM '/tmp/x'",
    "GRANT SELECT ON t TO bob",
    "VACUUM",
    "frobnicate everything",
  ])("writes: %s", (sql) => expect(kind(sql)).toBe("write"));

  it("engine specifics: MySQL SELECT INTO @var reads, INTO OUTFILE writes; SQLite read PRAGMAs read, setting ones write", () => {
    expect(kind("SELECT id INTO @x FROM t", "mysql")).toBe("read");
    expect(kind("SELECT * FROM t INTO OUTFILE '/tmp/x'", "mysql")).toBe("write");
    expect(kind("REPLACE INTO t VALUES (1)", "mysql")).toBe("write");
    expect(kind("PRAGMA table_info(t)", "sqlite")).toBe("read");
    expect(kind("PRAGMA journal_mode = DELETE", "sqlite")).toBe("write");
  });

  it("session statements change no data; a script writes when any statement does", () => {
    expect(kind("BEGIN")).toBe("session");
    expect(kind("SET search_path = x")).toBe("session");
    expect(writesData("BEGIN; SELECT 1; COMMIT", "postgresql")).toBe(false);
    expect(writesData("SELECT 1; DELETE FROM t", "postgresql")).toBe(true);
  });
});

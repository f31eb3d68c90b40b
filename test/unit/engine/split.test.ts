import { describe, expect, it } from "vitest";
import type { EngineName } from "../../../src/engine/driver.js";
import { splitStatements } from "../../../src/engine/split.js";

const ENGINES: EngineName[] = ["postgresql", "mysql", "sqlite"];
const sqls = (script: string, engine: EngineName) => splitStatements(script, engine).map((s) => s.sql);
const firstWords = (script: string, engine: EngineName) => splitStatements(script, engine).map((s) => s.words[0] ?? "");

describe("splitStatements: plain scripts", () => {
  it.each(ENGINES)("splits at top-level semicolons and trims (%s)", (engine) => {
    expect(sqls("select 1;  select 2 ;\nselect 3", engine)).toEqual(["select 1", "select 2", "select 3"]);
  });

  it.each(ENGINES)("drops empty statements: ;; at the start, the middle and the end (%s)", (engine) => {
    expect(sqls(";;select 1;;; ;\n\t;select 2;;", engine)).toEqual(["select 1", "select 2"]);
    expect(sqls(" ; ;\n", engine)).toEqual([]);
    expect(sqls("", engine)).toEqual([]);
  });

  it.each(ENGINES)("drops statements that are only comments (%s)", (engine) => {
    expect(sqls("select 1; -- done\n", engine)).toEqual(["select 1"]);
    expect(sqls("/* header */ ; select 1; /* footer */", engine)).toEqual(["select 1"]);
    expect(sqls("-- nothing here", engine)).toEqual([]);
  });

  it.each(ENGINES)("records the bare words upper-cased, never literals or quoted names (%s)", (engine) => {
    const [s] = splitStatements("select a, 'commit' from t where x = 1 -- delete\n", engine);
    expect(s.words).toEqual(["SELECT", "A", "FROM", "T", "WHERE", "X"]);
  });

  it.each(ENGINES)("a comment before the first word does not hide it (%s)", (engine) => {
    expect(firstWords("/* c */ -- c\n commit; /*x*/insert into t values (1)", engine)).toEqual(["COMMIT", "INSERT"]);
  });
});

describe("splitStatements: strings and quoted names keep their semicolons", () => {
  it.each(ENGINES)("'…' with '' inside (%s)", (engine) => {
    expect(sqls("select 'a;b', 'it''s; fine'; select 2", engine)).toEqual(["select 'a;b', 'it''s; fine'", "select 2"]);
  });

  it("MySQL: backslash escapes in '…' and \"…\" strings", () => {
    expect(sqls("select 'a\\';b', \"c\\\";d\"; select 2", "mysql")).toEqual(["select 'a\\';b', \"c\\\";d\"", "select 2"]);
    // An escaped backslash before the closing quote ends the string.
    expect(sqls("select 'x\\\\'; select 2", "mysql")).toEqual(["select 'x\\\\'", "select 2"]);
  });

  it("PostgreSQL: a backslash in a standard string is an ordinary character", () => {
    expect(sqls("select '\\'; select 2", "postgresql")).toEqual(["select '\\'", "select 2"]);
  });

  it("PostgreSQL: E'…' strings take backslash escapes (E'\\'' is one quote)", () => {
    expect(sqls("select E'\\'; still a string'; select 2", "postgresql")).toEqual(["select E'\\'; still a string'", "select 2"]);
    expect(sqls("select e'\\\\'; select 2", "postgresql")).toEqual(["select e'\\\\'", "select 2"]);
  });

  it("PostgreSQL: a name ending in e before a quote is not an E string (also with non-ASCII letters)", () => {
    // `some'…'` and `ée'…'` are a type name and a standard string, where \ is an ordinary character.
    expect(sqls("select some'\\'; select 2", "postgresql")).toEqual(["select some'\\'", "select 2"]);
    expect(sqls("select ée'\\'; select 2; select '", "postgresql")).toEqual(["select ée'\\'", "select 2", "select '"]);
  });

  it.each(ENGINES)("\"…\" names with \"\" inside (%s)", (engine) => {
    expect(sqls('select 1 as "a;""b"; select 2', engine)).toEqual(['select 1 as "a;""b"', "select 2"]);
  });

  it.each(["mysql", "sqlite"] as const)("`…` names with `` inside (%s)", (engine) => {
    expect(sqls("select 1 as `a;``b`; select 2", engine)).toEqual(["select 1 as `a;``b`", "select 2"]);
  });

  it("SQLite: [ … ] names", () => {
    expect(sqls("select 1 as [a;b]; select 2", "sqlite")).toEqual(["select 1 as [a;b]", "select 2"]);
  });
});

describe("splitStatements: comments keep their semicolons", () => {
  it.each(ENGINES)("-- line comments (%s)", (engine) => {
    expect(sqls("select 1 -- a; b\n, 2; select 3", engine)).toEqual(["select 1 -- a; b\n, 2", "select 3"]);
  });

  it.each(ENGINES)("/* block */ comments (%s)", (engine) => {
    expect(sqls("select /* a; b */ 1; select 2", engine)).toEqual(["select /* a; b */ 1", "select 2"]);
  });

  it("PostgreSQL: block comments nest", () => {
    expect(sqls("select /* a /* b; */ c; */ 1; select 2", "postgresql")).toEqual(["select /* a /* b; */ c; */ 1", "select 2"]);
  });

  it("MySQL: block comments do not nest", () => {
    expect(sqls("select /* a /* b */ 1; select 2", "mysql")).toEqual(["select /* a /* b */ 1", "select 2"]);
  });

  it("MySQL: # starts a comment", () => {
    expect(sqls("select 1 # a; b\n; select 2", "mysql")).toEqual(["select 1 # a; b", "select 2"]);
  });

  it("PostgreSQL and SQLite: # is not a comment", () => {
    expect(sqls("select 1 # 2; select 3", "postgresql")).toEqual(["select 1 # 2", "select 3"]);
  });

  it("MySQL: -- is a comment only when followed by a space or control character", () => {
    // MariaDB reads 5--2 as 5 - -2: the semicolon after it ends the statement.
    expect(sqls("select 5--2; select 3", "mysql")).toEqual(["select 5--2", "select 3"]);
    expect(sqls("select 5 --\tc; x\n; select 3", "mysql")).toEqual(["select 5 --\tc; x", "select 3"]);
    expect(sqls("select 5; --", "mysql")).toEqual(["select 5"]);
    // Only ASCII spaces and control characters count, as in MariaDB's lexer (not a no-break space).
    expect(firstWords("select 5--\u00a0; commit", "mysql")).toEqual(["SELECT", "COMMIT"]);
  });

  it("MySQL: executable comments /*! … */ and /*M! … */ are code, so their words count", () => {
    expect(firstWords("/*!COMMIT*/", "mysql")).toEqual(["COMMIT"]);
    expect(firstWords("/*!50001 SET autocommit = 1 */", "mysql")).toEqual(["SET"]);
    expect(firstWords("/*M!100100 COMMIT */; select 1", "mysql")).toEqual(["COMMIT", "SELECT"]);
    expect(sqls("select 1 /*!; commit */", "mysql")).toEqual(["select 1 /*!", "commit */"]);
    // An ordinary comment and an optimizer hint stay comments.
    expect(splitStatements("select /*+ no_index(t) */ 1 /* commit */", "mysql")[0].words).toEqual(["SELECT"]);
  });
});

describe("splitStatements: PostgreSQL dollar quotes", () => {
  it("$$ … $$ bodies", () => {
    const script = "create function f() returns int language plpgsql as $$ begin perform 1; return 2; end; $$; select f()";
    expect(sqls(script, "postgresql")).toEqual([
      "create function f() returns int language plpgsql as $$ begin perform 1; return 2; end; $$",
      "select f()",
    ]);
  });

  it("$tag$ … $tag$ bodies, with $$ and other tags inside", () => {
    const script = "do $body$ begin raise notice $$a;b$$; perform $x$;$x$; end $body$; select 1";
    expect(sqls(script, "postgresql")).toEqual(["do $body$ begin raise notice $$a;b$$; perform $x$;$x$; end $body$", "select 1"]);
  });

  it("$1 parameters and names with $ are not quotes", () => {
    expect(sqls("select $1; select a$$b; select 2", "postgresql")).toEqual(["select $1", "select a$$b", "select 2"]);
  });

  it("MySQL and SQLite have no dollar quotes", () => {
    expect(sqls("select '$$'; select $$; select 2", "mysql")).toEqual(["select '$$'", "select $$", "select 2"]);
  });
});

describe("splitStatements: BEGIN … END bodies stay one statement", () => {
  it("MySQL: CREATE TRIGGER with IF … END IF and CASE … END inside", () => {
    const trigger = [
      "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN",
      "  IF NEW.a > 10 THEN SET NEW.a = 10; END IF;",
      "  SET NEW.b = CASE WHEN NEW.a > 5 THEN 'big' ELSE 'small' END;",
      "END",
    ].join("\n");
    expect(sqls(`${trigger};\nINSERT INTO t VALUES (1); SELECT 1`, "mysql")).toEqual([trigger, "INSERT INTO t VALUES (1)", "SELECT 1"]);
  });

  it("MySQL: CREATE PROCEDURE with nested BEGIN … END, loops and a CASE statement (END CASE)", () => {
    const proc = [
      "CREATE DEFINER=`root`@`%` PROCEDURE p(IN n INT) BEGIN",
      "  DECLARE i INT DEFAULT 0;",
      "  lbl: LOOP SET i = i + 1; IF i > n THEN LEAVE lbl; END IF; END LOOP lbl;",
      "  WHILE i > 0 DO SET i = i - 1; END WHILE;",
      "  REPEAT SET i = i + 1; UNTIL i > 3 END REPEAT;",
      "  CASE n WHEN 1 THEN SELECT 'one'; ELSE SELECT 'many'; END CASE;",
      "  BEGIN SELECT i; END;",
      "END",
    ].join("\n");
    expect(sqls(`${proc};\nCALL p(1)`, "mysql")).toEqual([proc, "CALL p(1)"]);
  });

  it("MariaDB: FOR … END FOR inside a procedure", () => {
    const proc = "CREATE PROCEDURE p() BEGIN FOR i IN 1..3 DO SELECT i; END FOR; END";
    expect(sqls(`${proc}; SELECT 2`, "mysql")).toEqual([proc, "SELECT 2"]);
  });

  it("MySQL: CREATE FUNCTION and CREATE OR REPLACE … with a BEGIN … END body", () => {
    const fn = "CREATE OR REPLACE FUNCTION f(x INT) RETURNS INT DETERMINISTIC BEGIN DECLARE y INT; SET y = x * 2; RETURN y; END";
    const ev = "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; INSERT INTO t VALUES (1); END";
    expect(sqls(`${fn}; ${ev}; SELECT f(1)`, "mysql")).toEqual([fn, ev, "SELECT f(1)"]);
  });

  it("SQLite: CREATE TRIGGER … BEGIN … END with several statements and CASE", () => {
    const trigger =
      "CREATE TEMP TRIGGER IF NOT EXISTS tr AFTER INSERT ON a BEGIN INSERT INTO b VALUES (new.x); UPDATE c SET n = CASE WHEN n > 1 THEN 0 ELSE n + 1 END; END";
    expect(sqls(`${trigger}; SELECT 1`, "sqlite")).toEqual([trigger, "SELECT 1"]);
  });

  it("PostgreSQL: SQL-standard function bodies (BEGIN ATOMIC … END)", () => {
    const fn = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END";
    expect(sqls(`${fn}; SELECT f()`, "postgresql")).toEqual([fn, "SELECT f()"]);
    const trigger = "CREATE CONSTRAINT TRIGGER t AFTER INSERT ON x FOR EACH ROW EXECUTE FUNCTION g()";
    expect(sqls(`${trigger}; SELECT 1`, "postgresql")).toEqual([trigger, "SELECT 1"]);
  });

  it.each(ENGINES)("a plain transaction is not a body: BEGIN; …; COMMIT are separate statements (%s)", (engine) => {
    expect(firstWords("BEGIN; INSERT INTO t VALUES (1); COMMIT; SELECT CASE WHEN 1 = 1 THEN 1 END; END", engine)).toEqual([
      "BEGIN",
      "INSERT",
      "COMMIT",
      "SELECT",
      "END",
    ]);
  });

  it.each(ENGINES)("words like function, trigger or begin in other CREATE statements do not swallow what follows (%s)", (engine) => {
    // Otherwise "COMMIT" would hide inside the first statement, out of the guard's sight.
    expect(firstWords("CREATE TABLE z AS SELECT 1 AS function, 2 AS begin; COMMIT; DELETE FROM t", engine)).toEqual(["CREATE", "COMMIT", "DELETE"]);
    expect(firstWords("CREATE TABLE t2 (trigger int, begin int); COMMIT", engine)).toEqual(["CREATE", "COMMIT"]);
    expect(firstWords("CREATE TEMP TABLE procedure AS SELECT 1 AS begin; COMMIT", engine)).toEqual(["CREATE", "COMMIT"]);
    expect(firstWords("CREATE VIEW function AS SELECT 1 AS begin; COMMIT", engine)).toEqual(["CREATE", "COMMIT"]);
  });
});

describe("splitStatements: unterminated input", () => {
  it.each(ENGINES)("an unterminated string or comment runs to the end as one statement (%s)", (engine) => {
    expect(sqls("select 1; select 'a; commit", engine)).toEqual(["select 1", "select 'a; commit"]);
    expect(sqls("select 1; select /* a; commit", engine)).toEqual(["select 1", "select /* a; commit"]);
  });

  it("PostgreSQL: an unterminated dollar quote runs to the end", () => {
    expect(sqls("select 1; select $q$ a; commit", "postgresql")).toEqual(["select 1", "select $q$ a; commit"]);
  });
});

describe("splitStatements: work grows linearly with the text (issue 18.2)", () => {
  // Counted work (tokens read, words judged), not time: CREATE OR OR … once re-read every word
  // so far after each word, so 10 times the words cost 100 times the work.
  const work = (sql: string, engine: EngineName) => {
    const stats = { work: 0 };
    splitStatements(sql, engine, stats);
    return stats.work;
  };
  const hostile = (words: number) => `CREATE ${"OR ".repeat(words)}x`;

  it.each(ENGINES)("CREATE OR OR … x: 20,000 words cost about 10 times 2,000 words (%s)", (engine) => {
    const small = work(hostile(2_000), engine);
    const large = work(hostile(20_000), engine);
    expect(small).toBeGreaterThan(2_000);
    expect(large / small).toBeLessThan(12);
  });

  it.each(ENGINES)("unclosed quotes, nested comments, dollar tags and versioned comments stay linear (%s)", (engine) => {
    const piece = "select 'a;b' /* x /* y */ z */ $t$ ; $t$ /*!50001 select 1 */ \"q\" `b` -- c\n; ";
    const small = work(piece.repeat(100), engine);
    const large = work(piece.repeat(1_000), engine);
    expect(large / small).toBeLessThan(12);
    expect(work(`select '${"x".repeat(100_000)}`, engine)).toBeLessThan(1_000);
  });
});

describe("splitStatements: MySQL versioned comments are marked", () => {
  it("a statement holding /*!…*/ or /*M!…*/ says so; other comments do not", () => {
    const [a, b, c] = splitStatements("/*M!999999 SELECT */ SET SESSION TRANSACTION READ WRITE; SELECT /*!50000 1 */; SELECT /* M!1 */ 1", "mysql");
    expect(a.versioned).toBe(true);
    expect(b.versioned).toBe(true);
    expect(c.versioned).toBe(false);
    expect(splitStatements("SELECT /*!1 */ 2", "postgresql")[0].versioned).toBe(false);
  });
});

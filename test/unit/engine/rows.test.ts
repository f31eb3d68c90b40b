// SQL building for TableService (src/engine/rows.ts): no database, only the statements and bound values.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { mysqlDialect, postgresDialect, sqliteDialect, type Dialect } from "../../../src/engine/dialect.js";
import type { Cell } from "../../../src/engine/driver.js";
import type { TableDescription } from "../../../src/engine/introspect/types.js";
import { expectRpcThrow } from "../../support/rpc.js";
import { deleteRow, insertRow, selectAll, selectByKey, selectPage, updateRow, type FilterSpec, type Operator, type SortSpec } from "../../../src/engine/rows.js";

const int = (n: number | bigint): Cell => ({ kind: { case: "intValue", value: BigInt(n) } });
const text = (s: string): Cell => ({ kind: { case: "textValue", value: s } });
const NULL: Cell = { kind: { case: "nullValue", value: true } };

function table(name: string, columns: string[], primaryKey: string[], schema = ""): TableDescription {
  return {
    table: { schema, name, kind: "table", rowEstimate: -1, comment: "" },
    columns: columns.map((c, i) => ({ name: c, databaseType: "text", nullable: true, defaultExpression: "", generated: false, ordinal: i + 1, comment: "" })),
    primaryKey,
    indexes: [],
    foreignKeys: [],
  };
}

const T = table("t", ["id", "name", "qty"], ["id"]);
/** Key columns in another order than the columns. */
const C = table("c", ["b", "x", "a"], ["a", "b"]);
const NOKEY = table("n", ["a", "b"], []);

/** Expects fn to throw a ConnectError with this code, field and (when given) reason. */
const throwsArg = (fn: () => unknown, field: string, reason?: string, code = Code.InvalidArgument) => expectRpcThrow(fn, code, reason || undefined, field);

const f = (column: string, operator: Operator | undefined, ...values: Cell[]): FilterSpec => ({ column, operator, values });
const page = (t: TableDescription, filters: FilterSpec[] = [], sort: SortSpec[] = [], size = 100, token = "", d: Dialect = postgresDialect) => selectPage(d, t, { filters, sort, pageSize: size, token });
/** The values of bound cells (a token's key comes back as protobuf messages). */
const kinds = (cells: Cell[]) => cells.map((c) => c.kind);
/** Rows of table T / C as the database would return them (cells in column order). */
const tRows = (ids: number[]) => ids.map((id) => [int(id), text(`n${id}`), int(id * 2)]);

describe("selectPage", () => {
  it("reads every column in primary key order, one row more than the page", () => {
    expect(page(T)).toMatchObject({ sql: 'SELECT "id", "name", "qty" FROM "t" ORDER BY "id" LIMIT 101', params: [] });
    expect(page(table("t", ["id"], ["id"], "s")).sql).toBe('SELECT "id" FROM "s"."t" ORDER BY "id" LIMIT 101');
    expect(page(T, [], [], 100, "", mysqlDialect).sql).toBe("SELECT `id`, `name`, `qty` FROM `t` ORDER BY `id` LIMIT 101");
    expect(page(C).sql).toBe('SELECT "b", "x", "a" FROM "c" ORDER BY "a", "b" LIMIT 101');
  });

  it("builds every operator with bound values, in order, per dialect", () => {
    const filters = [
      f("name", "eq", text("a")),
      f("qty", "ne", int(1)),
      f("qty", "lt", int(2)),
      f("qty", "le", int(3)),
      f("qty", "gt", int(4)),
      f("qty", "ge", int(5)),
      f("name", "like", text("%x_")),
      f("id", "in", int(6), int(7), int(8)),
      f("name", "is_null"),
      f("qty", "is_not_null"),
      f("id", "between", int(9), int(10)),
    ];
    const pg = page(T, filters);
    expect(pg.sql).toBe(
      'SELECT "id", "name", "qty" FROM "t" WHERE "name" = $1 AND "qty" <> $2 AND "qty" < $3 AND "qty" <= $4 AND "qty" > $5 AND "qty" >= $6 AND "name" LIKE $7 AND "id" IN ($8, $9, $10) AND "name" IS NULL AND "qty" IS NOT NULL AND "id" BETWEEN $11 AND $12 ORDER BY "id" LIMIT 101',
    );
    expect(pg.params).toEqual([text("a"), int(1), int(2), int(3), int(4), int(5), text("%x_"), int(6), int(7), int(8), int(9), int(10)]);
    const my = page(T, filters, [], 100, "", mysqlDialect);
    expect(my.sql).toBe(
      "SELECT `id`, `name`, `qty` FROM `t` WHERE `name` = ? AND `qty` <> ? AND `qty` < ? AND `qty` <= ? AND `qty` > ? AND `qty` >= ? AND `name` LIKE ? AND `id` IN (?, ?, ?) AND `name` IS NULL AND `qty` IS NOT NULL AND `id` BETWEEN ? AND ? ORDER BY `id` LIMIT 101",
    );
    expect(my.params).toEqual(pg.params);
    expect(page(T, filters, [], 100, "", sqliteDialect).sql).toBe(my.sql.replace(/`/g, '"'));
  });

  it("never splices values into the SQL and quotes identifiers", () => {
    const evil = "x'; DROP TABLE t; --";
    const q = page(T, [f("name", "eq", text(evil))]);
    expect(q.sql).not.toContain("DROP");
    expect(q.params).toEqual([text(evil)]);
    const odd = table('we"ird `t`', ['co"l', "c`l", "sp ace;"], ['co"l']);
    expect(page(odd, [f("sp ace;", "is_null")]).sql).toBe('SELECT "co""l", "c`l", "sp ace;" FROM "we""ird `t`" WHERE "sp ace;" IS NULL ORDER BY "co""l" LIMIT 101');
    expect(page(odd, [f("c`l", "is_null")], [], 100, "", mysqlDialect).sql).toBe('SELECT `co"l`, `c``l`, `sp ace;` FROM `we"ird ``t``` WHERE `c``l` IS NULL ORDER BY `co"l` LIMIT 101');
  });

  it("checks operand counts and names the field", () => {
    const bad: FilterSpec[] = [
      f("qty", "eq"),
      f("qty", "eq", int(1), int(2)),
      f("qty", "ne"),
      f("qty", "lt", int(1), int(2)),
      f("name", "like"),
      f("qty", "between", int(1)),
      f("qty", "between", int(1), int(2), int(3)),
      f("qty", "is_null", int(1)),
      f("qty", "is_not_null", NULL),
      f("qty", "in"),
      f("qty", "in", ...Array.from({ length: 1001 }, (_, i) => int(i))),
      f("qty", "eq", NULL),
      f("qty", "gt", { kind: { case: undefined } }),
    ];
    for (const b of bad) throwsArg(() => page(T, [f("id", "gt", int(0)), b]), "filters.1.values");
    expect(page(T, [f("id", "in", ...Array.from({ length: 1000 }, (_, i) => int(i)))]).params).toHaveLength(1000);
    throwsArg(() => page(T, [f("qty", undefined, int(1))]), "filters.0.operator");
  });

  it("refuses unknown columns in filters and sort", () => {
    throwsArg(() => page(T, [f("nope", "is_null")]), "filters.0.column", "UNKNOWN_COLUMN");
    throwsArg(() => page(T, [f("ID", "is_null")]), "filters.0.column", "UNKNOWN_COLUMN");
    throwsArg(() => page(T, [], [{ column: "id", descending: false }, { column: "nope", descending: true }]), "sort.1.column", "UNKNOWN_COLUMN");
  });

  it("keyset: a token after the last row of a full page seeks past its key", () => {
    const first = page(T, [], [], 2);
    expect(first.next(tRows([1, 2]))).toBe("");
    const token = first.next(tRows([1, 2, 3]));
    expect(token).not.toBe("");
    const second = page(T, [], [], 2, token);
    expect(second.sql).toBe('SELECT "id", "name", "qty" FROM "t" WHERE ("id") > ($1) ORDER BY "id" LIMIT 3');
    expect(kinds(second.params)).toEqual(kinds([int(2)]));
    // Another page size keeps the position.
    expect(kinds(page(T, [], [], 50, token).params)).toEqual(kinds([int(2)]));
  });

  it("keyset over a composite key: the key in primary key order, after the filters' values", () => {
    const filters = [f("x", "eq", text("v"))];
    const rows = [
      [text("b1"), text("v"), int(1)],
      [text("b2"), text("v"), int(1)],
      [text("b0"), text("v"), int(2)],
    ];
    const token = page(C, filters, [], 2).next(rows);
    const q = page(C, filters, [], 2, token);
    expect(q.sql).toBe('SELECT "b", "x", "a" FROM "c" WHERE "x" = $1 AND ("a", "b") > ($2, $3) ORDER BY "a", "b" LIMIT 3');
    expect(kinds(q.params)).toEqual(kinds([text("v"), int(1), text("b2")]));
    const my = page(C, filters, [], 2, token, mysqlDialect);
    expect(my.sql).toBe("SELECT `b`, `x`, `a` FROM `c` WHERE `x` = ? AND (`a`, `b`) > (?, ?) ORDER BY `a`, `b` LIMIT 3");
  });

  it("a custom sort pages by offset with the primary key as tie-break", () => {
    const sort = [{ column: "qty", descending: true }];
    const first = page(T, [], sort, 100);
    expect(first.sql).toBe('SELECT "id", "name", "qty" FROM "t" ORDER BY "qty" DESC, "id" LIMIT 101');
    const t1 = first.next(tRows(Array.from({ length: 101 }, (_, i) => i)));
    const second = page(T, [], sort, 100, t1);
    expect(second.sql).toBe('SELECT "id", "name", "qty" FROM "t" ORDER BY "qty" DESC, "id" LIMIT 101 OFFSET 100');
    const t2 = second.next(tRows(Array.from({ length: 101 }, (_, i) => i)));
    expect(page(T, [], sort, 100, t2).sql).toMatch(/ OFFSET 200$/);
    // The key itself in the sort is not repeated; several keys keep their order.
    expect(page(T, [], [{ column: "id", descending: true }]).sql).toBe('SELECT "id", "name", "qty" FROM "t" ORDER BY "id" DESC LIMIT 101');
    expect(page(C, [], [{ column: "b", descending: true }, { column: "x", descending: false }]).sql).toBe('SELECT "b", "x", "a" FROM "c" ORDER BY "b" DESC, "x", "a" LIMIT 101');
  });

  it("a table without a primary key pages by offset", () => {
    const first = page(NOKEY, [], [], 2);
    expect(first.sql).toBe('SELECT "a", "b" FROM "n" LIMIT 3');
    const token = first.next([[int(1), NULL], [int(2), NULL], [int(3), NULL]]);
    expect(page(NOKEY, [], [], 2, token).sql).toBe('SELECT "a", "b" FROM "n" LIMIT 3 OFFSET 2');
  });

  it("a token is only valid for the same table, filters and sort", () => {
    const filters = [f("qty", "eq", int(2))];
    const token = page(T, filters, [], 1).next(tRows([1, 2]));
    expect(() => page(T, filters, [], 1, token)).not.toThrow();
    const invalid = (fn: () => unknown) => throwsArg(fn, "page_token", "INVALID_PAGE_TOKEN");
    invalid(() => page(T, [f("qty", "eq", int(3))], [], 1, token));
    invalid(() => page(T, [f("qty", "ne", int(2))], [], 1, token));
    invalid(() => page(T, [f("name", "eq", int(2))], [], 1, token));
    invalid(() => page(T, [], [], 1, token));
    invalid(() => page(T, [...filters, f("id", "is_not_null")], [], 1, token));
    invalid(() => page(T, filters, [{ column: "qty", descending: false }], 1, token));
    invalid(() => page(table("other", ["id", "name", "qty"], ["id"]), filters, [], 1, token));
    invalid(() => page(table("t", ["id", "name", "qty"], ["id"], "s"), filters, [], 1, token));
    // Offset tokens are bound the same way.
    const sorted = page(T, [], [{ column: "qty", descending: false }], 1).next(tRows([1, 2]));
    invalid(() => page(T, [], [{ column: "qty", descending: true }], 1, sorted));
    invalid(() => page(T, [], [], 1, sorted));
  });

  it("a forged token is InvalidArgument, never an internal error", () => {
    const token = page(T, [], [], 1).next(tRows([1, 2]));
    const real = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { h: string; k: string };
    const forge = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const forged = [
      "garbage",
      "%%%",
      forge(null),
      forge("x"),
      forge({}),
      forge({ h: "wrong", k: real.k }),
      forge({ h: real.h, o: -1 }),
      forge({ h: real.h, o: 0.5 }),
      forge({ h: real.h, o: "1" }),
      forge({ h: real.h, k: 7 }),
      forge({ h: real.h, k: { a: 1 } }),
      forge({ h: real.h, k: Buffer.from([0xff, 0xff, 0xff]).toString("base64url") }),
      forge({ h: real.h, k: "" }), // a key of no values
      "a".repeat(9000),
    ];
    for (const t of forged) throwsArg(() => page(T, [], [], 1, t), "page_token", "INVALID_PAGE_TOKEN");
    // A composite key's token does not fit a one-column key.
    const cToken = page(C, [], [], 1).next([
      [text("b"), text("x"), int(1)],
      [text("c"), text("x"), int(1)],
    ]);
    const cReal = JSON.parse(Buffer.from(cToken, "base64url").toString("utf8")) as { k: string };
    throwsArg(() => page(T, [], [], 1, forge({ h: real.h, k: cReal.k })), "page_token", "INVALID_PAGE_TOKEN");
  });
});

describe("selectAll (export)", () => {
  it("follows the primary key unless sorted, the key breaking ties; LIMIT only when asked", () => {
    expect(selectAll(postgresDialect, T, [], [], 0)).toEqual({ sql: 'SELECT "id", "name", "qty" FROM "t" ORDER BY "id"', params: [] });
    expect(selectAll(postgresDialect, C, [], [], 10).sql).toBe('SELECT "b", "x", "a" FROM "c" ORDER BY "a", "b" LIMIT 10');
    expect(selectAll(mysqlDialect, T, [f("qty", "gt", int(1))], [{ column: "qty", descending: true }], 5)).toEqual({
      sql: "SELECT `id`, `name`, `qty` FROM `t` WHERE `qty` > ? ORDER BY `qty` DESC, `id` LIMIT 5",
      params: [int(1)],
    });
    expect(selectAll(sqliteDialect, NOKEY, [], [], 0).sql).toBe('SELECT "a", "b" FROM "n"');
  });

  it("checks filters and sort like GetRows", () => {
    throwsArg(() => selectAll(postgresDialect, T, [f("qty", "between", int(1))], [], 0), "filters.0.values");
    throwsArg(() => selectAll(postgresDialect, T, [], [{ column: "nope", descending: false }], 0), "sort.0.column", "UNKNOWN_COLUMN");
  });
});

describe("insertRow", () => {
  it("binds the given columns and returns every column", () => {
    expect(insertRow(postgresDialect, T, { name: text("a"), qty: int(1) }, "rows.0.values", true)).toEqual({
      sql: 'INSERT INTO "t" ("name", "qty") VALUES ($1, $2) RETURNING "id", "name", "qty"',
      params: [text("a"), int(1)],
    });
    expect(insertRow(mysqlDialect, T, { id: int(1) }, "rows.0.values", false)).toEqual({ sql: "INSERT INTO `t` (`id`) VALUES (?)", params: [int(1)] });
  });

  it("an empty row takes every default, in each dialect's spelling", () => {
    expect(insertRow(postgresDialect, T, {}, "rows.0.values", true).sql).toBe('INSERT INTO "t" DEFAULT VALUES RETURNING "id", "name", "qty"');
    expect(insertRow(sqliteDialect, T, {}, "rows.0.values", true).sql).toBe('INSERT INTO "t" DEFAULT VALUES RETURNING "id", "name", "qty"');
    expect(insertRow(mysqlDialect, T, {}, "rows.0.values", true).sql).toBe("INSERT INTO `t` () VALUES () RETURNING `id`, `name`, `qty`");
  });

  it("refuses unknown columns, naming them", () => {
    throwsArg(() => insertRow(postgresDialect, T, { name: text("a"), nope: int(1) }, "rows.3.values", true), "rows.3.values.nope", "UNKNOWN_COLUMN");
  });
});

describe("updateRow and deleteRow", () => {
  it("update: SET bound, WHERE by the whole key (key order), expected values compared null-safely per dialect", () => {
    const u = { key: { b: text("k"), a: int(1) }, set: { x: text("new") }, expected: { x: NULL } };
    const pg = updateRow(postgresDialect, C, u, "updates.0");
    expect(pg.sql).toBe('UPDATE "c" SET "x" = $1 WHERE "a" = $2 AND "b" = $3 AND "x" IS NOT DISTINCT FROM $4');
    expect(pg.params).toEqual([text("new"), int(1), text("k"), NULL]);
    expect(pg.key).toEqual([
      ["a", int(1)],
      ["b", text("k")],
    ]);
    expect(updateRow(mysqlDialect, C, u, "updates.0").sql).toBe("UPDATE `c` SET `x` = ? WHERE `a` = ? AND `b` = ? AND `x` <=> ?");
    expect(updateRow(sqliteDialect, C, u, "updates.0").sql).toBe('UPDATE "c" SET "x" = ? WHERE "a" = ? AND "b" = ? AND "x" IS ?');
    expect(updateRow(postgresDialect, C, { ...u, expected: {} }, "updates.0").sql).toBe('UPDATE "c" SET "x" = $1 WHERE "a" = $2 AND "b" = $3');
  });

  it("delete: WHERE by the whole key and the expected values", () => {
    const d = deleteRow(postgresDialect, C, { key: { a: int(1), b: text("k") }, expected: { x: text("old"), b: text("k") } }, "deletes.4");
    expect(d.sql).toBe('DELETE FROM "c" WHERE "a" = $1 AND "b" = $2 AND "x" IS NOT DISTINCT FROM $3 AND "b" IS NOT DISTINCT FROM $4');
    expect(d.params).toEqual([int(1), text("k"), text("old"), text("k")]);
    expect(deleteRow(mysqlDialect, T, { key: { id: int(3) }, expected: { qty: int(1) } }, "deletes.0").sql).toBe("DELETE FROM `t` WHERE `id` = ? AND `qty` <=> ?");
  });

  it("the key must be exactly the primary key, without NULL", () => {
    const keys: [Record<string, Cell>, string][] = [
      [{ a: int(1) }, "updates.2.key"],
      [{ b: text("k") }, "updates.2.key"],
      [{}, "updates.2.key"],
      [{ a: int(1), b: text("k"), x: text("v") }, "updates.2.key"],
      [{ a: int(1), B: text("k") }, "updates.2.key"],
      [{ a: int(1), b: NULL }, "updates.2.key.b"],
    ];
    for (const [key, field] of keys) {
      throwsArg(() => updateRow(postgresDialect, C, { key, set: { x: text("v") }, expected: {} }, "updates.2"), field, "INVALID_KEY");
      throwsArg(() => deleteRow(postgresDialect, C, { key, expected: {} }, "updates.2"), field, "INVALID_KEY");
    }
  });

  it("a table without a primary key cannot be edited by key", () => {
    throwsArg(() => updateRow(postgresDialect, NOKEY, { key: { a: int(1) }, set: { b: text("x") }, expected: {} }, "updates.0"), "updates.0.key", "NO_PRIMARY_KEY");
    throwsArg(() => deleteRow(sqliteDialect, NOKEY, { key: {}, expected: {} }, "deletes.1"), "deletes.1.key", "NO_PRIMARY_KEY");
  });

  it("set is required; unknown columns in set and expected are refused", () => {
    const key = { id: int(1) };
    throwsArg(() => updateRow(postgresDialect, T, { key, set: {}, expected: {} }, "updates.0"), "updates.0.set");
    throwsArg(() => updateRow(postgresDialect, T, { key, set: { nope: int(1) }, expected: {} }, "updates.0"), "updates.0.set.nope", "UNKNOWN_COLUMN");
    throwsArg(() => updateRow(postgresDialect, T, { key, set: { qty: int(1) }, expected: { nope: int(1) } }, "updates.0"), "updates.0.expected.nope", "UNKNOWN_COLUMN");
    throwsArg(() => deleteRow(postgresDialect, T, { key, expected: { nope: int(1) } }, "deletes.0"), "deletes.0.expected.nope", "UNKNOWN_COLUMN");
  });
});

describe("selectByKey", () => {
  it("reads one row by its key", () => {
    expect(
      selectByKey(mysqlDialect, C, [
        ["a", int(1)],
        ["b", text("k")],
      ]),
    ).toEqual({ sql: "SELECT `b`, `x`, `a` FROM `c` WHERE `a` = ? AND `b` = ?", params: [int(1), text("k")] });
  });
});

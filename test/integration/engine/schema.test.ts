// "Names with quotes, backticks, semicolons, spaces and non-ASCII letters work as table and column
// names and never break out of their quoting; the same table name in two PostgreSQL schemas is
// described exactly." Per engine: tables and columns with hostile names go through SchemaService and
// every TableService call next to a canary table; then the structure of same-named tables in two
// schemas (PostgreSQL) or databases (MariaDB), composite keys, indexes and foreign keys, exactly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import mysql from "mysql2/promise";
import type { Value, ValueSchema } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import { FilterOperator, type GetRowsRequestSchema } from "../../../gen/sqlstudio/database/v1/table_pb.js";
import { TableKind, type DescribeTableResponse } from "../../../gen/sqlstudio/database/v1/schema_pb.js";
import type { AuthTestServer } from "../../support/auth.js";
import { startMariadb, startPostgres, type ServerInfo } from "../../support/databases.js";
import { createConnection, engineUser, run, specFor, sqliteSpec, startEngineServer, type EngineUser } from "../../support/engine.js";
import { rpcCode } from "../../support/rpc.js";

// Known at collection time, so a skip (and its reason) shows in the test name.
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;
const onMariadb = mariadbMissing ? ` (skipped: ${mariadbMissing})` : "";

let server: AuthTestServer;
let u: EngineUser;

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "schema");
});
afterAll(async () => {
  await server?.stop();
});

type V = MessageInitShape<typeof ValueSchema>;
const int = (v: bigint): V => ({ kind: { case: "intValue", value: v } });
const txt = (v: string): V => ({ kind: { case: "textValue", value: v } });
/** A cell as plain data: [kind, value]. */
const plain = (v: Value) => [v.kind.case, v.kind.value] as const;

/** Statements run over a plain mysql2 connection (test setup, not the engine under test). */
async function mysqlExec({ host, port, user, password, database }: ServerInfo, ...sqls: string[]) {
  const conn = await mysql.createConnection({ host, port, user, password, database });
  try {
    for (const sql of sqls) await conn.query(sql);
  } finally {
    await conn.end();
  }
}

/** A description without the proto message bookkeeping, for exact comparisons. */
function shape(d: DescribeTableResponse) {
  return {
    table: { schema: d.table?.schema, name: d.table?.name, kind: d.table?.kind, rowEstimate: d.table?.rowEstimate, comment: d.table?.comment },
    columns: d.columns.map((c) => ({
      name: c.name,
      databaseType: c.databaseType,
      nullable: c.nullable,
      defaultExpression: c.defaultExpression,
      generated: c.generated,
      ordinal: c.ordinal,
      comment: c.comment,
    })),
    primaryKey: d.primaryKey,
    indexes: d.indexes.map((i) => ({ name: i.name, columns: i.columns, unique: i.unique, primary: i.primary, method: i.method })),
    foreignKeys: d.foreignKeys.map((f) => ({
      name: f.name,
      columns: f.columns,
      referencedSchema: f.referencedSchema,
      referencedTable: f.referencedTable,
      referencedColumns: f.referencedColumns,
      onUpdate: f.onUpdate,
      onDelete: f.onDelete,
    })),
  };
}

// ---------------------------------------------------------------- hostile names, every engine

/** Names that break naive quoting: each is a table whose key column has the same name, and a column of every other table. */
const HOSTILE = [`we"ird`, "back`tick", "semi;colon", "with space", "Ünïcødé名", `x"; DROP TABLE victim; --`, "x`; DROP TABLE victim; --", "it's", "Mixed Case"];

interface Engine {
  id: string;
  /** Quotes an identifier for this test's own DDL. */
  q: (name: string) => string;
  /** Runs setup statements. */
  exec: (...sqls: string[]) => Promise<void>;
}

const otherColumns = (name: string) => HOSTILE.filter((n) => n !== name);

/** The canary and the hostile tables, in the default schema or in `schema`. */
async function createHostile(e: Engine, intType: string, textType: string, schema = "") {
  const at = schema ? `${e.q(schema)}.` : "";
  await e.exec(
    `CREATE TABLE ${at}victim (id ${intType} PRIMARY KEY, note ${textType})`,
    `INSERT INTO ${at}victim VALUES (1, 'still here')`,
    ...HOSTILE.map((n) => `CREATE TABLE ${at}${e.q(n)} (${e.q(n)} ${intType} PRIMARY KEY, ${otherColumns(n).map((c) => `${e.q(c)} ${textType}`).join(", ")})`),
  );
}

/** Every TableService call on every hostile table, with the hostile names as values too; then the canary. */
async function hostileRoundTrip(e: Engine, schema: string, rowidKey = false) {
  const tables = await u.schemas.listTables({ connectionId: e.id, schema });
  expect(tables.tables.map((t) => t.name)).toEqual([...HOSTILE, "victim"].sort());
  expect(tables.tables.every((t) => t.kind === TableKind.TABLE)).toBe(true);

  for (const name of HOSTILE) {
    const others = otherColumns(name);
    const table = { connectionId: e.id, schema, table: name };
    const d = await u.schemas.describeTable({ connectionId: e.id, schema, table: name });
    expect(d.table?.name).toBe(name);
    expect(d.columns.map((c) => c.name)).toEqual([name, ...others]);
    expect(d.columns.map((c) => c.ordinal)).toEqual(HOSTILE.map((_, i) => i + 1));
    expect(d.columns[0].nullable).toBe(false);
    expect(d.primaryKey).toEqual([name]);
    // SQLite: an INTEGER PRIMARY KEY is the rowid, which has no index of its own.
    expect(d.indexes.filter((i) => i.primary).map((i) => i.columns)).toEqual(rowidKey ? [] : [[name]]);

    // Values are the names themselves: they must be bound, never spliced.
    const valueOf = (column: string, k: number) => `${column}'); DROP TABLE victim; -- ${k}`;
    const rowValues = (k: number) => Object.fromEntries([[name, int(BigInt(k))], ...others.map((c) => [c, txt(valueOf(c, k))])]);
    const ins = await u.tables.insertRows({ table, rows: [1, 2, 3].map((k) => ({ values: rowValues(k) })) });
    expect(ins.columns.map((c) => c.name)).toEqual([name, ...others]);
    expect(ins.rows.map((r) => r.values.map(plain))).toEqual([1, 2, 3].map((k) => [["intValue", BigInt(k)], ...others.map((c) => ["textValue", valueOf(c, k)])]));

    const keys = async (req: Omit<MessageInitShape<typeof GetRowsRequestSchema>, "table" | "$typeName">) => {
      const r = await u.tables.getRows({ table, ...req });
      expect(r.columns.map((c) => c.name)).toEqual([name, ...others]);
      expect(r.primaryKey).toEqual([name]);
      return r.rows.map((x) => x.values[0].kind.value);
    };
    expect(await keys({ filters: [{ column: others[0], operator: FilterOperator.EQ, values: [txt(valueOf(others[0], 2))] }] })).toEqual([2n]);
    expect(await keys({ filters: [{ column: others[1], operator: FilterOperator.LIKE, values: [txt("%DROP TABLE victim; -- 3")] }] })).toEqual([3n]);
    expect(await keys({ filters: [{ column: name, operator: FilterOperator.IN, values: [int(1n), int(3n)] }] })).toEqual([1n, 3n]);
    expect(await keys({ filters: [{ column: name, operator: FilterOperator.BETWEEN, values: [int(2n), int(3n)] }, { column: others[2], operator: FilterOperator.IS_NOT_NULL }] })).toEqual([2n, 3n]);
    expect(await keys({ sort: [{ column: others[3], descending: true }] })).toEqual([3n, 2n, 1n]);
    // Keyset paging by the hostile key column.
    const page1 = await u.tables.getRows({ table, pageSize: 2 });
    expect(page1.rows.map((x) => x.values[0].kind.value)).toEqual([1n, 2n]);
    expect(page1.nextPageToken).not.toBe("");
    expect(await keys({ pageSize: 2, pageToken: page1.nextPageToken })).toEqual([3n]);

    const changed = `changed ' " \` ; -- ${name}`;
    const upd = await u.tables.updateRows({ table, updates: [{ key: { [name]: int(2n) }, set: { [others[0]]: txt(changed) }, expected: { [others[0]]: txt(valueOf(others[0], 2)) } }] });
    expect(upd.updated).toBe(1n);
    // The old value no longer matches: Aborted, nothing changed.
    expect(await rpcCode(u.tables.updateRows({ table, updates: [{ key: { [name]: int(2n) }, set: { [others[0]]: txt("x") }, expected: { [others[0]]: txt(valueOf(others[0], 2)) } }] }))).toBe(Code.Aborted);
    const del = await u.tables.deleteRows({ table, deletes: [{ key: { [name]: int(1n) }, expected: { [others[1]]: txt(valueOf(others[1], 1)) } }] });
    expect(del.deleted).toBe(1n);
    expect(await rpcCode(u.tables.deleteRows({ table, deletes: [{ key: { [name]: int(1n) } }] }))).toBe(Code.NotFound);

    const rest = await u.tables.getRows({ table });
    expect(rest.rows.map((r) => r.values.map(plain))).toEqual([
      [["intValue", 2n], ["textValue", changed], ...others.slice(1).map((c) => ["textValue", valueOf(c, 2)])],
      [["intValue", 3n], ...others.map((c) => ["textValue", valueOf(c, 3)])],
    ]);
    // Empty again, in one call: the next round starts from nothing.
    const cleared = await u.tables.deleteRows({ table, deletes: [{ key: { [name]: int(2n) }, expected: { [others[0]]: txt(changed) } }, { key: { [name]: int(3n) } }] });
    expect(cleared.deleted).toBe(2n);
    expect((await u.tables.getRows({ table })).rows).toEqual([]);
  }

  // Nothing escaped its quoting: the canaries are there with their row, no table went missing.
  for (const at of ["", ...(schema ? [`${e.q(schema)}.`] : [])]) {
    const [victim] = await run(u, e.id, `SELECT id, note FROM ${at}victim`);
    expect(victim.rows.map((r) => r.map(plain))).toEqual([[["intValue", 1n], ["textValue", "still here"]]]);
  }
  const after = await u.schemas.listTables({ connectionId: e.id, schema });
  expect(after.tables.map((t) => t.name)).toEqual([...HOSTILE, "victim"].sort());
}

describe("hostile table and column names", () => {
  it("PostgreSQL", async () => {
    const db = await (await startPostgres()).createDatabase("names_pg");
    const id = await createConnection(u, specFor(db));
    const e: Engine = { id, q: (n) => `"${n.replace(/"/g, '""')}"`, exec: async (...sqls) => void (await run(u, id, sqls.join(";\n"))) };
    await createHostile(e, "int8", "text");
    await hostileRoundTrip(e, "");
    await hostileRoundTrip(e, "public");
    // A hostile schema name too.
    const schema = `s"; DROP TABLE victim; -- ü`;
    await e.exec(`CREATE SCHEMA ${e.q(schema)}`);
    await createHostile(e, "int8", "text", schema);
    await hostileRoundTrip(e, schema);
  }, 120_000);

  it.skipIf(!!mariadbMissing)(`MariaDB${onMariadb}`, async () => {
    if ("unavailable" in mariadb) return;
    const db = await mariadb.createDatabase("names_my");
    const id = await createConnection(u, specFor(db));
    const e: Engine = { id, q: (n) => `\`${n.replace(/`/g, "``")}\``, exec: (...sqls) => mysqlExec(db, ...sqls) };
    await createHostile(e, "bigint", "varchar(200)");
    await hostileRoundTrip(e, "");
    await hostileRoundTrip(e, "names_my");
    // A hostile database name too.
    const schema = `d\`b"; DROP TABLE victim; -- ü`;
    await e.exec(`CREATE DATABASE ${e.q(schema)}`);
    await createHostile(e, "bigint", "varchar(200)", schema);
    await hostileRoundTrip(e, schema);
  }, 120_000);

  it("SQLite", async () => {
    const id = await createConnection(u, sqliteSpec("names.db"));
    const e: Engine = { id, q: (n) => `"${n.replace(/"/g, '""')}"`, exec: async (...sqls) => void (await run(u, id, sqls.join(";\n"))) };
    await createHostile(e, "INTEGER", "TEXT");
    await hostileRoundTrip(e, "", true);
    await hostileRoundTrip(e, "main", true);
  }, 120_000);
});

// ---------------------------------------------------------------- PostgreSQL: two schemas, one table name

describe("PostgreSQL: the same table name in two schemas", () => {
  let id: string;

  beforeAll(async () => {
    const db = await (await startPostgres()).createDatabase("schemas_pg");
    id = await createConnection(u, specFor(db));
    await run(
      u,
      id,
      `CREATE SCHEMA a; CREATE SCHEMA b;
       CREATE TABLE a.items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) DEFAULT 0, created timestamptz NOT NULL DEFAULT now());
       COMMENT ON TABLE a.items IS 'items of a';
       COMMENT ON COLUMN a.items.name IS 'the name';
       CREATE INDEX items_name_price ON a.items (name, price DESC);
       CREATE TABLE b.items (shop int, sku text, qty int NOT NULL DEFAULT 1, note varchar(50), serial_no bigserial, PRIMARY KEY (sku, shop));
       CREATE UNIQUE INDEX items_note ON b.items (note);
       CREATE INDEX items_name_price ON b.items (qty, note);
       CREATE INDEX items_lower ON b.items USING hash (lower(note));
       CREATE TABLE b.orders (
         id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         o_shop int, o_sku text, item_id int,
         CONSTRAINT orders_item FOREIGN KEY (o_sku, o_shop) REFERENCES b.items (sku, shop) ON DELETE CASCADE ON UPDATE RESTRICT,
         CONSTRAINT orders_a_item FOREIGN KEY (item_id) REFERENCES a.items (id) ON DELETE SET NULL ON UPDATE SET DEFAULT
       );
       CREATE TABLE a.orders (id int PRIMARY KEY, items_id int REFERENCES a.items (id));
       CREATE VIEW a.cheap AS SELECT id, name FROM a.items WHERE price < 10;
       CREATE MATERIALIZED VIEW a.expensive AS SELECT id, name FROM a.items WHERE price >= 10 WITH NO DATA;
       INSERT INTO a.items (id, name, price) SELECT i, 'item ' || i, i FROM generate_series(1, 100) AS i;
       REFRESH MATERIALIZED VIEW a.expensive;
       ANALYZE a.items; ANALYZE a.expensive`,
    );
  });

  it("DescribeTable answers exactly schema a's items", async () => {
    const d = shape(await u.schemas.describeTable({ connectionId: id, schema: "a", table: "items" }));
    expect(d).toEqual({
      table: { schema: "a", name: "items", kind: TableKind.TABLE, rowEstimate: 100n, comment: "items of a" },
      columns: [
        { name: "id", databaseType: "integer", nullable: false, defaultExpression: "", generated: false, ordinal: 1, comment: "" },
        { name: "name", databaseType: "text", nullable: false, defaultExpression: "", generated: false, ordinal: 2, comment: "the name" },
        { name: "price", databaseType: "numeric(10,2)", nullable: true, defaultExpression: "0", generated: false, ordinal: 3, comment: "" },
        { name: "created", databaseType: "timestamp with time zone", nullable: false, defaultExpression: "now()", generated: false, ordinal: 4, comment: "" },
      ],
      primaryKey: ["id"],
      indexes: [
        { name: "items_name_price", columns: ["name", "price"], unique: false, primary: false, method: "btree" },
        { name: "items_pkey", columns: ["id"], unique: true, primary: true, method: "btree" },
      ],
      foreignKeys: [],
    });
  });

  it("DescribeTable answers exactly schema b's items: composite key in key order, its own indexes", async () => {
    const d = shape(await u.schemas.describeTable({ connectionId: id, schema: "b", table: "items" }));
    expect(d).toEqual({
      table: { schema: "b", name: "items", kind: TableKind.TABLE, rowEstimate: -1n, comment: "" },
      columns: [
        { name: "shop", databaseType: "integer", nullable: false, defaultExpression: "", generated: false, ordinal: 1, comment: "" },
        { name: "sku", databaseType: "text", nullable: false, defaultExpression: "", generated: false, ordinal: 2, comment: "" },
        { name: "qty", databaseType: "integer", nullable: false, defaultExpression: "1", generated: false, ordinal: 3, comment: "" },
        { name: "note", databaseType: "character varying(50)", nullable: true, defaultExpression: "", generated: false, ordinal: 4, comment: "" },
        { name: "serial_no", databaseType: "bigint", nullable: false, defaultExpression: "nextval('b.items_serial_no_seq'::regclass)", generated: true, ordinal: 5, comment: "" },
      ],
      primaryKey: ["sku", "shop"],
      indexes: [
        { name: "items_lower", columns: ["lower(note::text)"], unique: false, primary: false, method: "hash" },
        { name: "items_name_price", columns: ["qty", "note"], unique: false, primary: false, method: "btree" },
        { name: "items_note", columns: ["note"], unique: true, primary: false, method: "btree" },
        { name: "items_pkey", columns: ["sku", "shop"], unique: true, primary: true, method: "btree" },
      ],
      foreignKeys: [],
    });
  });

  it("foreign keys: composite onto a composite key, across schemas, with their actions", async () => {
    const b = shape(await u.schemas.describeTable({ connectionId: id, schema: "b", table: "orders" }));
    expect(b.columns.map((c) => [c.name, c.generated, c.nullable])).toEqual([
      ["id", true, false],
      ["o_shop", false, true],
      ["o_sku", false, true],
      ["item_id", false, true],
    ]);
    expect(b.primaryKey).toEqual(["id"]);
    expect(b.foreignKeys).toEqual([
      { name: "orders_a_item", columns: ["item_id"], referencedSchema: "a", referencedTable: "items", referencedColumns: ["id"], onUpdate: "SET DEFAULT", onDelete: "SET NULL" },
      { name: "orders_item", columns: ["o_sku", "o_shop"], referencedSchema: "b", referencedTable: "items", referencedColumns: ["sku", "shop"], onUpdate: "RESTRICT", onDelete: "CASCADE" },
    ]);
    const a = shape(await u.schemas.describeTable({ connectionId: id, schema: "a", table: "orders" }));
    expect(a.columns.map((c) => c.name)).toEqual(["id", "items_id"]);
    expect(a.foreignKeys).toEqual([
      { name: "orders_items_id_fkey", columns: ["items_id"], referencedSchema: "a", referencedTable: "items", referencedColumns: ["id"], onUpdate: "NO ACTION", onDelete: "NO ACTION" },
    ]);
  });

  it("the default schema is public: items is not there", async () => {
    const s = await u.schemas.listSchemas({ connectionId: id });
    expect(s.defaultSchema).toBe("public");
    const byName = Object.fromEntries(s.schemas.map((x) => [x.name, x.system]));
    expect(byName).toMatchObject({ a: false, b: false, public: false, pg_catalog: true, information_schema: true });
    expect(s.schemas.map((x) => x.name)).toEqual([...s.schemas.map((x) => x.name)].sort());
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, table: "items" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, schema: "public", table: "items" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, schema: "b", table: "cheap" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, schema: "nope", table: "items" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.tables.getRows({ table: { connectionId: id, schema: "public", table: "items" } }))).toBe(Code.NotFound);
    expect(await rpcCode(u.tables.insertRows({ table: { connectionId: id, schema: "b", table: "missing" }, rows: [{ values: {} }] }))).toBe(Code.NotFound);
    expect((await u.schemas.listTables({ connectionId: id })).tables).toEqual([]);
  });

  it("ListTables: tables, a view and a materialized view with row estimates after ANALYZE, in pages of 2", async () => {
    const all = await u.schemas.listTables({ connectionId: id, schema: "a" });
    expect(all.tables.map((t) => ({ schema: t.schema, name: t.name, kind: t.kind, rowEstimate: t.rowEstimate, comment: t.comment }))).toEqual([
      { schema: "a", name: "cheap", kind: TableKind.VIEW, rowEstimate: -1n, comment: "" },
      { schema: "a", name: "expensive", kind: TableKind.MATERIALIZED_VIEW, rowEstimate: 91n, comment: "" },
      { schema: "a", name: "items", kind: TableKind.TABLE, rowEstimate: 100n, comment: "items of a" },
      { schema: "a", name: "orders", kind: TableKind.TABLE, rowEstimate: -1n, comment: "" },
    ]);
    expect(all.nextPageToken).toBe("");
    const p1 = await u.schemas.listTables({ connectionId: id, schema: "a", pageSize: 2 });
    expect(p1.tables.map((t) => t.name)).toEqual(["cheap", "expensive"]);
    expect(p1.nextPageToken).not.toBe("");
    const p2 = await u.schemas.listTables({ connectionId: id, schema: "a", pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.tables.map((t) => t.name)).toEqual(["items", "orders"]);
    expect(p2.nextPageToken).toBe("");
    const b = await u.schemas.listTables({ connectionId: id, schema: "b", pageSize: 1 });
    expect(b.tables.map((t) => t.name)).toEqual(["items"]);
    const b2 = await u.schemas.listTables({ connectionId: id, schema: "b", pageSize: 1, pageToken: b.nextPageToken });
    expect(b2.tables.map((t) => t.name)).toEqual(["orders"]);
    expect(b2.nextPageToken).toBe("");
    expect(await rpcCode(u.schemas.listTables({ connectionId: id, schema: "a", pageToken: "not a token" }))).toBe(Code.InvalidArgument);
  });

  it("views describe as views, materialized views as materialized views", async () => {
    const v = shape(await u.schemas.describeTable({ connectionId: id, schema: "a", table: "cheap" }));
    expect(v.table).toMatchObject({ kind: TableKind.VIEW, rowEstimate: -1n });
    expect(v.columns.map((c) => [c.name, c.databaseType])).toEqual([["id", "integer"], ["name", "text"]]);
    expect(v.primaryKey).toEqual([]);
    const m = shape(await u.schemas.describeTable({ connectionId: id, schema: "a", table: "expensive" }));
    expect(m.table).toMatchObject({ kind: TableKind.MATERIALIZED_VIEW, rowEstimate: 91n });
    expect(m.columns.map((c) => c.name)).toEqual(["id", "name"]);
    // A view has no key: readable, not editable by key.
    const rows = await u.tables.getRows({ table: { connectionId: id, schema: "a", table: "cheap" }, sort: [{ column: "id" }] });
    expect(rows.rows.map((r) => r.values.map(plain))).toEqual(Array.from({ length: 9 }, (_, i) => [["intValue", BigInt(i + 1)], ["textValue", `item ${i + 1}`]]));
    expect(await rpcCode(u.tables.deleteRows({ table: { connectionId: id, schema: "a", table: "cheap" }, deletes: [{ key: { id: int(1n) } }] }))).toBe(Code.InvalidArgument);
  });

  it("TableService works on the table of the schema it names", async () => {
    const ins = await u.tables.insertRows({ table: { connectionId: id, schema: "b", table: "items" }, rows: [{ values: { shop: int(1n), sku: txt("s-1"), note: txt("b") } }, { values: { shop: int(2n), sku: txt("s-1") } }] });
    expect(ins.columns.map((c) => c.name)).toEqual(["shop", "sku", "qty", "note", "serial_no"]);
    expect(ins.rows.map((r) => r.values.map(plain))).toEqual([
      [["intValue", 1n], ["textValue", "s-1"], ["intValue", 1n], ["textValue", "b"], ["intValue", 1n]],
      [["intValue", 2n], ["textValue", "s-1"], ["intValue", 1n], ["nullValue", true], ["intValue", 2n]],
    ]);
    // Composite key in key order (sku, shop): the keyset pages follow it.
    const r = await u.tables.getRows({ table: { connectionId: id, schema: "b", table: "items" } });
    expect(r.primaryKey).toEqual(["sku", "shop"]);
    expect(r.columns.map((c) => c.name)).toEqual(["shop", "sku", "qty", "note", "serial_no"]);
    expect(r.rows).toHaveLength(2);
    const upd = await u.tables.updateRows({ table: { connectionId: id, schema: "b", table: "items" }, updates: [{ key: { sku: txt("s-1"), shop: int(2n) }, set: { qty: int(7n) } }] });
    expect(upd.updated).toBe(1n);
    // a.items has no column qty: the request is checked against the schema it names.
    expect(await rpcCode(u.tables.updateRows({ table: { connectionId: id, schema: "a", table: "items" }, updates: [{ key: { id: int(1n) }, set: { qty: int(7n) } }] }))).toBe(Code.InvalidArgument);
    const a = await u.tables.getRows({ table: { connectionId: id, schema: "a", table: "items" }, pageSize: 3 });
    expect(a.columns.map((c) => c.name)).toEqual(["id", "name", "price", "created"]);
    expect(a.rows.map((x) => x.values[0].kind.value)).toEqual([1n, 2n, 3n]);
    // The cascade of the composite foreign key reaches b.orders.
    await run(u, id, "INSERT INTO b.orders (o_shop, o_sku, item_id) VALUES (1, 's-1', 5), (2, 's-1', NULL)");
    const del = await u.tables.deleteRows({ table: { connectionId: id, schema: "b", table: "items" }, deletes: [{ key: { sku: txt("s-1"), shop: int(1n) } }] });
    expect(del.deleted).toBe(1n);
    const [left] = await run(u, id, "SELECT o_shop FROM b.orders ORDER BY id");
    expect(left.rows.map((x) => plain(x[0]))).toEqual([["intValue", 2n]]);
  });
});

// ---------------------------------------------------------------- MariaDB: two databases, one table name

describe("MariaDB: the same table name in two databases", () => {
  let id: string;
  let dbA: ServerInfo;

  beforeAll(async () => {
    if ("unavailable" in mariadb) return;
    dbA = await mariadb.createDatabase("shop_a");
    const dbB = await mariadb.createDatabase("shop_b");
    await mysqlExec(
      dbA,
      `CREATE TABLE items (id int PRIMARY KEY, name varchar(100) NOT NULL COMMENT 'the name', price decimal(10,2) DEFAULT 0, KEY items_name_price (name, price)) COMMENT 'items of a'`,
      `CREATE TABLE orders (id int PRIMARY KEY, items_id int, CONSTRAINT orders_items FOREIGN KEY (items_id) REFERENCES items (id))`,
      `CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10`,
      `INSERT INTO items (id, name, price) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 100) SELECT i, CONCAT('item ', i), i FROM s`,
      `ANALYZE TABLE items`,
    );
    await mysqlExec(
      dbB,
      `CREATE TABLE items (shop int, sku varchar(20), qty int NOT NULL DEFAULT 1, note varchar(50), serial_no bigint unsigned NOT NULL AUTO_INCREMENT UNIQUE, PRIMARY KEY (sku, shop),
         UNIQUE KEY items_note (note), KEY items_name_price (qty, note))`,
      `CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, o_shop int, o_sku varchar(20), item_id int,
         CONSTRAINT orders_item FOREIGN KEY (o_sku, o_shop) REFERENCES items (sku, shop) ON DELETE CASCADE ON UPDATE RESTRICT,
         CONSTRAINT orders_a_item FOREIGN KEY (item_id) REFERENCES shop_a.items (id) ON DELETE SET NULL)`,
    );
    id = await createConnection(u, specFor(dbA));
  });

  it.skipIf(!!mariadbMissing)(`DescribeTable answers exactly each database's items${onMariadb}`, async () => {
    const a = shape(await u.schemas.describeTable({ connectionId: id, schema: "shop_a", table: "items" }));
    expect(a).toEqual({
      table: { schema: "shop_a", name: "items", kind: TableKind.TABLE, rowEstimate: 100n, comment: "items of a" },
      columns: [
        { name: "id", databaseType: "int(11)", nullable: false, defaultExpression: "", generated: false, ordinal: 1, comment: "" },
        { name: "name", databaseType: "varchar(100)", nullable: false, defaultExpression: "", generated: false, ordinal: 2, comment: "the name" },
        { name: "price", databaseType: "decimal(10,2)", nullable: true, defaultExpression: "0.00", generated: false, ordinal: 3, comment: "" },
      ],
      primaryKey: ["id"],
      // By name in the catalog's (case-insensitive) collation.
      indexes: [
        { name: "items_name_price", columns: ["name", "price"], unique: false, primary: false, method: "btree" },
        { name: "PRIMARY", columns: ["id"], unique: true, primary: true, method: "btree" },
      ],
      foreignKeys: [],
    });
    // The default database is the profile's: the same answer without naming it.
    expect(shape(await u.schemas.describeTable({ connectionId: id, table: "items" }))).toEqual(a);

    const b = shape(await u.schemas.describeTable({ connectionId: id, schema: "shop_b", table: "items" }));
    expect(b).toEqual({
      table: { schema: "shop_b", name: "items", kind: TableKind.TABLE, rowEstimate: 0n, comment: "" },
      columns: [
        { name: "shop", databaseType: "int(11)", nullable: false, defaultExpression: "", generated: false, ordinal: 1, comment: "" },
        { name: "sku", databaseType: "varchar(20)", nullable: false, defaultExpression: "", generated: false, ordinal: 2, comment: "" },
        { name: "qty", databaseType: "int(11)", nullable: false, defaultExpression: "1", generated: false, ordinal: 3, comment: "" },
        { name: "note", databaseType: "varchar(50)", nullable: true, defaultExpression: "", generated: false, ordinal: 4, comment: "" },
        { name: "serial_no", databaseType: "bigint(20) unsigned", nullable: false, defaultExpression: "", generated: true, ordinal: 5, comment: "" },
      ],
      primaryKey: ["sku", "shop"],
      indexes: [
        { name: "items_name_price", columns: ["qty", "note"], unique: false, primary: false, method: "btree" },
        { name: "items_note", columns: ["note"], unique: true, primary: false, method: "btree" },
        { name: "PRIMARY", columns: ["sku", "shop"], unique: true, primary: true, method: "btree" },
        { name: "serial_no", columns: ["serial_no"], unique: true, primary: false, method: "btree" },
      ],
      foreignKeys: [],
    });
  });

  it.skipIf(!!mariadbMissing)(`foreign keys: composite onto a composite key, across databases, with their actions${onMariadb}`, async () => {
    const b = shape(await u.schemas.describeTable({ connectionId: id, schema: "shop_b", table: "orders" }));
    expect(b.columns.map((c) => [c.name, c.generated])).toEqual([["id", true], ["o_shop", false], ["o_sku", false], ["item_id", false]]);
    expect(b.foreignKeys).toEqual([
      { name: "orders_a_item", columns: ["item_id"], referencedSchema: "shop_a", referencedTable: "items", referencedColumns: ["id"], onUpdate: "RESTRICT", onDelete: "SET NULL" },
      { name: "orders_item", columns: ["o_sku", "o_shop"], referencedSchema: "shop_b", referencedTable: "items", referencedColumns: ["sku", "shop"], onUpdate: "RESTRICT", onDelete: "CASCADE" },
    ]);
    // Each database's orders has only its own foreign key (the same constraint name space is per database).
    const a = shape(await u.schemas.describeTable({ connectionId: id, schema: "shop_a", table: "orders" }));
    expect(a.foreignKeys).toEqual([
      { name: "orders_items", columns: ["items_id"], referencedSchema: "shop_a", referencedTable: "items", referencedColumns: ["id"], onUpdate: "RESTRICT", onDelete: "RESTRICT" },
    ]);
  });

  it.skipIf(!!mariadbMissing)(`ListSchemas and ListTables, views, paging, NotFound${onMariadb}`, async () => {
    const s = await u.schemas.listSchemas({ connectionId: id });
    expect(s.defaultSchema).toBe("shop_a");
    expect(Object.fromEntries(s.schemas.map((x) => [x.name, x.system]))).toMatchObject({ shop_a: false, shop_b: false, mysql: true, information_schema: true, performance_schema: true });
    const all = await u.schemas.listTables({ connectionId: id, schema: "shop_a" });
    expect(all.tables.map((t) => ({ schema: t.schema, name: t.name, kind: t.kind, rowEstimate: t.rowEstimate }))).toEqual([
      { schema: "shop_a", name: "cheap", kind: TableKind.VIEW, rowEstimate: -1n },
      { schema: "shop_a", name: "items", kind: TableKind.TABLE, rowEstimate: 100n },
      { schema: "shop_a", name: "orders", kind: TableKind.TABLE, rowEstimate: 0n },
    ]);
    const p1 = await u.schemas.listTables({ connectionId: id, schema: "shop_a", pageSize: 2 });
    expect(p1.tables.map((t) => t.name)).toEqual(["cheap", "items"]);
    const p2 = await u.schemas.listTables({ connectionId: id, schema: "shop_a", pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.tables.map((t) => t.name)).toEqual(["orders"]);
    expect(p2.nextPageToken).toBe("");
    expect((await u.schemas.listTables({ connectionId: id, schema: "shop_b" })).tables.map((t) => t.name)).toEqual(["items", "orders"]);
    const v = shape(await u.schemas.describeTable({ connectionId: id, table: "cheap" }));
    expect(v.table.kind).toBe(TableKind.VIEW);
    expect(v.columns.map((c) => c.name)).toEqual(["id", "name"]);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, table: "missing" }))).toBe(Code.NotFound);
    // Table names compare exactly: another case is another table.
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, table: "ITEMS" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, schema: "shop_b", table: "cheap" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, schema: "nope", table: "items" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.tables.getRows({ table: { connectionId: id, schema: "shop_b", table: "missing" } }))).toBe(Code.NotFound);
  });

  it.skipIf(!!mariadbMissing)(`TableService works on the table of the database it names${onMariadb}`, async () => {
    const table = { connectionId: id, schema: "shop_b", table: "items" };
    const ins = await u.tables.insertRows({ table, rows: [{ values: { shop: int(1n), sku: txt("s-1"), note: txt("b") } }, { values: { shop: int(2n), sku: txt("s-1") } }] });
    expect(ins.rows.map((r) => r.values.map(plain))).toEqual([
      [["intValue", 1n], ["textValue", "s-1"], ["intValue", 1n], ["textValue", "b"], ["intValue", 1n]],
      [["intValue", 2n], ["textValue", "s-1"], ["intValue", 1n], ["nullValue", true], ["intValue", 2n]],
    ]);
    const r = await u.tables.getRows({ table });
    expect(r.primaryKey).toEqual(["sku", "shop"]);
    expect(r.rows).toHaveLength(2);
    expect(await rpcCode(u.tables.updateRows({ table: { ...table, schema: "shop_a" }, updates: [{ key: { id: int(1n) }, set: { qty: int(7n) } }] }))).toBe(Code.InvalidArgument);
    await mysqlExec({ ...dbA, database: "shop_b" }, "INSERT INTO orders (o_shop, o_sku, item_id) VALUES (1, 's-1', 5), (2, 's-1', NULL)");
    const del = await u.tables.deleteRows({ table, deletes: [{ key: { sku: txt("s-1"), shop: int(1n) } }] });
    expect(del.deleted).toBe(1n);
    const [left] = await run(u, id, "SELECT o_shop FROM shop_b.orders ORDER BY id");
    expect(left.rows.map((x) => plain(x[0]))).toEqual([["intValue", 2n]]);
  });
});

// ---------------------------------------------------------------- SQLite

describe("SQLite structure", () => {
  let id: string;

  beforeAll(async () => {
    id = await createConnection(u, sqliteSpec("structure.db"));
    await run(
      u,
      id,
      `CREATE TABLE parent (a INTEGER NOT NULL, b TEXT NOT NULL, name TEXT DEFAULT 'none', PRIMARY KEY (b, a));
       CREATE UNIQUE INDEX parent_name ON parent (name);
       CREATE TABLE child (id INTEGER PRIMARY KEY, pa INTEGER, pb TEXT, note TEXT,
         FOREIGN KEY (pb, pa) REFERENCES parent ON DELETE CASCADE);
       CREATE TABLE other (id INTEGER PRIMARY KEY, parent_name TEXT REFERENCES parent (name) ON UPDATE SET NULL);
       CREATE INDEX child_note ON child (note, pa);
       CREATE VIEW named AS SELECT a, b, name FROM parent WHERE name IS NOT NULL`,
    );
  });

  it("composite primary key in key order, its indexes", async () => {
    const d = shape(await u.schemas.describeTable({ connectionId: id, table: "parent" }));
    expect(d).toEqual({
      table: { schema: "main", name: "parent", kind: TableKind.TABLE, rowEstimate: -1n, comment: "" },
      columns: [
        { name: "a", databaseType: "INTEGER", nullable: false, defaultExpression: "", generated: false, ordinal: 1, comment: "" },
        { name: "b", databaseType: "TEXT", nullable: false, defaultExpression: "", generated: false, ordinal: 2, comment: "" },
        { name: "name", databaseType: "TEXT", nullable: true, defaultExpression: "'none'", generated: false, ordinal: 3, comment: "" },
      ],
      primaryKey: ["b", "a"],
      indexes: [
        { name: "parent_name", columns: ["name"], unique: true, primary: false, method: "btree" },
        { name: "sqlite_autoindex_parent_1", columns: ["b", "a"], unique: true, primary: true, method: "btree" },
      ],
      foreignKeys: [],
    });
  });

  it("a foreign key without named target columns references the target's primary key", async () => {
    const d = shape(await u.schemas.describeTable({ connectionId: id, schema: "main", table: "child" }));
    expect(d.primaryKey).toEqual(["id"]);
    expect(d.columns.map((c) => [c.name, c.nullable, c.generated])).toEqual([
      ["id", false, true],
      ["pa", true, false],
      ["pb", true, false],
      ["note", true, false],
    ]);
    expect(d.indexes).toEqual([{ name: "child_note", columns: ["note", "pa"], unique: false, primary: false, method: "btree" }]);
    expect(d.foreignKeys).toEqual([
      { name: "fk_0", columns: ["pb", "pa"], referencedSchema: "main", referencedTable: "parent", referencedColumns: ["b", "a"], onUpdate: "NO ACTION", onDelete: "CASCADE" },
    ]);
    const o = shape(await u.schemas.describeTable({ connectionId: id, table: "other" }));
    expect(o.foreignKeys).toEqual([
      { name: "fk_0", columns: ["parent_name"], referencedSchema: "main", referencedTable: "parent", referencedColumns: ["name"], onUpdate: "SET NULL", onDelete: "NO ACTION" },
    ]);
  });

  it("views, ListSchemas, ListTables paging, NotFound", async () => {
    const s = await u.schemas.listSchemas({ connectionId: id });
    expect(s.defaultSchema).toBe("main");
    expect(s.schemas.map((x) => ({ name: x.name, system: x.system }))).toContainEqual({ name: "main", system: false });
    const all = await u.schemas.listTables({ connectionId: id });
    expect(all.tables.map((t) => [t.name, t.kind, t.rowEstimate])).toEqual([
      ["child", TableKind.TABLE, -1n],
      ["named", TableKind.VIEW, -1n],
      ["other", TableKind.TABLE, -1n],
      ["parent", TableKind.TABLE, -1n],
    ]);
    const p1 = await u.schemas.listTables({ connectionId: id, pageSize: 2 });
    const p2 = await u.schemas.listTables({ connectionId: id, pageSize: 2, pageToken: p1.nextPageToken });
    expect([...p1.tables, ...p2.tables].map((t) => t.name)).toEqual(["child", "named", "other", "parent"]);
    expect(p2.nextPageToken).toBe("");
    const v = shape(await u.schemas.describeTable({ connectionId: id, table: "named" }));
    expect(v.table.kind).toBe(TableKind.VIEW);
    expect(v.columns.map((c) => c.name)).toEqual(["a", "b", "name"]);
    expect(v.primaryKey).toEqual([]);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, table: "missing" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.schemas.describeTable({ connectionId: id, schema: "nope", table: "parent" }))).toBe(Code.NotFound);
    expect(await rpcCode(u.tables.getRows({ table: { connectionId: id, table: "missing" } }))).toBe(Code.NotFound);
  });

  it("edits by a composite key, and the foreign key cascades", async () => {
    const table = { connectionId: id, table: "parent" };
    await u.tables.insertRows({ table, rows: [{ values: { a: int(1n), b: txt("x"), name: txt("one") } }, { values: { a: int(2n), b: txt("x") } }, { values: { a: int(1n), b: txt("y"), name: txt("three") } }] });
    await u.tables.insertRows({ table: { connectionId: id, table: "child" }, rows: [{ values: { pa: int(1n), pb: txt("x") } }, { values: { pa: int(1n), pb: txt("y") } }] });
    // Key order (b, a): x/1, x/2, y/1.
    const r = await u.tables.getRows({ table, pageSize: 2 });
    expect(r.rows.map((x) => x.values.map(plain))).toEqual([
      [["intValue", 1n], ["textValue", "x"], ["textValue", "one"]],
      [["intValue", 2n], ["textValue", "x"], ["textValue", "none"]],
    ]);
    const r2 = await u.tables.getRows({ table, pageSize: 2, pageToken: r.nextPageToken });
    expect(r2.rows.map((x) => x.values.map(plain))).toEqual([[["intValue", 1n], ["textValue", "y"], ["textValue", "three"]]]);
    const upd = await u.tables.updateRows({ table, updates: [{ key: { a: int(2n), b: txt("x") }, set: { name: txt("two") }, expected: { name: txt("none") } }] });
    expect(upd.updated).toBe(1n);
    const del = await u.tables.deleteRows({ table, deletes: [{ key: { b: txt("x"), a: int(1n) } }] });
    expect(del.deleted).toBe(1n);
    const [children] = await run(u, id, "SELECT pb, pa FROM child ORDER BY id");
    expect(children.rows.map((x) => x.map(plain))).toEqual([[["textValue", "y"], ["intValue", 1n]]]);
  });
});

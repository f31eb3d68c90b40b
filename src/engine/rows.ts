import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { RowSchema } from "../../gen/sqlstudio/database/v1/values_pb.js";
import { invalidArgument, R } from "../common/errors.js";
import type { Dialect } from "./dialect.js";
import type { Cell } from "./driver.js";
import type { TableDescription } from "./introspect/types.js";

/** Pure SQL building for TableService: identifiers checked against the table and quoted, values bound. */

export type Operator = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "like" | "in" | "is_null" | "is_not_null" | "between";
export interface FilterSpec {
  column: string;
  operator: Operator | undefined;
  values: Cell[];
}
export interface SortSpec {
  column: string;
  descending: boolean;
}

export interface Built {
  sql: string;
  params: Cell[];
}

const COMPARE: Partial<Record<Operator, string>> = { eq: "=", ne: "<>", lt: "<", le: "<=", gt: ">", ge: ">=", like: "LIKE" };
const MAX_IN = 1_000;

/** Collects bound values and hands out the dialect's placeholders. */
class Params {
  readonly values: Cell[] = [];
  constructor(private readonly d: Dialect) {}
  add(c: Cell): string {
    this.values.push(c);
    return this.d.param(this.values.length);
  }
}

const isNull = (c: Cell) => !c.kind || c.kind.case === undefined || c.kind.case === "nullValue";

/** Null-safe equality per dialect (for the optimistic check of old values). */
function same(d: Dialect, column: string, placeholder: string): string {
  if (d.engine === "postgresql") return `${column} IS NOT DISTINCT FROM ${placeholder}`;
  if (d.engine === "mysql") return `${column} <=> ${placeholder}`;
  return `${column} IS ${placeholder}`;
}

function checkColumn(t: TableDescription, name: string, field: string) {
  if (!t.columns.some((c) => c.name === name)) throw invalidArgument(field, `the table has no column ${JSON.stringify(name)}`, R.UNKNOWN_COLUMN);
}

function where(d: Dialect, t: TableDescription, filters: FilterSpec[], p: Params): string[] {
  return filters.map((f, i) => {
    const field = `filters.${i}`;
    checkColumn(t, f.column, `${field}.column`);
    const col = d.quote(f.column);
    const n = f.values.length;
    const want = (count: number) => {
      if (n !== count) throw invalidArgument(`${field}.values`, `takes ${count} value${count === 1 ? "" : "s"}`);
    };
    switch (f.operator) {
      case "is_null":
        want(0);
        return `${col} IS NULL`;
      case "is_not_null":
        want(0);
        return `${col} IS NOT NULL`;
      case "between":
        want(2);
        return `${col} BETWEEN ${p.add(f.values[0])} AND ${p.add(f.values[1])}`;
      case "in":
        if (n < 1 || n > MAX_IN) throw invalidArgument(`${field}.values`, `takes 1-${MAX_IN} values`);
        return `${col} IN (${f.values.map((v) => p.add(v)).join(", ")})`;
      case undefined:
        throw invalidArgument(`${field}.operator`, "is required");
      default:
        want(1);
        if (isNull(f.values[0])) throw invalidArgument(`${field}.values`, "NULL never compares: use IS_NULL or IS_NOT_NULL");
        return `${col} ${COMPARE[f.operator]} ${p.add(f.values[0])}`;
    }
  });
}

/** A page token: the position after the last row, bound to the request's filters and sort. */
interface Token {
  /** Hash of the table, filters and sort it belongs to. */
  h: string;
  /** Keyset: the last row's primary key values (protobuf Row, base64url). */
  k?: string;
  /** Offset, for a custom sort or a table without a primary key. */
  o?: number;
}

function requestHash(t: TableDescription, filters: FilterSpec[], sort: SortSpec[]): string {
  const h = createHash("sha256");
  h.update(JSON.stringify([t.table.schema, t.table.name, filters.map((f) => [f.column, f.operator, toBinary(RowSchema, create(RowSchema, { values: f.values })).toString()]), sort]));
  return h.digest("base64url").slice(0, 16);
}

const badToken = () => invalidArgument("page_token", "is not a token of this table, filters and sort", R.INVALID_PAGE_TOKEN);

/** The position a token names; anything this server did not issue for this request is refused. */
function readToken(token: string, hash: string): { key?: Cell[]; offset?: number } | undefined {
  if (token === "") return undefined;
  try {
    if (token.length > 8192) throw new Error();
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Token;
    if (t.h !== hash) throw new Error();
    if (t.o !== undefined && (!Number.isSafeInteger(t.o) || t.o < 0)) throw new Error();
    if (t.k !== undefined && typeof t.k !== "string") throw new Error();
    // Decoded here so a forged key is refused like any bad token (not an internal error).
    const key = t.k === undefined ? undefined : fromBinary(RowSchema, Buffer.from(t.k, "base64url")).values;
    return { key, offset: t.o };
  } catch {
    throw badToken();
  }
}

const writeToken = (t: Token) => Buffer.from(JSON.stringify(t), "utf8").toString("base64url");

/**
 * SELECT for one page. Without a custom sort the page follows the primary key (keyset: the
 * database seeks to the last key); with a sort, or without a key, it goes by offset.
 */
/** One page asked for: filters, sort, size and the previous page's token ("" for the first). */
export interface PageSpec {
  filters: FilterSpec[];
  sort: SortSpec[];
  pageSize: number;
  token: string;
}

export function selectPage(d: Dialect, t: TableDescription, { filters, sort, pageSize, token }: PageSpec) {
  const p = new Params(d);
  const conds = where(d, t, filters, p);
  sort.forEach((s, i) => checkColumn(t, s.column, `sort.${i}.column`));
  const hash = requestHash(t, filters, sort);
  const pos = readToken(token, hash);
  const pk = t.primaryKey;
  const keyset = sort.length === 0 && pk.length > 0;
  if (pos?.key !== undefined) {
    const last = pos.key;
    if (!keyset || last.length !== pk.length) throw badToken();
    conds.push(`(${pk.map((c) => d.quote(c)).join(", ")}) > (${last.map((v) => p.add(v)).join(", ")})`);
  }
  const order = orderBy(d, t, sort);
  const offset = !keyset ? (pos?.offset ?? 0) : 0;
  const sql =
    `SELECT ${t.columns.map((c) => d.quote(c.name)).join(", ")} FROM ${d.table(t.table.schema, t.table.name)}` +
    (conds.length ? ` WHERE ${conds.join(" AND ")}` : "") +
    (order.length ? ` ORDER BY ${order.join(", ")}` : "") +
    ` LIMIT ${pageSize + 1}` +
    (offset > 0 ? ` OFFSET ${offset}` : "");
  /** The next token, given the page's rows (pageSize + 1 read to know there is more). */
  const next = (rows: Cell[][]): string => {
    if (rows.length <= pageSize) return "";
    if (!keyset) return writeToken({ h: hash, o: offset + pageSize });
    const last = rows[pageSize - 1];
    const key = pk.map((c) => last[t.columns.findIndex((col) => col.name === c)]);
    return writeToken({ h: hash, k: Buffer.from(toBinary(RowSchema, create(RowSchema, { values: key }))).toString("base64url") });
  };
  return { sql, params: p.values, next };
}

/** The sort keys, then the primary key's columns not already sorted on (a deterministic order). */
function orderBy(d: Dialect, t: TableDescription, sort: SortSpec[]): string[] {
  return [...sort.map((s) => `${d.quote(s.column)}${s.descending ? " DESC" : ""}`), ...t.primaryKey.filter((c) => !sort.some((s) => s.column === c)).map((c) => d.quote(c))];
}

/** SELECT of everything matching, for an export (no paging); in key order unless sorted. */
export function selectAll(d: Dialect, t: TableDescription, filters: FilterSpec[], sort: SortSpec[], limit: number): Built {
  const p = new Params(d);
  const conds = where(d, t, filters, p);
  sort.forEach((s, i) => checkColumn(t, s.column, `sort.${i}.column`));
  const order = orderBy(d, t, sort);
  const sql =
    `SELECT ${t.columns.map((c) => d.quote(c.name)).join(", ")} FROM ${d.table(t.table.schema, t.table.name)}` +
    (conds.length ? ` WHERE ${conds.join(" AND ")}` : "") +
    (order.length ? ` ORDER BY ${order.join(", ")}` : "") +
    (limit > 0 ? ` LIMIT ${limit}` : "");
  return { sql, params: p.values };
}

function checkValues(t: TableDescription, values: Record<string, Cell>, field: string): [string, Cell][] {
  const entries = Object.entries(values);
  for (const [name] of entries) checkColumn(t, name, `${field}.${name}`);
  return entries;
}

/** The key of a row: exactly the primary key's columns. */
function keyOf(t: TableDescription, key: Record<string, Cell>, field: string): [string, Cell][] {
  if (t.primaryKey.length === 0) throw invalidArgument(field, "the table has no primary key: its rows cannot be edited by key", R.NO_PRIMARY_KEY);
  const names = Object.keys(key);
  const missing = t.primaryKey.filter((c) => !(c in key));
  const extra = names.filter((c) => !t.primaryKey.includes(c));
  if (missing.length || extra.length) {
    throw invalidArgument(field, `must hold exactly the primary key columns (${t.primaryKey.join(", ")})`, R.INVALID_KEY);
  }
  for (const c of t.primaryKey) if (isNull(key[c])) throw invalidArgument(`${field}.${c}`, "a key value cannot be NULL", R.INVALID_KEY);
  return t.primaryKey.map((c) => [c, key[c]]);
}

export function insertRow(d: Dialect, t: TableDescription, values: Record<string, Cell>, field: string, returning: boolean): Built {
  const p = new Params(d);
  const entries = checkValues(t, values, field);
  const target = d.table(t.table.schema, t.table.name);
  const body =
    entries.length === 0
      ? d.engine === "mysql"
        ? "() VALUES ()"
        : "DEFAULT VALUES"
      : `(${entries.map(([c]) => d.quote(c)).join(", ")}) VALUES (${entries.map(([, v]) => p.add(v)).join(", ")})`;
  const ret = returning ? ` RETURNING ${t.columns.map((c) => d.quote(c.name)).join(", ")}` : "";
  return { sql: `INSERT INTO ${target} ${body}${ret}`, params: p.values };
}

/** The row by key (to read back an insert, or to tell NotFound from Aborted). */
export function selectByKey(d: Dialect, t: TableDescription, key: [string, Cell][]): Built {
  const p = new Params(d);
  return {
    sql: `SELECT ${t.columns.map((c) => d.quote(c.name)).join(", ")} FROM ${d.table(t.table.schema, t.table.name)} WHERE ${key.map(([c, v]) => `${d.quote(c)} = ${p.add(v)}`).join(" AND ")}`,
    params: p.values,
  };
}

export function updateRow(d: Dialect, t: TableDescription, u: { key: Record<string, Cell>; set: Record<string, Cell>; expected: Record<string, Cell> }, field: string) {
  const key = keyOf(t, u.key, `${field}.key`);
  const set = checkValues(t, u.set, `${field}.set`);
  if (set.length === 0) throw invalidArgument(`${field}.set`, "is required");
  const expected = checkValues(t, u.expected, `${field}.expected`);
  const p = new Params(d);
  const sets = set.map(([c, v]) => `${d.quote(c)} = ${p.add(v)}`);
  const conds = [...key.map(([c, v]) => `${d.quote(c)} = ${p.add(v)}`), ...expected.map(([c, v]) => same(d, d.quote(c), p.add(v)))];
  return { sql: `UPDATE ${d.table(t.table.schema, t.table.name)} SET ${sets.join(", ")} WHERE ${conds.join(" AND ")}`, params: p.values, key };
}

export function deleteRow(d: Dialect, t: TableDescription, del: { key: Record<string, Cell>; expected: Record<string, Cell> }, field: string) {
  const key = keyOf(t, del.key, `${field}.key`);
  const expected = checkValues(t, del.expected, `${field}.expected`);
  const p = new Params(d);
  const conds = [...key.map(([c, v]) => `${d.quote(c)} = ${p.add(v)}`), ...expected.map(([c, v]) => same(d, d.quote(c), p.add(v)))];
  return { sql: `DELETE FROM ${d.table(t.table.schema, t.table.name)} WHERE ${conds.join(" AND ")}`, params: p.values, key };
}

import { parse as parseArray } from "postgres-array";
import { NULL, VALUE, VALUE_LIST, type CellMessage, type Cell } from "../../driver.js";
import { cellColumn, RAW_COLUMNS, type RawColumn } from "../../wire.js";

export type Convert = (v: string) => Cell;
/** BigInt of a number is about twice as fast as of a string; beyond 2^53 the string keeps it exact. */
const int: Convert = (v) => {
  const n = +v;
  return { $typeName: VALUE, kind: { case: "intValue", value: BigInt(Number.isSafeInteger(n) ? n : v) } };
};
const float: Convert = (v) => ({ $typeName: VALUE, kind: { case: "floatValue", value: Number(v) } });
const text: Convert = (v) => ({ $typeName: VALUE, kind: { case: "textValue", value: v } });
const CONVERT: Record<number, Convert> = {
  16: (v) => ({ $typeName: VALUE, kind: { case: "boolValue", value: v === "t" } }),
  17: (v) => ({ $typeName: VALUE, kind: { case: "bytesValue", value: Buffer.from(v.slice(2), "hex") } }),
  20: int, 21: int, 23: int, 26: int,
  700: float, 701: float,
  1700: (v) => ({ $typeName: VALUE, kind: { case: "decimalValue", value: v } }),
  114: (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: v } }),
  3802: (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: v } }),
  1082: (v) => ({ $typeName: VALUE, kind: { case: "dateValue", value: v } }),
  1083: (v) => ({ $typeName: VALUE, kind: { case: "timeValue", value: v } }),
  1266: (v) => ({ $typeName: VALUE, kind: { case: "timeValue", value: v } }),
  1114: (v) => ({ $typeName: VALUE, kind: { case: "timestampValue", value: v } }),
  1184: (v) => ({ $typeName: VALUE, kind: { case: "timestampValue", value: v } }),
  1186: (v) => ({ $typeName: VALUE, kind: { case: "intervalValue", value: v } }),
};
/** The same types written straight from their text when the client speaks protobuf (wire.ts). */
const WRITERS: Record<number, RawColumn> = {
  16: RAW_COLUMNS.bool, 17: RAW_COLUMNS.byteaHex,
  20: RAW_COLUMNS.int, 21: RAW_COLUMNS.int, 23: RAW_COLUMNS.int, 26: RAW_COLUMNS.int,
  700: RAW_COLUMNS.float, 701: RAW_COLUMNS.float,
  1700: RAW_COLUMNS.decimal, 114: RAW_COLUMNS.json, 3802: RAW_COLUMNS.json,
  1082: RAW_COLUMNS.date, 1083: RAW_COLUMNS.time, 1266: RAW_COLUMNS.time,
  1114: RAW_COLUMNS.timestamp, 1184: RAW_COLUMNS.timestamp, 1186: RAW_COLUMNS.interval,
};

/** How a column of this type is written from its text: arrays through their Cell, the rest as text. */
export function rawColumn(oid: number): RawColumn {
  return WRITERS[oid] ?? (ARRAYS[oid] !== undefined ? cellColumn(converter(oid)) : RAW_COLUMNS.text);
}

/** Array type → element type. */
const ARRAYS: Record<number, number> = {
  1000: 16, 1001: 17, 1005: 21, 1007: 23, 1016: 20, 1028: 26, 1021: 700, 1022: 701, 1231: 1700, 199: 114, 3807: 3802,
  1182: 1082, 1183: 1083, 1270: 1266, 1115: 1114, 1185: 1184, 1187: 1186, 1009: 25, 1015: 1043, 1014: 1042, 2951: 2950,
};
/** Type names for the header when the catalog cannot be asked. */
export const TYPE_NAMES: Record<number, string> = {
  16: "boolean", 17: "bytea", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 26: "oid", 114: "json", 700: "real",
  701: "double precision", 1043: "character varying", 1042: "character", 1082: "date", 1083: "time without time zone",
  1114: "timestamp without time zone", 1184: "timestamp with time zone", 1186: "interval", 1700: "numeric", 2950: "uuid", 3802: "jsonb",
};

export function converter(oid: number): Convert {
  const direct = CONVERT[oid];
  if (direct) return direct;
  const element = ARRAYS[oid];
  if (element === undefined) return text;
  const each = converter(element);
  const build = (items: unknown[]): Cell => ({
    $typeName: VALUE,
    kind: { case: "arrayValue", value: { $typeName: VALUE_LIST, values: items.map((x) => (x === null ? NULL : Array.isArray(x) ? build(x) : each(x as string))) as CellMessage[] } },
  });
  return (v) => build(parseArray(v));
}

/**
 * Typed values for the table view: what a person types becomes a Value of the column's kind
 * (int64 as bigint, decimals and temporal values as text the database parses, bytes from hex),
 * checked before it is sent; and a Value read back becomes text, exactly.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@gen/sqlstudio/database/v1/values_pb.js";
import { Kind, type ArrayElement, type CellValue } from "@client/rows.js";
import { full } from "../../query/format.js";

export type ValueInit = MessageInitShape<typeof ValueSchema>;

const CASES: Record<string, number> = {
  nullValue: Kind.Null,
  boolValue: Kind.Bool,
  intValue: Kind.Int,
  floatValue: Kind.Float,
  decimalValue: Kind.Decimal,
  textValue: Kind.Text,
  bytesValue: Kind.Bytes,
  timestampValue: Kind.Timestamp,
  dateValue: Kind.Date,
  timeValue: Kind.Time,
  intervalValue: Kind.Interval,
  jsonValue: Kind.Json,
  arrayValue: Kind.Array,
};

/** A Value as the decoder's (kind, value), so the same formatting applies. */
export function cellOf(v: Value | undefined): { kind: number; value: CellValue } {
  const k = v?.kind;
  if (!k || k.case === undefined || k.case === "nullValue") return { kind: Kind.Null, value: null };
  if (k.case === "arrayValue") return { kind: Kind.Array, value: k.value.values.map((e) => cellOf(e) as ArrayElement) };
  return { kind: CASES[k.case], value: k.value as CellValue };
}

export const textOf = (v: Value | undefined) => full(cellOf(v).kind, cellOf(v).value);
export const isNull = (v: Value | undefined) => cellOf(v).kind === Kind.Null;

/** The kind a column of this database type takes input as. */
export function kindOfType(dbType: string): number {
  const t = dbType.toLowerCase();
  if (/\[\]$|^_/.test(t)) return Kind.Text;
  if (/^(bool|boolean)$|^tinyint\(1\)/.test(t)) return Kind.Bool;
  if (/(^|[^a-z])(int|integer|smallint|bigint|tinyint|mediumint|serial|int2|int4|int8)([^a-z]|$)/.test(t) && !/point|interval/.test(t)) return Kind.Int;
  if (/real|double|float/.test(t)) return Kind.Float;
  if (/numeric|decimal|money/.test(t)) return Kind.Decimal;
  if (/bytea|blob|binary/.test(t)) return Kind.Bytes;
  if (/timestamp|datetime/.test(t)) return Kind.Timestamp;
  if (/^date$/.test(t)) return Kind.Date;
  if (/^time/.test(t)) return Kind.Time;
  if (/interval/.test(t)) return Kind.Interval;
  if (/json/.test(t)) return Kind.Json;
  return Kind.Text;
}

export class InputError extends Error {}

/** Text typed for a column → its Value; throws InputError with a sentence when it cannot be one. */
export function parseInput(text: string, dbType: string): ValueInit {
  const kind = kindOfType(dbType);
  const t = text.trim();
  switch (kind) {
    case Kind.Bool:
      if (/^(true|t|1|yes)$/i.test(t)) return { kind: { case: "boolValue", value: true } };
      if (/^(false|f|0|no)$/i.test(t)) return { kind: { case: "boolValue", value: false } };
      throw new InputError("Expected true or false.");
    case Kind.Int:
      if (!/^-?\d+$/.test(t)) throw new InputError("Expected a whole number.");
      return { kind: { case: "intValue", value: BigInt(t) } };
    case Kind.Float:
      if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$|^-?Infinity$|^NaN$/i.test(t)) throw new InputError("Expected a number.");
      return { kind: { case: "floatValue", value: Number(t) } };
    case Kind.Decimal:
      if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) throw new InputError("Expected a decimal number, e.g. 12.50.");
      return { kind: { case: "decimalValue", value: t } };
    case Kind.Bytes: {
      const hex = t.replace(/^\\x|^0x/i, "");
      if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new InputError("Expected hex bytes, e.g. \\x00ff.");
      return { kind: { case: "bytesValue", value: Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)) } };
    }
    case Kind.Json:
      try {
        JSON.parse(text);
      } catch {
        throw new InputError("Expected valid JSON.");
      }
      return { kind: { case: "jsonValue", value: text } };
    case Kind.Timestamp:
      return { kind: { case: "timestampValue", value: t } };
    case Kind.Date:
      if (!/^-?\d{4,}-\d{2}-\d{2}$|^-?infinity$/i.test(t)) throw new InputError("Expected a date, YYYY-MM-DD.");
      return { kind: { case: "dateValue", value: t } };
    case Kind.Time:
      return { kind: { case: "timeValue", value: t } };
    case Kind.Interval:
      return { kind: { case: "intervalValue", value: t } };
    default:
      return { kind: { case: "textValue", value: text } };
  }
}

export const NULL: ValueInit = { kind: { case: "nullValue", value: true } };

/** A Value read from the server, as a request value again (for keys and expected old values). */
export const again = (v: Value | undefined): Value => v ?? create(ValueSchema, NULL);

/** Columns whose old value can be compared by the database (plain json cannot: no equality operator). */
export const comparable = (dbType: string) => !/^(json|xml)$|point|line|box|polygon|circle|path|tsvector|geometry/i.test(dbType.trim());

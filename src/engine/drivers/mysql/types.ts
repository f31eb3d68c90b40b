import { DatabaseError, EngineError, VALUE, type Cell, type ColumnInfo } from "../../driver.js";
import { cellParam, type Param } from "../../values.js";
import { RAW_COLUMNS, type RawColumn } from "../../wire.js";
import { R } from "../../../common/reasons.js";

/** mysql2 column type codes (protocol constants). */
const T = {
  DECIMAL: 0, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, TIMESTAMP: 7, LONGLONG: 8, INT24: 9, DATE: 10, TIME: 11,
  DATETIME: 12, YEAR: 13, NEWDATE: 14, VARCHAR: 15, BIT: 16, JSON: 245, NEWDECIMAL: 246, ENUM: 247, SET: 248, TINY_BLOB: 249,
  MEDIUM_BLOB: 250, LONG_BLOB: 251, BLOB: 252, VAR_STRING: 253, STRING: 254, GEOMETRY: 255,
} as const;
/** SQL type names of the protocol's type codes; [text, binary] where the character set tells them apart. */
const NAMES: Record<number, string | [string, string]> = {
  [T.DECIMAL]: "decimal", [T.NEWDECIMAL]: "decimal", [T.TINY]: "tinyint", [T.SHORT]: "smallint", [T.INT24]: "mediumint", [T.LONG]: "int",
  [T.LONGLONG]: "bigint", [T.FLOAT]: "float", [T.DOUBLE]: "double", [T.NULL]: "null", [T.TIMESTAMP]: "timestamp", [T.DATE]: "date",
  [T.NEWDATE]: "date", [T.TIME]: "time", [T.DATETIME]: "datetime", [T.YEAR]: "year", [T.BIT]: "bit", [T.JSON]: "json", [T.ENUM]: "enum",
  [T.SET]: "set", [T.GEOMETRY]: "geometry", [T.VARCHAR]: ["varchar", "varbinary"], [T.VAR_STRING]: ["varchar", "varbinary"],
  [T.STRING]: ["char", "binary"], [T.TINY_BLOB]: ["tinytext", "tinyblob"], [T.MEDIUM_BLOB]: ["mediumtext", "mediumblob"],
  [T.LONG_BLOB]: ["longtext", "longblob"], [T.BLOB]: ["text", "blob"],
};
const NUMERIC: Set<number> = new Set([T.DECIMAL, T.NEWDECIMAL, T.TINY, T.SHORT, T.INT24, T.LONG, T.LONGLONG, T.FLOAT, T.DOUBLE]);
const ENUM_FLAG = 256;
const SET_FLAG = 2048;
const BINARY_CHARSET = 63;
const NOT_NULL_FLAG = 1;
const UNSIGNED_FLAG = 32;

export interface Field {
  name: string;
  columnType: number;
  characterSet: number;
  flags: number;
  columnLength: number;
  /** MariaDB's extended metadata: "json" for a JSON column (sent as text). */
  extendedFormat?: string;
  /** MariaDB's extended metadata: e.g. "uuid", "inet6". */
  extendedTypeName?: string;
}

export type Convert = (v: string | Buffer) => Cell;
const asText = (v: string | Buffer) => (typeof v === "string" ? v : v.toString("utf8"));
const INT64_MAX = 9223372036854775807n;

export function converter(f: Field): Convert {
  if (f.extendedFormat === "json") return (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: asText(v) } });
  switch (f.columnType) {
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.LONGLONG: case T.YEAR:
      return (v) => {
        const n = BigInt(asText(v));
        return n > INT64_MAX ? { $typeName: VALUE, kind: { case: "decimalValue", value: String(n) } } : { $typeName: VALUE, kind: { case: "intValue", value: n } };
      };
    case T.FLOAT: case T.DOUBLE:
      return (v) => ({ $typeName: VALUE, kind: { case: "floatValue", value: Number(asText(v)) } });
    case T.DECIMAL: case T.NEWDECIMAL:
      return (v) => ({ $typeName: VALUE, kind: { case: "decimalValue", value: asText(v) } });
    case T.DATE: case T.NEWDATE:
      return (v) => ({ $typeName: VALUE, kind: { case: "dateValue", value: asText(v) } });
    case T.TIME:
      return (v) => ({ $typeName: VALUE, kind: { case: "timeValue", value: asText(v) } });
    case T.DATETIME: case T.TIMESTAMP:
      return (v) => ({ $typeName: VALUE, kind: { case: "timestampValue", value: asText(v) } });
    case T.JSON:
      return (v) => ({ $typeName: VALUE, kind: { case: "jsonValue", value: asText(v) } });
    case T.BIT: case T.GEOMETRY:
      return (v) => ({ $typeName: VALUE, kind: { case: "bytesValue", value: typeof v === "string" ? Buffer.from(v) : v } });
    default:
      if (f.characterSet === BINARY_CHARSET) return (v) => ({ $typeName: VALUE, kind: { case: "bytesValue", value: typeof v === "string" ? Buffer.from(v, "binary") : v } });
      return (v) => ({ $typeName: VALUE, kind: { case: "textValue", value: asText(v) } });
  }
}

/** The writer of a column's raw values for binary clients (wire.ts): the same kinds as `converter`. */
export function rawColumnOf(f: Field): RawColumn {
  if (f.extendedFormat === "json") return RAW_COLUMNS.json;
  switch (f.columnType) {
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.LONGLONG: case T.YEAR:
      return RAW_COLUMNS.int;
    case T.FLOAT: case T.DOUBLE:
      return RAW_COLUMNS.float;
    case T.DECIMAL: case T.NEWDECIMAL:
      return RAW_COLUMNS.decimal;
    case T.DATE: case T.NEWDATE:
      return RAW_COLUMNS.date;
    case T.TIME:
      return RAW_COLUMNS.time;
    case T.DATETIME: case T.TIMESTAMP:
      return RAW_COLUMNS.timestamp;
    case T.JSON:
      return RAW_COLUMNS.json;
    case T.BIT: case T.GEOMETRY:
      return RAW_COLUMNS.bytes;
    default:
      return f.characterSet === BINARY_CHARSET ? RAW_COLUMNS.bytes : RAW_COLUMNS.text;
  }
}

/** Binary columns arrive as bytes, everything else as the server's text: nothing is rounded. */
export const typeCast = (field: { type: string; charset?: number; characterSet?: number; buffer(): Buffer | null; string(encoding?: string): string | null }, _next: () => unknown) => {
  // MySQL sends JSON with the binary character set; its text is UTF-8 (mysql2 would decode it as latin1).
  if (field.type === "JSON") return field.string("utf8");
  const charset = (field as { characterSet?: number }).characterSet;
  const binary = charset === BINARY_CHARSET || field.type === "BIT" || field.type === "GEOMETRY";
  return binary ? field.buffer() : field.string();
};

export function columnInfo(f: Field): ColumnInfo {
  const name = NAMES[f.columnType] ?? String(f.columnType);
  let type = Array.isArray(name) ? name[f.characterSet === BINARY_CHARSET ? 1 : 0] : name;
  // ENUM and SET columns travel as strings with a flag; MariaDB names JSON, UUID, INET6 in its extended metadata.
  if (f.flags & ENUM_FLAG) type = "enum";
  else if (f.flags & SET_FLAG) type = "set";
  else if (f.extendedFormat === "json") type = "json";
  else if (f.extendedTypeName) type = f.extendedTypeName;
  if (f.flags & UNSIGNED_FLAG && NUMERIC.has(f.columnType)) type += " unsigned";
  return { name: f.name, databaseType: type, nullable: (f.flags & NOT_NULL_FLAG) === 0 };
}

/** TLS failures mysql2 reports (it names them all HANDSHAKE_SSL_ERROR; the message says which). */
const TLS_VERIFY = /self[- ]signed|unable to (verify|get)|certificate|Hostname\/IP does not match|altnames/i;

export function dbError(err: unknown, verifying = false): Error {
  if (err instanceof EngineError || err instanceof DatabaseError) return err;
  const e = err as { message?: string; code?: string; errno?: number; sqlState?: string; fatal?: boolean };
  if (e?.sqlState) {
    // 1044/1045 access denied, 1049 unknown database: the profile is wrong.
    const kind =
      e.errno === 1792 || e.errno === 1207
        ? "readonly"
        : e.errno === 1317 || e.errno === 3024
          ? "canceled"
          : e.errno === 1044 || e.errno === 1045 || e.errno === 1049
            ? "auth"
            : e.sqlState.startsWith("23")
              ? "constraint"
              : "sql";
    return new DatabaseError(e.message ?? "database error", e.sqlState, kind);
  }
  if (e?.code === "HANDSHAKE_SSL_ERROR" && verifying && TLS_VERIFY.test(e.message ?? "")) {
    return new EngineError(`the server's TLS certificate was not verified: ${e.message ?? ""}`, R.TLS_VERIFY_FAILED, { field: "ssl_mode" });
  }
  if (e?.code === "MYSQL_CLEAR_PASSWORD_NOT_ENABLED") {
    return new EngineError("the password was not sent: the server asked for it in clear text (mysql_clear_password)", R.PASSWORD_NOT_SENT, { field: "ssl_mode" });
  }
  if (e?.code && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|EPIPE|PROTOCOL_CONNECTION_LOST|HANDSHAKE_.*|ER_ACCESS_DENIED_ERROR)$/.test(e.code)) {
    return new DatabaseError(`cannot reach the database: ${e.message ?? e.code}`, e.code, "connect");
  }
  // A packet mysql2 could not read (a truncated greeting, a cut column definition: fatal errors of
  // its own without an SQL state): the server broke the protocol.
  if (err instanceof RangeError || (err instanceof Error && (e.fatal === true || /beyond buffer|out of range|Unexpected packet|Expected EOF|PROTOCOL_/i.test(`${e.code ?? ""} ${err.message}`)))) {
    return new EngineError(`the database broke the protocol: ${(err as Error).message}; the connection was closed`, R.DATABASE_PROTOCOL_VIOLATION);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function bind(params: Cell[]): Param[] {
  return params.map((p) => {
    const v = cellParam(p);
    return typeof v === "bigint" ? v.toString() : v;
  });
}

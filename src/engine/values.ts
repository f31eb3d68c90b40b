import type { Cell } from "./driver.js";

/** A cell as a driver binds it: NULL, boolean, bigint, number, string, bytes or an array of those. */
export type Param = null | boolean | bigint | number | string | Uint8Array | Param[];

export function cellParam(c: Cell): Param {
  const k = c.kind;
  if (!k || k.case === undefined || k.case === "nullValue") return null;
  if (k.case === "arrayValue") return (k.value.values ?? []).map(cellParam);
  return k.value as Param;
}

/** The cell as one CSV field's text (NULL is the empty field; bytes are hex, \x prefixed). */
export function cellText(c: Cell): string | null {
  const k = c.kind;
  if (!k || k.case === undefined || k.case === "nullValue") return null;
  switch (k.case) {
    case "bytesValue":
      return `\\x${Buffer.from(k.value).toString("hex")}`;
    case "arrayValue":
      return JSON.stringify((k.value.values ?? []).map(cellJsonValue));
    case "boolValue":
      return k.value ? "true" : "false";
    default:
      return String(k.value);
  }
}

/**
 * The cell as JSON text that any JSON parser reads exactly: integers as numbers, those beyond
 * 2^53 - 1 either way (where a JavaScript number, and many parsers, round) as strings of their
 * digits; decimals as strings; JSON inline; bytes base64. The web console's NDJSON does the same.
 */
export function cellJson(c: Cell): string {
  const k = c.kind;
  if (!k || k.case === undefined || k.case === "nullValue") return "null";
  switch (k.case) {
    case "intValue": {
      const n = BigInt(k.value);
      return n > MAX_SAFE || n < -MAX_SAFE ? `"${n}"` : String(n);
    }
    case "floatValue":
      return Number.isFinite(k.value) ? String(k.value) : JSON.stringify(String(k.value));
    case "boolValue":
      return k.value ? "true" : "false";
    case "jsonValue":
      return k.value;
    case "bytesValue":
      return JSON.stringify(Buffer.from(k.value).toString("base64"));
    case "arrayValue":
      return `[${(k.value.values ?? []).map(cellJson).join(",")}]`;
    default:
      return JSON.stringify(k.value);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function cellJsonValue(c: Cell): unknown {
  return JSON.parse(cellJson(c));
}

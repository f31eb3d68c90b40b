/**
 * Cells as text, exactly: int64 in full, decimals and temporal values as the database printed them
 * (timestamps keep their zone), bytes as \x-hex, JSON pretty-printed without re-parsing its numbers
 * (JSON.parse would round big ones), arrays PostgreSQL-style.
 */
import { Kind, type ArrayElement, type CellValue } from "@client/rows.js";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function hex(bytes: Uint8Array, max = Infinity): string {
  const n = Math.min(bytes.length, max);
  let s = "\\x";
  for (let i = 0; i < n; i++) s += HEX[bytes[i]];
  return n < bytes.length ? `${s}… (${bytes.length.toLocaleString()} bytes)` : s;
}

function arrayText(list: ArrayElement[]): string {
  return `{${list
    .map((e) => {
      if (e.kind === Kind.Null || e.kind === Kind.Missing) return "NULL";
      const t = full(e.kind, e.value);
      return e.kind === Kind.Array || /^[\w.:+-]+$/.test(t) ? t : `"${t.replace(/["\\]/g, "\\$&")}"`;
    })
    .join(",")}}`;
}

/** The whole value as text (detail view, copy, CSV). NULL is "NULL"; callers that must tell it apart check the kind. */
export function full(kind: number, v: CellValue): string {
  switch (kind) {
    case Kind.Null:
    case Kind.Missing:
      return "NULL";
    case Kind.Float:
      return Object.is(v, -0) ? "-0" : String(v);
    case Kind.Bytes:
      return hex(v as Uint8Array);
    case Kind.Array:
      return arrayText(v as ArrayElement[]);
    default:
      return String(v);
  }
}

/** A cell as the grid shows it: one line, long values cut. */
export function brief(kind: number, v: CellValue): string {
  if (kind === Kind.Bytes) return hex(v as Uint8Array, 32);
  const t = full(kind, v);
  const line = t.length > 300 ? `${t.slice(0, 300)}…` : t;
  return line.replace(/\r?\n/g, "↵").replace(/\t/g, " ");
}

/** JSON text indented by two spaces, every token kept exactly as written. */
export function prettyJson(text: string): string {
  let out = "";
  let depth = 0;
  let inString = false;
  const nl = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let j = i + 1;
      while (/\s/.test(text[j] ?? "")) j++;
      if (text[j] === close) {
        out += c + close;
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === "}" || c === "]") {
      depth = Math.max(0, depth - 1);
      out += nl() + c;
    } else if (c === ",") out += "," + nl();
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return out;
}

/** The detail view's text: JSON pretty, everything else in full. */
export function detail(kind: number, v: CellValue): string {
  if (kind === Kind.Json) return prettyJson(String(v));
  return full(kind, v);
}

/** A CSV field (RFC 4180); NULL is an empty field. */
export function csvField(kind: number, v: CellValue): string {
  if (kind === Kind.Null || kind === Kind.Missing) return "";
  const t = full(kind, v);
  return /[",\r\n]/.test(t) || t === "" ? `"${t.replace(/"/g, '""')}"` : t;
}

/** A value for NDJSON: numbers that JSON can hold exactly stay numbers; int64 beyond 2^53, decimals and the rest are strings. */
export function jsonValue(kind: number, v: CellValue): unknown {
  switch (kind) {
    case Kind.Null:
    case Kind.Missing:
      return null;
    case Kind.Bool:
      return v;
    case Kind.Int: {
      const n = Number(v as bigint);
      return Number.isSafeInteger(n) ? n : String(v);
    }
    case Kind.Float:
      return Number.isFinite(v as number) ? v : String(v);
    case Kind.Array:
      return (v as ArrayElement[]).map((e) => jsonValue(e.kind, e.value));
    default:
      return full(kind, v);
  }
}

/** A value as NDJSON text: JSON cells embedded as the database wrote them (big numbers stay exact). */
export function ndjsonValue(kind: number, v: CellValue): string {
  return kind === Kind.Json ? String(v) : JSON.stringify(jsonValue(kind, v));
}

/** Whether a kind is right-aligned (numbers). */
export const numeric = (kind: number) => kind === Kind.Int || kind === Kind.Float || kind === Kind.Decimal;

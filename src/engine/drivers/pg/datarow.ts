import { isUtf8 } from "node:buffer";
import type { RawValue } from "../../wire.js";

/**
 * The body of a PostgreSQL DataRow, read where it lies (a view of the socket's chunk, see
 * tap.ts): a column count (int16), then per column an int32 length (-1: NULL) and that many bytes
 * of the value's text. `checkRow` is run once, when the row arrives; the readers after it trust
 * the lengths.
 */

const int32 = (b: Buffer, p: number) => (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];

/** What is wrong with the row (from `start` to `end` of `buf`) for a result of `columns` columns, if anything. */
export function checkRow(buf: Buffer, start: number, end: number, columns: number): string | undefined {
  if (end - start < 2) return "a row without its column count";
  const count = (buf[start] << 8) | buf[start + 1];
  if (count !== columns) return `a row of ${count} values for ${columns} columns`;
  let p = start + 2;
  for (let i = 0; i < count; i++) {
    if (p + 4 > end) return "a row shorter than its columns";
    const len = int32(buf, p);
    p += 4;
    if (len < -1) return `a value of length ${len}`;
    if (len > 0) p += len;
    if (p > end) return "a row shorter than its columns";
  }
  return p === end ? undefined : "a row longer than its columns";
}

/** The row's values as text (what pg made of them): for the Cell path and small results. */
export function rowStrings(buf: Buffer, start: number, count: number): (string | null)[] {
  const row = new Array<string | null>(count);
  let p = start + 2;
  for (let i = 0; i < count; i++) {
    const len = int32(buf, p);
    p += 4;
    if (len < 0) row[i] = null;
    else {
      row[i] = buf.toString("utf8", p, p + len);
      p += len;
    }
  }
  return row;
}

/**
 * The row's values as bytes (views of `buf`, no copy) for the writers of wire.ts, which copy them
 * into the batch as they are. That is the same as decoding and encoding them again only for
 * valid UTF-8: a value that is not (a database or client_encoding that is not UTF-8 can send
 * such bytes) is given as its decoded text, so the client gets the same bytes as from pg's strings.
 */
export function rowValues(buf: Buffer, start: number, count: number): (RawValue | null)[] {
  const row = new Array<RawValue | null>(count);
  const ab = buf.buffer;
  const base = buf.byteOffset;
  let p = start + 2;
  for (let i = 0; i < count; i++) {
    const len = int32(buf, p);
    p += 4;
    if (len < 0) {
      row[i] = null;
      continue;
    }
    const end = p + len;
    // A plain Uint8Array view: several times cheaper to make than a Buffer's subarray.
    const view = new Uint8Array(ab, base + p, len);
    row[i] = (len <= SHORT && ascii(buf, p, end)) || isUtf8(view) ? view : buf.toString("utf8", p, end);
    p = end;
  }
  return row;
}

/** Values up to this long are checked for ASCII here; longer ones by isUtf8 (native, faster per byte). */
const SHORT = 64;

/** Whether the bytes are all ASCII: most short values are (numbers, dates, keys), and a loop here is cheaper than a native call for them. */
function ascii(buf: Buffer, from: number, to: number): boolean {
  let or = 0;
  for (let i = from; i < to; i++) or |= buf[i];
  return or < 0x80;
}

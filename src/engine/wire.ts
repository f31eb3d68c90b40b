import { create, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { UnknownField } from "@bufbuild/protobuf";
import type { RowBatch } from "../../gen/sqlstudio/database/v1/query_pb.js";
import { ValueSchema } from "../../gen/sqlstudio/database/v1/values_pb.js";
import type { Cell } from "./types.js";

/**
 * A hand-written protobuf encoder for the rows of a RowBatch (`repeated Row rows = 2`), the one
 * hot path of the engine: protobuf-es encodes by reflection at about 2 µs per cell, this at a
 * fraction of that. The bytes are exactly what protobuf-es writes for the same rows; they travel
 * as the batch's unknown field 2 (written verbatim by `toBinary`), so clients decode ordinary
 * `rows`. Only for binary protocols: JSON serialization skips unknown fields.
 *
 * Value field numbers (values.proto): 1 null, 2 bool, 3 sint64, 4 double, 5-12 strings, 7 bytes,
 * 13 ValueList. Row: `repeated Value values = 1`.
 */

const STRING_TAGS: Record<string, number> = {
  decimalValue: (5 << 3) | 2,
  textValue: (6 << 3) | 2,
  timestampValue: (8 << 3) | 2,
  dateValue: (9 << 3) | 2,
  timeValue: (10 << 3) | 2,
  intervalValue: (11 << 3) | 2,
  jsonValue: (12 << 3) | 2,
};

/** Numbers up to this (2^51) zigzag exactly in double arithmetic. */
const SAFE = 2 ** 51;

/** Bytes of the zigzag varint of an integer with |n| ≤ 2^51. */
function numberVarintSize(n: number): number {
  let zz = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (zz > 0x7f) {
    zz = Math.floor(zz / 0x80);
    size++;
  }
  return size;
}

/** Bytes of the zigzag varint of a sint64. */
function intVarintSize(v: bigint): number {
  const n = Number(v);
  if (n >= -SAFE && n <= SAFE) return numberVarintSize(n);
  let zz = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  let size = 1;
  for (zz >>= 7n; zz > 0n; zz >>= 7n) size++;
  return size;
}

/** Strings up to this long are measured and copied in JavaScript when they are ASCII. */
const SHORT = 64;

/** UTF-8 length: a short ASCII string's is its length (found without a native call). */
function utf8Length(str: string): number {
  if (str.length > SHORT) return Buffer.byteLength(str, "utf8");
  for (let i = 0; i < str.length; i++) if (str.charCodeAt(i) > 0x7f) return Buffer.byteLength(str, "utf8");
  return str.length;
}

const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

export class Out {
  buf = Buffer.allocUnsafe(1 << 16);
  pos = 0;
  ensure(n: number) {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number) {
    this.buf[this.pos++] = b;
  }
  /** An unsigned varint below 2^32. */
  varint32(n: number) {
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }
  /** A zigzag varint (sint64): with numbers when the value allows it (most do), else bigints. */
  sint64(v: bigint) {
    const n = Number(v);
    if (n >= -SAFE && n <= SAFE) return this.sint53(n);
    this.varint64(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  /** A zigzag varint of an integer with |n| ≤ 2^51 (0, -1, 1, -2 → 0, 1, 2, 3; 2|n| stays exact). */
  sint53(n: number) {
    let zz = n >= 0 ? n * 2 : -n * 2 - 1;
    while (zz > 0x7f) {
      this.buf[this.pos++] = (zz % 0x80) | 0x80;
      zz = Math.floor(zz / 0x80);
    }
    this.buf[this.pos++] = zz;
  }
  /** A length-delimited string field; `len` is its UTF-8 length (utf8Length). */
  string(tag: number, str: string, len: number) {
    this.byte(tag);
    this.varint32(len);
    if (len === str.length && len <= SHORT) {
      // ASCII (its UTF-8 is as long as the string): copied here, cheaper than a native call.
      const buf = this.buf;
      const at = this.pos;
      for (let i = 0; i < len; i++) buf[at + i] = str.charCodeAt(i);
    } else this.buf.write(str, this.pos, len, "utf8");
    this.pos += len;
  }
  /**
   * A length-delimited field from bytes (UTF-8 text, or a Value's bytes): a short value copied
   * here, as `string` does, a longer one by `set`.
   */
  bytesField(tag: number, v: Uint8Array) {
    const len = v.length;
    this.byte(tag);
    this.varint32(len);
    const buf = this.buf;
    const at = this.pos;
    if (len <= SHORT) for (let i = 0; i < len; i++) buf[at + i] = v[i];
    else buf.set(v, at);
    this.pos += len;
  }
  double(v: number) {
    this.byte(0x21);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  /** An unsigned varint below 2^64, from a bigint. */
  varint64(n: bigint) {
    while (n > 0x7fn) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }
}

/** Size in bytes of one encoded Value (its body, without tag and length), plus the bytes of any text. */
function valueSize(c: Cell, lens: number[]): number {
  const k = c.kind;
  switch (k?.case) {
    case undefined:
      return 0;
    case "nullValue":
    case "boolValue":
      return 2;
    case "intValue": {
      const n = intVarintSize(k.value);
      lens.push(n);
      return 1 + n;
    }
    case "floatValue":
      return 9;
    case "bytesValue": {
      const len = k.value.length;
      return 1 + varintSize(len) + len;
    }
    case "arrayValue": {
      const len = toBinary(ValueSchema, create(ValueSchema, c)).length - 0;
      lens.push(len);
      return len;
    }
    default: {
      const len = utf8Length(k!.value as string);
      lens.push(len);
      return 1 + varintSize(len) + len;
    }
  }
}

function writeValue(out: Out, c: Cell, lens: number[], li: { i: number }) {
  const k = c.kind;
  switch (k?.case) {
    case undefined:
      return;
    case "nullValue":
      out.byte(0x08);
      out.byte(k.value ? 1 : 0);
      return;
    case "boolValue":
      out.byte(0x10);
      out.byte(k.value ? 1 : 0);
      return;
    case "intValue": {
      li.i++;
      out.byte(0x18);
      out.sint64(k.value);
      return;
    }
    case "floatValue":
      out.byte(0x21);
      out.buf.writeDoubleLE(k.value, out.pos);
      out.pos += 8;
      return;
    case "bytesValue":
      out.byte(0x3a);
      out.varint32(k.value.length);
      out.buf.set(k.value, out.pos);
      out.pos += k.value.length;
      return;
    case "arrayValue": {
      li.i++;
      const bytes = toBinary(ValueSchema, create(ValueSchema, c));
      out.buf.set(bytes, out.pos);
      out.pos += bytes.length;
      return;
    }
    default: {
      out.string(STRING_TAGS[k!.case], k!.value as string, lens[li.i++]);
    }
  }
}

/**
 * How one column's raw text (as the driver read it, before any Cell is made) is written as a
 * Value: the same bytes the Cell path writes for the cell the driver would make of that text
 * (test/unit/engine/wire.test.ts compares them). NULL is handled by the caller.
 */
export interface RawColumn {
  /** Body size of the Value (tag and payload). */
  size(v: RawValue): number;
  write(out: Out, v: RawValue): void;
}

/**
 * A value as a driver reads it: text, or bytes. Bytes reach a text column (text, decimal, dates
 * and times, JSON) only when they are valid UTF-8 (PostgreSQL's rows, checked in
 * pg/datarow.ts; MySQL's numbers and dates, ASCII): they are copied as they are, the same bytes
 * their decoded string would be encoded to. Bytes to a bytes column are the value itself.
 */
export type RawValue = string | Uint8Array;
/** The text of bytes, where a column needs it (rare types, or input that is not what the fast path expects). */
const asText = (v: RawValue): string => (typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8"));

function stringColumn(tag: number): RawColumn {
  return {
    size: (raw) => {
      const len = typeof raw === "string" ? utf8Length(raw) : raw.length;
      return 1 + varintSize(len) + len;
    },
    write: (out, raw) => {
      if (typeof raw === "string") out.string(tag, raw, utf8Length(raw));
      else out.bytesField(tag, raw);
    },
  };
}

/**
 * The integer of ASCII decimal digits after an optional "-", when there are at most 15 of them
 * (below 2^51: exact in a double, and zigzagged exactly by sint53); NaN for anything else, which
 * takes the text path (`+text`, then BigInt) so that the bytes written are those of the text.
 */
function smallInt(v: Uint8Array): number {
  const n = v.length;
  const neg = n > 0 && v[0] === 0x2d;
  let i = neg ? 1 : 0;
  if (i === n || n - i > 15) return NaN;
  let x = 0;
  for (; i < n; i++) {
    const d = v[i] - 0x30;
    if (d < 0 || d > 9) return NaN;
    x = x * 10 + d;
  }
  return neg ? -x : x;
}

/** Hex digit values; -1 for any other byte. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX["0123456789abcdef".charCodeAt(i)] = i;
  HEX["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Bytes that are "\x" and hex digit pairs (an odd last digit is ignored, as Buffer's hex decoding
 * ignores it): decoded here. Anything else (never from PostgreSQL) takes the text path, whose
 * bytes are the reference.
 */
function isHexOutput(v: Uint8Array): boolean {
  if (v.length < 2 || v[0] !== 0x5c || v[1] !== 0x78) return false;
  const end = 2 + ((v.length - 2) & ~1);
  for (let i = 2; i < end; i++) if (HEX[v[i]] < 0) return false;
  return true;
}

const INT64_MAX = 9223372036854775807n;

/**
 * An integer as decimal text; through a double when exact, else a bigint. Beyond int64 (MySQL's
 * BIGINT UNSIGNED) it is a decimal, as the drivers' cells make it.
 */
const intColumn: RawColumn = {
  size: (raw) => {
    if (typeof raw !== "string") {
      const n = smallInt(raw);
      if (n === n) return 1 + numberVarintSize(n);
    }
    const v = asText(raw);
    const n = +v;
    if (Number.isSafeInteger(n) && n >= -SAFE && n <= SAFE) return 1 + numberVarintSize(n);
    const b = BigInt(v);
    if (b > INT64_MAX) return 1 + varintSize(v.length) + v.length;
    return 1 + intVarintSize(b);
  },
  write: (out, raw) => {
    if (typeof raw !== "string") {
      const n = smallInt(raw);
      if (n === n) {
        out.byte(0x18);
        out.sint53(n);
        return;
      }
    }
    const v = asText(raw);
    const n = +v;
    if (Number.isSafeInteger(n) && n >= -SAFE && n <= SAFE) {
      out.byte(0x18);
      out.sint53(n);
      return;
    }
    const b = BigInt(v);
    if (b > INT64_MAX) {
      const text = String(b);
      out.byte(STRING_TAGS.decimalValue);
      out.varint32(text.length);
      out.buf.write(text, out.pos, text.length, "latin1");
      out.pos += text.length;
      return;
    }
    out.byte(0x18);
    out.sint64(b);
  },
};

/** Bytes (MySQL's binary columns arrive as bytes; text here would be latin1, as the cells read it). */
const bytesColumn: RawColumn = {
  size: (v) => {
    const len = typeof v === "string" ? Buffer.byteLength(v, "binary") : v.length;
    return 1 + varintSize(len) + len;
  },
  write: (out, v) => {
    const bytes = typeof v === "string" ? Buffer.from(v, "binary") : v;
    out.byte(0x3a);
    out.varint32(bytes.length);
    out.buf.set(bytes, out.pos);
    out.pos += bytes.length;
  },
};

export const RAW_COLUMNS = {
  int: intColumn,
  bytes: bytesColumn,
  float: { size: () => 9, write: (out: Out, v: RawValue) => out.double(Number(asText(v))) } satisfies RawColumn,
  /** PostgreSQL's t / f. */
  bool: {
    size: () => 2,
    write: (out: Out, v: RawValue) => (out.byte(0x10), out.byte((typeof v === "string" ? v === "t" : v.length === 1 && v[0] === 0x74) ? 1 : 0)),
  } satisfies RawColumn,
  /** PostgreSQL's bytea hex output, \x… */
  byteaHex: {
    size: (raw: RawValue) => {
      const len = ((typeof raw === "string" || !isHexOutput(raw) ? asText(raw) : raw).length - 2) >>> 1;
      return 1 + varintSize(len) + len;
    },
    write: (out: Out, raw: RawValue) => {
      if (typeof raw !== "string" && isHexOutput(raw)) {
        const len = (raw.length - 2) >>> 1;
        out.byte(0x3a);
        out.varint32(len);
        const buf = out.buf;
        const at = out.pos;
        for (let i = 0; i < len; i++) buf[at + i] = (HEX[raw[2 + 2 * i]] << 4) | HEX[raw[3 + 2 * i]];
        out.pos += len;
        return;
      }
      const v = asText(raw);
      const len = (v.length - 2) >>> 1;
      out.byte(0x3a);
      out.varint32(len);
      out.buf.write(v.slice(2), out.pos, len, "hex");
      out.pos += len;
    },
  } satisfies RawColumn,
  decimal: stringColumn(STRING_TAGS.decimalValue),
  text: stringColumn(STRING_TAGS.textValue),
  timestamp: stringColumn(STRING_TAGS.timestampValue),
  date: stringColumn(STRING_TAGS.dateValue),
  time: stringColumn(STRING_TAGS.timeValue),
  interval: stringColumn(STRING_TAGS.intervalValue),
  json: stringColumn(STRING_TAGS.jsonValue),
};

/** Any other column: its Cell, encoded by protobuf-es (arrays; rare enough). */
export function cellColumn(toCell: (v: string) => Cell): RawColumn {
  return {
    size: (v) => toBinary(ValueSchema, create(ValueSchema, toCell(asText(v)))).length,
    write: (out, v) => {
      const bytes = toBinary(ValueSchema, create(ValueSchema, toCell(asText(v))));
      out.buf.set(bytes, out.pos);
      out.pos += bytes.length;
    },
  };
}

/** Raw rows into `out` (from its start); returns the view of the bytes written. */
function encodeRawInto(out: Out, rows: (RawValue | null)[][], columns: RawColumn[]): Uint8Array {
  out.pos = 0;
  const sizes: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    let rowSize = 0;
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      const s = v === null ? 2 : columns[i].size(v);
      sizes.push(s);
      rowSize += 1 + varintSize(s) + s;
    }
    sizes.push(rowSize);
  }
  let si = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const rowSize = sizes[si + row.length];
    out.ensure(rowSize + 6);
    if (r > 0) out.byte(0x12);
    out.varint32(rowSize);
    for (let i = 0; i < row.length; i++) {
      const s = sizes[si++];
      out.byte(0x0a);
      out.varint32(s);
      const v = row[i];
      if (v === null) {
        out.byte(0x08);
        out.byte(1);
      } else columns[i].write(out, v);
    }
    si++;
  }
  return out.buf.subarray(0, out.pos);
}

/**
 * Encodes the row batches of one stream into one reused buffer. A batch's bytes are a view into
 * that buffer, valid until the next `encode`: Connect serializes a yielded message before it asks
 * the handler for the next one, so the view is copied into the response before it can change.
 * One encoder per stream (never shared: another stream may run between a yield and its
 * serialization). Reusing the buffer saves an allocation of about a batch's size per batch.
 */
export class RowEncoder {
  private readonly out = new Out();

  /**
   * The rows as the bytes of RowBatch field 2, repeated: the value of one unknown field whose
   * data is `len row1 (0x12 len row)*` (the tag of the first row is written by toBinary).
   */
  encode(rows: Cell[][]): UnknownField {
    return { no: 2, wireType: WireType.LengthDelimited, data: encodeInto(this.out, rows) };
  }

  /** A batch whose rows are already protobuf bytes: a message, so nothing re-encodes it. */
  batch(statementIndex: number, rows: Cell[][]): RowBatch {
    return { $typeName: "sqlstudio.database.v1.RowBatch", statementIndex, rows: [], $unknown: rows.length > 0 ? [this.encode(rows)] : [] };
  }

  /** The same from raw rows (no Cells made): each column written by its RawColumn. */
  batchRaw(statementIndex: number, rows: (RawValue | null)[][], columns: RawColumn[]): RowBatch {
    const $unknown = rows.length > 0 ? [{ no: 2, wireType: WireType.LengthDelimited, data: encodeRawInto(this.out, rows, columns) }] : [];
    return { $typeName: "sqlstudio.database.v1.RowBatch", statementIndex, rows: [], $unknown };
  }
}

/** The rows into `out` (from its start); returns the view of the bytes written. */
function encodeInto(out: Out, rows: Cell[][]): Uint8Array {
  out.pos = 0;
  const lens: number[] = [];
  const sizes: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    let rowSize = 0;
    for (let i = 0; i < row.length; i++) {
      const s = valueSize(row[i], lens);
      sizes.push(s);
      rowSize += 1 + varintSize(s) + s;
    }
    sizes.push(rowSize);
  }
  const li = { i: 0 };
  let si = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const rowSize = sizes[si + row.length];
    out.ensure(rowSize + 6);
    if (r > 0) out.byte(0x12);
    out.varint32(rowSize);
    for (let i = 0; i < row.length; i++) {
      const s = sizes[si++];
      out.ensure(s + 6);
      out.byte(0x0a);
      out.varint32(s);
      writeValue(out, row[i], lens, li);
    }
    si++;
  }
  return out.buf.subarray(0, out.pos);
}


/**
 * A fast decoder for the rows of a `sqlstudio.database.v1.RowBatch`, for clients (Node and
 * browsers alike: no Node-only API). It mirrors the server's hand-written encoder
 * (src/engine/wire.ts) and turns the batch's bytes straight into columns of typed values, with
 * no message object per row or cell; protobuf-es's reflection decoder makes about ten objects a
 * cell and holds a client near 100k rows/s.
 *
 * The wire format is plain protobuf (values.proto), so any valid encoding decodes, not only the
 * server's: `RowBatch { int32 statement_index = 1; repeated Row rows = 2; }`,
 * `Row { repeated Value values = 1; }`, `Value { oneof kind { ... } }` with the field numbers of
 * `Kind` below; unknown fields are skipped, and the last kind of a Value wins, as in protobuf.
 *
 * Strings are read the fast way: the batch is decoded once as single-byte text (every byte one
 * character) and an ASCII string is a slice of it; a string with other bytes goes through UTF-8
 * decoding. Text, decimals, dates, times, intervals and JSON are strings exactly as the database
 * printed them; integers are bigints (64 bits, exact); bytes are copies.
 */

/** The kind of a cell: the field number of its `Value` case; `Missing` for a row shorter than the widest. */
export const Kind = {
  Missing: 0,
  Null: 1,
  Bool: 2,
  Int: 3,
  Float: 4,
  Decimal: 5,
  Text: 6,
  Bytes: 7,
  Timestamp: 8,
  Date: 9,
  Time: 10,
  Interval: 11,
  Json: 12,
  Array: 13,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** An element of an array cell. */
export interface ArrayElement {
  kind: Kind;
  value: CellValue;
}

/**
 * A cell's value: null (Null, Missing), boolean (Bool), bigint (Int), number (Float), Uint8Array
 * (Bytes), ArrayElement[] (Array), string (every other kind).
 */
export type CellValue = null | boolean | bigint | number | string | Uint8Array | ArrayElement[];

/** One column of a batch: per row, the cell's kind and its value. */
export interface RowColumn {
  kinds: Uint8Array;
  values: CellValue[];
}

export interface DecodedRows {
  statementIndex: number;
  rowCount: number;
  /** As many as the widest row has cells (at least `minColumns`). */
  columns: RowColumn[];
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
// WHATWG "latin1" is windows-1252: still one character per byte, which is all a slice needs.
const latin1 = new TextDecoder("latin1");
// In Node, Buffer's latin1 slice makes the same one-byte string at memory speed; Node's TextDecoder
// goes through ICU for it (about 0.1 µs a row of the engine bench). Browsers have no Buffer.
const bufferLatin1 = (globalThis as { Buffer?: { prototype: { latin1Slice?: (this: Uint8Array, start: number, end: number) => string } } }).Buffer?.prototype.latin1Slice;
const singleByte: (buf: Uint8Array) => string = bufferLatin1 ? (buf) => bufferLatin1.call(buf, 0, buf.length) : (buf) => latin1.decode(buf);

class Reader {
  pos = 0;
  readonly view: DataView;
  /** The batch as single-byte text, made on the first string. */
  private text: string | undefined;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** An unsigned varint below 2^32 (lengths, tags). */
  uint32(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    if (b < 0x80) return b;
    let n = b & 0x7f;
    b = buf[this.pos++];
    n |= (b & 0x7f) << 7;
    if (b < 0x80) return n;
    b = buf[this.pos++];
    n |= (b & 0x7f) << 14;
    if (b < 0x80) return n;
    b = buf[this.pos++];
    n |= (b & 0x7f) << 21;
    if (b < 0x80) return n;
    b = buf[this.pos++];
    n += (b & 0x0f) * 2 ** 28;
    // A longer varint (a negative int32): its high bytes do not matter for 32 bits.
    while (b >= 0x80) b = buf[this.pos++];
    if (this.pos > buf.length) throw new RangeError("truncated varint");
    return n >>> 0;
  }

  /** A zigzag varint (sint64) as a bigint: number arithmetic while it fits in 49 bits. */
  sint64(): bigint {
    const buf = this.buf;
    let lo = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const b = buf[this.pos++];
      lo += (b & 0x7f) * scale;
      if (b < 0x80) return BigInt(lo % 2 === 0 ? lo / 2 : -(lo + 1) / 2);
      scale *= 0x80;
    }
    let zz = BigInt(lo);
    let shift = 49n;
    for (;;) {
      if (this.pos >= buf.length) throw new RangeError("truncated varint");
      const b = buf[this.pos++];
      zz |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
    }
    zz = BigInt.asUintN(64, zz);
    return zz & 1n ? -(zz >> 1n) - 1n : zz >> 1n;
  }

  /** Any varint, skipped; its low 32 bits (bool and null cells only look at zero / not zero). */
  varintNonZero(): boolean {
    let any = 0;
    let b;
    do {
      b = this.buf[this.pos++];
      any |= b & 0x7f;
    } while (b >= 0x80 && this.pos < this.buf.length);
    return any !== 0;
  }

  /** The string in [start, end): a slice of the single-byte text when ASCII. */
  string(start: number, end: number): string {
    const buf = this.buf;
    let high = 0;
    for (let i = start; i < end; i++) high |= buf[i];
    if (high < 0x80) {
      this.text ??= singleByte(buf);
      return this.text.slice(start, end);
    }
    return utf8.decode(buf.subarray(start, end));
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varintNonZero();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        const len = this.uint32(); // before reading pos: `pos += uint32()` would add to the old pos
        this.pos += len;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`unsupported wire type ${wireType}`);
    }
  }
}

/** Reads one Value ending at `end` into `out` (kind, value); an empty Value is NULL. */
function readValue(r: Reader, end: number, out: { kind: Kind; value: CellValue }): void {
  // The shapes the server writes (one field; a string under 128 bytes), read without the general loop.
  const buf = r.buf;
  const at = r.pos;
  const tag = at < end ? buf[at] : -1;
  if (tag === 0x18) {
    r.pos = at + 1;
    const v = r.sint64();
    if (r.pos === end) {
      out.kind = Kind.Int;
      out.value = v;
      return;
    }
    r.pos = at;
  } else if ((tag & 7) === 2 && tag >= 0x2a && tag <= 0x62 && tag !== 0x3a && buf[at + 1] < 0x80 && at + 2 + buf[at + 1] === end) {
    out.kind = (tag >>> 3) as Kind;
    out.value = r.string(at + 2, end);
    r.pos = end;
    return;
  }
  out.kind = Kind.Null;
  out.value = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (wt === 2) {
      const len = r.uint32();
      const start = r.pos;
      const stop = start + len;
      if (stop > end) throw new RangeError("truncated value");
      if (no === Kind.Bytes) {
        out.kind = Kind.Bytes;
        out.value = r.buf.slice(start, stop);
      } else if (no === Kind.Array) {
        out.kind = Kind.Array;
        out.value = readList(r, stop);
      } else if (no >= Kind.Decimal && no <= Kind.Json) {
        out.kind = no as Kind;
        out.value = r.string(start, stop);
      }
      r.pos = stop;
    } else if (wt === 0 && no === Kind.Int) {
      out.kind = Kind.Int;
      out.value = r.sint64();
    } else if (wt === 1 && no === Kind.Float) {
      out.kind = Kind.Float;
      out.value = r.view.getFloat64(r.pos, true);
      r.pos += 8;
    } else if (wt === 0 && no === Kind.Bool) {
      out.kind = Kind.Bool;
      out.value = r.varintNonZero();
    } else if (wt === 0 && no === Kind.Null) {
      r.varintNonZero();
      out.kind = Kind.Null;
      out.value = null;
    } else r.skip(wt);
  }
}

/** A ValueList (an array cell) ending at `end`. */
function readList(r: Reader, end: number): ArrayElement[] {
  const list: ArrayElement[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const len = r.uint32();
    const stop = r.pos + len;
    const el: ArrayElement = { kind: Kind.Null, value: null };
    readValue(r, stop, el);
    r.pos = stop;
    list.push(el);
  }
  return list;
}

/**
 * Decodes the bytes of a RowBatch message into columns. `minColumns` (the header's column count)
 * makes that many columns even when the batch has no rows.
 */
export function decodeRowBatch(bytes: Uint8Array, minColumns = 0): DecodedRows {
  const r = new Reader(bytes);
  const n = bytes.length;
  // First pass: the statement index and the row count, so each column is allocated once.
  let statementIndex = 0;
  let rowCount = 0;
  while (r.pos < n) {
    const tag = r.uint32();
    if (tag === 0x12) {
      rowCount++;
      const len = r.uint32();
      r.pos += len;
    } else if (tag === 0x08) statementIndex = r.uint32() | 0;
    else r.skip(tag & 7);
  }
  if (r.pos > n) throw new RangeError("truncated row batch");

  const columns: RowColumn[] = [];
  const addColumn = () => columns.push({ kinds: new Uint8Array(rowCount), values: new Array<CellValue>(rowCount).fill(null) });
  while (columns.length < minColumns) addColumn();
  const cell = { kind: Kind.Null as Kind, value: null as CellValue };
  r.pos = 0;
  let row = 0;
  while (r.pos < n) {
    const tag = r.uint32();
    if (tag !== 0x12) {
      r.skip(tag & 7);
      continue;
    }
    const rowEnd = r.uint32() + r.pos;
    if (rowEnd > n) throw new RangeError("truncated row");
    let col = 0;
    while (r.pos < rowEnd) {
      const t = r.uint32();
      if (t !== 0x0a) {
        r.skip(t & 7);
        continue;
      }
      const valueEnd = r.uint32() + r.pos;
      if (valueEnd > rowEnd) throw new RangeError("truncated cell");
      readValue(r, valueEnd, cell);
      r.pos = valueEnd;
      if (col === columns.length) addColumn();
      const c = columns[col++];
      c.kinds[row] = cell.kind;
      c.values[row] = cell.value;
    }
    row++;
  }
  return { statementIndex, rowCount, columns };
}

// The fast row-batch decoder (src/client/rows.ts) against protobuf-es: the same bytes decoded both
// ways must give the same cells, for every value kind, for batches written by protobuf-es and by
// the server's own encoder (src/engine/wire.ts), and for random batches.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RowBatchSchema } from "../../../gen/sqlstudio/database/v1/query_pb.js";
import { ValueSchema, type Value } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import { decodeRowBatch, Kind, type ArrayElement, type CellValue } from "../../../src/client/rows.js";
import type { Cell } from "../../../src/engine/driver.js";
import { RAW_COLUMNS, RowEncoder, type RawValue } from "../../../src/engine/wire.js";

type V = MessageInitShape<typeof ValueSchema>;
type Plain = readonly [number, unknown];

const KIND_OF: Record<string, number> = {
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

/** A protobuf-es Value as [kind, value]; bytes as hex, NaN and -0 kept by Object.is in toEqual. */
function fromProtobufEs(v: Value): Plain {
  const k = v.kind;
  if (k.case === undefined || k.case === "nullValue") return [Kind.Null, null];
  if (k.case === "bytesValue") return [Kind.Bytes, Buffer.from(k.value).toString("hex")];
  if (k.case === "arrayValue") return [Kind.Array, k.value.values.map(fromProtobufEs)];
  return [KIND_OF[k.case], k.value];
}

function fromFast(kind: number, value: CellValue): Plain {
  if (kind === Kind.Bytes) return [kind, Buffer.from(value as Uint8Array).toString("hex")];
  if (kind === Kind.Array) return [kind, (value as ArrayElement[]).map((e) => fromFast(e.kind, e.value))];
  return [kind, value];
}

/** Both decodings of one RowBatch's bytes, row by row. */
function both(bytes: Uint8Array) {
  const expected = fromBinary(RowBatchSchema, bytes);
  const fast = decodeRowBatch(bytes);
  const rows: Plain[][] = [];
  for (let r = 0; r < fast.rowCount; r++) {
    const row: Plain[] = [];
    for (const c of fast.columns) if (c.kinds[r] !== Kind.Missing) row.push(fromFast(c.kinds[r], c.values[r]));
    rows.push(row);
  }
  return {
    fast: { statementIndex: fast.statementIndex, rows },
    protobufEs: { statementIndex: expected.statementIndex, rows: expected.rows.map((r) => r.values.map(fromProtobufEs)) },
  };
}

const batch = (rows: V[][], statementIndex = 0) => toBinary(RowBatchSchema, create(RowBatchSchema, { statementIndex, rows: rows.map((values) => ({ values })) }));

const EVERY_KIND: V[] = [
  { kind: { case: "nullValue", value: true } },
  {},
  { kind: { case: "boolValue", value: true } },
  { kind: { case: "boolValue", value: false } },
  { kind: { case: "intValue", value: 0n } },
  { kind: { case: "intValue", value: -1n } },
  { kind: { case: "intValue", value: 9223372036854775807n } },
  { kind: { case: "intValue", value: -9223372036854775808n } },
  { kind: { case: "intValue", value: 9007199254740993n } },
  { kind: { case: "intValue", value: -9007199254740993n } },
  { kind: { case: "intValue", value: 2n ** 48n } },
  { kind: { case: "intValue", value: -(2n ** 48n) } },
  { kind: { case: "intValue", value: 2n ** 48n - 1n } },
  { kind: { case: "floatValue", value: 0.1 } },
  { kind: { case: "floatValue", value: -0 } },
  { kind: { case: "floatValue", value: Number.NaN } },
  { kind: { case: "floatValue", value: Number.NEGATIVE_INFINITY } },
  { kind: { case: "floatValue", value: 5e-324 } },
  { kind: { case: "decimalValue", value: "12345678901234567890.1234567890" } },
  { kind: { case: "decimalValue", value: "-0.000000000000000000001" } },
  { kind: { case: "textValue", value: "" } },
  { kind: { case: "textValue", value: "plain ascii" } },
  { kind: { case: "textValue", value: "unicode: é ß 中文 🙂 e\u0301 \u0000 \u00ff" } },
  { kind: { case: "textValue", value: "x".repeat(70_000) } },
  { kind: { case: "bytesValue", value: new Uint8Array(0) } },
  { kind: { case: "bytesValue", value: Uint8Array.from({ length: 256 }, (_, i) => i) } },
  { kind: { case: "timestampValue", value: "2024-02-29T23:59:59.999999+05:30" } },
  { kind: { case: "dateValue", value: "-4713-11-24" } },
  { kind: { case: "timeValue", value: "24:00:00+14" } },
  { kind: { case: "intervalValue", value: "1 year 2 mons -3 days 04:05:06.789" } },
  { kind: { case: "jsonValue", value: '{"a": [1, 2.5, "ü"], "b": null, "c": {"d": true}}' } },
  {
    kind: {
      case: "arrayValue",
      value: {
        values: [
          { kind: { case: "intValue", value: 1n } },
          { kind: { case: "nullValue", value: true } },
          { kind: { case: "arrayValue", value: { values: [{ kind: { case: "textValue", value: "nested ö" } }] } } },
        ],
      },
    },
  },
  { kind: { case: "arrayValue", value: { values: [] } } },
];

describe("decodeRowBatch agrees with protobuf-es", () => {
  it("on every value kind, one per row", () => {
    const r = both(batch(EVERY_KIND.map((v) => [v])));
    expect(r.fast.rows).toHaveLength(EVERY_KIND.length);
    expect(r.fast).toEqual(r.protobufEs);
  });

  it("on every value kind side by side in one wide row, and an empty batch", () => {
    const r = both(batch([EVERY_KIND, EVERY_KIND.slice().reverse()], 7));
    expect(r.fast.statementIndex).toBe(7);
    expect(r.fast).toEqual(r.protobufEs);
    expect(decodeRowBatch(batch([], 3))).toEqual({ statementIndex: 3, rowCount: 0, columns: [] });
    expect(decodeRowBatch(batch([], 3), 2).columns).toHaveLength(2);
  });

  it("on rows of different widths: a short row's missing cells are Missing, not NULL", () => {
    const bytes = batch([[{ kind: { case: "intValue", value: 1n } }], [], [{}, { kind: { case: "textValue", value: "b" } }]]);
    const fast = decodeRowBatch(bytes);
    expect(fast.rowCount).toBe(3);
    expect(Array.from(fast.columns[0].kinds)).toEqual([Kind.Int, Kind.Missing, Kind.Null]);
    expect(Array.from(fast.columns[1].kinds)).toEqual([Kind.Missing, Kind.Missing, Kind.Text]);
    expect(both(bytes).fast).toEqual(both(bytes).protobufEs);
  });

  it("skips unknown fields, and the last kind of a Value wins, as protobuf does", () => {
    const value = toBinary(ValueSchema, create(ValueSchema, { kind: { case: "textValue", value: "first" } }));
    const later = toBinary(ValueSchema, create(ValueSchema, { kind: { case: "intValue", value: -5n } }));
    // An unknown varint field 20 and an unknown length-delimited field 21 in the Value, field 9 in the Row, field 3 in the batch.
    const unknown = [0xa0, 0x01, 0x96, 0x01, 0xaa, 0x01, 0x02, 0x68, 0x69];
    const v = [...value, ...unknown, ...later];
    const row = [0x0a, v.length, ...v, 0x48, 0x01];
    const bytes = Uint8Array.from([0x18, 0x05, 0x12, row.length, ...row]);
    const r = both(bytes);
    expect(r.fast.rows).toEqual([[[Kind.Int, -5n]]]);
    expect(r.fast).toEqual(r.protobufEs);
  });

  it("on a negative statement index (a ten-byte varint)", () => {
    const r = both(batch([[{ kind: { case: "boolValue", value: true } }]], -2));
    expect(r.fast).toEqual(r.protobufEs);
  });

  it("on random batches", () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = () => EVERY_KIND[Math.floor(rand() * EVERY_KIND.length)];
    for (let i = 0; i < 50; i++) {
      const width = 1 + Math.floor(rand() * 8);
      const rows = Array.from({ length: Math.floor(rand() * 40) }, () => Array.from({ length: width }, pick));
      const r = both(batch(rows, i));
      expect(r.fast).toEqual(r.protobufEs);
    }
  });

  it("refuses truncated input instead of reading past it", () => {
    const bytes = batch([[{ kind: { case: "textValue", value: "hello" } }, { kind: { case: "intValue", value: 5n } }]]);
    for (const cut of [bytes.length - 1, bytes.length - 3, 3]) expect(() => decodeRowBatch(bytes.subarray(0, cut))).toThrow(RangeError);
  });
});

describe("decodeRowBatch reads what the server's encoder writes (src/engine/wire.ts)", () => {
  const cells: Cell[][] = [EVERY_KIND.map((v) => create(ValueSchema, v) as unknown as Cell)];

  it("from cells: the batch as the server yields it (rows in an unknown field), serialized by toBinary", () => {
    const message = new RowEncoder().batch(4, cells);
    const r = both(toBinary(RowBatchSchema, message));
    expect(r.fast.rows[0]).toHaveLength(EVERY_KIND.length);
    expect(r.fast).toEqual(r.protobufEs);
  });

  it("from the drivers' raw text: ints, floats, bools, bytea, strings", () => {
    const columns = [RAW_COLUMNS.int, RAW_COLUMNS.int, RAW_COLUMNS.float, RAW_COLUMNS.bool, RAW_COLUMNS.byteaHex, RAW_COLUMNS.decimal, RAW_COLUMNS.text, RAW_COLUMNS.timestamp, RAW_COLUMNS.json];
    const rows: (RawValue | null)[][] = [
      ["9223372036854775807", "-9223372036854775808", "1.5e300", "t", "\\x00ff10", "1.10", "zoë 🙂", "2024-01-01 00:00:00+00", '{"k":"v"}'],
      ["18446744073709551615", "0", "-0", "f", "\\x", "-5", "", "infinity", "[]"],
      [null, null, null, null, null, null, null, null, null],
    ];
    const message = new RowEncoder().batchRaw(0, rows, columns);
    const r = both(toBinary(RowBatchSchema, message));
    expect(r.fast.rows[1][0]).toEqual([Kind.Decimal, "18446744073709551615"]);
    expect(r.fast).toEqual(r.protobufEs);
  });
});

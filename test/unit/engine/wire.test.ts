import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExecuteQueryResponseSchema, RowBatchSchema } from "../../../gen/sqlstudio/database/v1/query_pb.js";
import { RowSchema, ValueListSchema, ValueSchema, type Value } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import { NULL } from "../../../src/engine/driver.js";
import { converter, rawColumn } from "../../../src/engine/drivers/postgres.js";
import { RAW_COLUMNS, RowEncoder, type RawColumn, type RawValue } from "../../../src/engine/wire.js";

const v = (kind: Value["kind"]): Value => create(ValueSchema, { kind });
const list = (values: Value[]) => create(ValueListSchema, { values });
const EDGE: Value[] = [
  v({ case: "nullValue", value: true }),
  v({ case: "boolValue", value: true }),
  v({ case: "boolValue", value: false }),
  ...[0n, 1n, -1n, 63n, -64n, 64n, 2n ** 31n, -(2n ** 31n), 2n ** 51n, -(2n ** 51n), 2n ** 51n + 1n, -(2n ** 51n) - 1n, 2n ** 52n, 9007199254740993n, -9223372036854775808n, 9223372036854775807n].map((n) => v({ case: "intValue", value: n })),
  ...[0, -0, 1.5, -2.25e-300, Number.NaN, Infinity, -Infinity, 3.4028235e38].map((n) => v({ case: "floatValue", value: n })),
  v({ case: "decimalValue", value: "-12345678901234567890.123456789012345678901234567890" }),
  v({ case: "textValue", value: "" }),
  v({ case: "textValue", value: "Ünïcødé 名前 🦄 \u0000 \n" }),
  v({ case: "textValue", value: "x".repeat(20_000) }),
  // Around the ASCII fast path: 64 and 65 characters, DEL, and one non-ASCII letter at the end.
  v({ case: "textValue", value: "a".repeat(64) }),
  v({ case: "textValue", value: "b".repeat(65) }),
  v({ case: "textValue", value: "\x7f\x00" }),
  v({ case: "decimalValue", value: `${"9".repeat(63)}é` }),
  v({ case: "bytesValue", value: new Uint8Array(256).map((_, i) => i) }),
  v({ case: "bytesValue", value: new Uint8Array(0) }),
  v({ case: "timestampValue", value: "2024-02-29 23:59:59.999999+05:30" }),
  v({ case: "dateValue", value: "2024-02-29" }),
  v({ case: "timeValue", value: "12:00:00.5" }),
  v({ case: "intervalValue", value: "1 year 2 mons -3 days 04:05:06.789" }),
  v({ case: "jsonValue", value: '{"a":[1,2,{"b":null}],"ü":"🦄"}' }),
  v({ case: "arrayValue", value: list([v({ case: "intValue", value: 1n }), v({ case: "nullValue", value: true }), v({ case: "arrayValue", value: list([v({ case: "textValue", value: "a,b" })]) })]) }),
];

/** What protobuf-es itself writes for a batch with these rows. */
const reference = (rows: Value[][]) => toBinary(RowBatchSchema, create(RowBatchSchema, { statementIndex: 3, rows: rows.map((values) => create(RowSchema, { values })) }));
/** A batch as the engine yields it: a message with the rows as its unknown field 2 (create() drops $unknown from an init). */
function batch(statementIndex: number, rows: Value[][]) {
  const m = create(RowBatchSchema, { statementIndex });
  if (rows.length > 0) m.$unknown = [new RowEncoder().encode(rows)];
  return m;
}
const ours = (rows: Value[][]) => toBinary(RowBatchSchema, batch(3, rows));

describe("encodeRows", () => {
  it("writes exactly the bytes protobuf-es writes, for every kind of cell", () => {
    const rows = [EDGE, EDGE.slice().reverse(), [], [EDGE[0]]];
    expect(Buffer.from(ours(rows)).equals(Buffer.from(reference(rows)))).toBe(true);
  });

  it("round-trips random rows through a real decoder, in an ExecuteQueryResponse", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const rows = Array.from({ length: 1 + Math.floor(rnd() * 50) }, () => Array.from({ length: Math.floor(rnd() * 8) }, () => EDGE[Math.floor(rnd() * EDGE.length)]));
      const bytes = toBinary(ExecuteQueryResponseSchema, create(ExecuteQueryResponseSchema, { event: { case: "rows", value: batch(1, rows) } }));
      const back = fromBinary(ExecuteQueryResponseSchema, bytes);
      expect(back.event.case).toBe("rows");
      const got = back.event.case === "rows" ? back.event.value.rows.map((r) => r.values) : [];
      expect(got).toEqual(rows);
    }
  });

  it("reuses one buffer per encoder: each batch is right when serialized before the next is encoded", () => {
    const enc = new RowEncoder();
    const a = toBinary(RowBatchSchema, enc.batch(0, [EDGE]));
    const b = toBinary(RowBatchSchema, enc.batch(1, [EDGE.slice(0, 3)]));
    expect(fromBinary(RowBatchSchema, a).rows.map((r) => r.values)).toEqual([EDGE]);
    expect(fromBinary(RowBatchSchema, b).rows.map((r) => r.values)).toEqual([EDGE.slice(0, 3)]);
    expect(toBinary(RowBatchSchema, enc.batch(2, [])).length).toBe(2);
  });

  it("encodes an empty batch as no rows", () => {
    expect(fromBinary(RowBatchSchema, ours([])).rows).toEqual([]);
  });
});

describe("rows written straight from PostgreSQL's text", () => {
  // Texts as PostgreSQL prints them, per type oid.
  const SAMPLES: [number, string[]][] = [
    [16, ["t", "f"]],
    [17, ["\\x", "\\x00ff10", `\\x${Buffer.from(new Uint8Array(256).map((_, i) => i)).toString("hex")}`]],
    [20, ["0", "-1", "9007199254740993", "-9223372036854775808", "9223372036854775807", "2251799813685248", "-2251799813685249"]],
    [21, ["-32768", "32767"]],
    [23, ["2147483647", "-2147483648", "42"]],
    [26, ["4294967295"]],
    [700, ["3.4028235e+38", "NaN", "-Infinity", "0"]],
    [701, ["1.7976931348623157e+308", "-0", "5e-324", "Infinity", "0.1"]],
    [1700, ["12345678901234567890.123456789012345678901234567890", "NaN", "-0.5"]],
    [114, ['{"a": [1, "ü"]}']],
    [3802, ['{"k": null}']],
    [1082, ["2024-02-29", "infinity"]],
    [1083, ["23:59:59.999999"]],
    [1266, ["12:00:00+05:30"]],
    [1114, ["2024-02-29 23:59:59.999999"]],
    [1184, ["2024-02-29 23:59:59.999999+05:30", "-infinity"]],
    [1186, ["1 year 2 mons -3 days 04:05:06.789"]],
    [25, ["", "Ünïcødé 名前 🦄", "x".repeat(70), "a".repeat(64)]],
    [2950, ["0196f0c2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"]],
    [1016, ['{1,NULL,9223372036854775807}', "{}"]],
    [1009, ['{"a,b",NULL,"q\\"uote"}']],
    [1007, ["{{1,2},{3,4}}"]],
  ];

  it("writes the same bytes as the cells the driver makes of the same text", () => {
    for (const [oid, texts] of SAMPLES) {
      const rows: (string | null)[][] = [...texts.map((t) => [t, null]), [null, texts[0]]];
      const columns = [rawColumn(oid), rawColumn(oid)];
      const cells = rows.map((r) => r.map((t) => (t === null ? NULL : converter(oid)(t))));
      const raw = toBinary(RowBatchSchema, new RowEncoder().batchRaw(3, rows, columns));
      const viaCells = toBinary(RowBatchSchema, new RowEncoder().batch(3, cells));
      expect(Buffer.from(raw).toString("hex"), `oid ${oid}`).toBe(Buffer.from(viaCells).toString("hex"));
      expect(Buffer.from(raw).toString("hex"), `oid ${oid} vs protobuf-es`).toBe(Buffer.from(reference(cells as Value[][])).toString("hex"));
    }
  });

  /** Text as a driver hands it over as bytes: a plain Uint8Array view inside a larger buffer (as pg/datarow.ts makes them). */
  const bytes = (t: string): Uint8Array => {
    const b = Buffer.from(`~~${t}~~`, "utf8");
    return new Uint8Array(b.buffer, b.byteOffset + 2, b.length - 4);
  };
  const rawBatch = (rows: (RawValue | null)[][], columns: RawColumn[]) => Buffer.from(toBinary(RowBatchSchema, new RowEncoder().batchRaw(3, rows, columns))).toString("hex");

  it("writes the same bytes from the bytes of the text as from the text", () => {
    for (const [oid, texts] of SAMPLES) {
      const rows: (string | null)[][] = [...texts.map((t) => [t, null, t]), [null, texts[0], texts[texts.length - 1]]];
      const columns = [rawColumn(oid), rawColumn(oid), rawColumn(oid)];
      const asBytes = rows.map((r) => r.map((t) => (t === null ? null : bytes(t))));
      expect(rawBatch(asBytes, columns), `oid ${oid}`).toBe(rawBatch(rows, columns));
    }
  });

  it("writes the same bytes from bytes for what the fast paths do not take (signs, spaces, leading zeros, long integers, odd hex)", () => {
    const cases: [RawColumn, string[]][] = [
      [
        RAW_COLUMNS.int,
        [
          "0", "-0", "7", "-7", "0005", "+5", " 5", "5 ", "", "0x10",
          "999999999999999", "-999999999999999", "1000000000000000", "2251799813685247", "2251799813685248", "-2251799813685249",
          "9007199254740993", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551615", "00000000000000000012",
        ],
      ],
      [RAW_COLUMNS.float, ["1.5", "-0", "NaN", "Infinity", "-Infinity", "1e+30", "", " 2 ", "x"]],
      [RAW_COLUMNS.bool, ["t", "f", "", "tt", "T", "true"]],
      [RAW_COLUMNS.byteaHex, ["\\x", "\\x00ff", "\\xABcd", "\\xabc", "ab"]],
      [RAW_COLUMNS.decimal, ["-0.5", "", "NaN", "1".repeat(200)]],
      [RAW_COLUMNS.text, ["", "a", "Ünïcødé 名前 🦄 \u0000 \n", "x".repeat(64), "y".repeat(65), `${"z".repeat(63)}é`, "é".repeat(40_000)]],
      [RAW_COLUMNS.json, ['{"ü":"🦄"}']],
      [RAW_COLUMNS.bytes, ["", "abc", "\u00ff\u0080"]],
    ];
    for (const [column, texts] of cases) {
      const rows = texts.map((t) => [t]);
      const asBytes = texts.map((t) => [column === RAW_COLUMNS.bytes ? new Uint8Array(Buffer.from(t, "latin1")) : bytes(t)]);
      expect(rawBatch(asBytes, [column]), texts.join(" | ")).toBe(rawBatch(rows, [column]));
    }
  });
});

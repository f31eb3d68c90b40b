import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExecuteQueryResponseSchema, RowBatchSchema } from "../../../gen/sqlstudio/database/v1/query_pb.js";
import { RowSchema, ValueListSchema, ValueSchema, type Value } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import { RowEncoder } from "../../../src/engine/wire.js";

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

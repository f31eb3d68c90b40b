// The web console's pure modules: how cells are shown (exactly), how typed input becomes a Value,
// and how plans become trees. Browser behaviour is in test/e2e/console-*.test.ts.
import { describe, expect, it } from "vitest";
import { Kind } from "../../../src/client/rows.js";
import { brief, csvField, detail, full, jsonValue, ndjsonValue, prettyJson } from "../../../web/src/query/format.js";
import { parsePlan } from "../../../web/src/pages/workspace/plan.js";
import { InputError, kindOfType, parseInput } from "../../../web/src/pages/tables/values.js";

describe("cells as text (web/src/query/format.ts)", () => {
  it("shows every kind exactly", () => {
    expect(full(Kind.Int, -9223372036854775808n)).toBe("-9223372036854775808");
    expect(full(Kind.Float, -0)).toBe("-0");
    expect(full(Kind.Float, 0.1)).toBe("0.1");
    expect(full(Kind.Decimal, "12345678901234567890.0123456789")).toBe("12345678901234567890.0123456789");
    expect(full(Kind.Bytes, Uint8Array.from([0, 15, 255]))).toBe("\\x000fff");
    expect(full(Kind.Timestamp, "2024-02-29 12:00:00+05:30")).toBe("2024-02-29 12:00:00+05:30");
    expect(full(Kind.Null, null)).toBe("NULL");
    expect(full(Kind.Array, [{ kind: Kind.Int, value: 1n }, { kind: Kind.Null, value: null }, { kind: Kind.Text, value: "a b" }])).toBe('{1,NULL,"a b"}');
  });

  it("pretty-prints JSON without re-reading its numbers (JSON.parse would round them)", () => {
    const text = '{"big":12345678901234567890123,"f":1.000000000000000000001,"s":"a,{b}:\\"c\\"","e":[],"o":{}}';
    expect(prettyJson(text)).toBe('{\n  "big": 12345678901234567890123,\n  "f": 1.000000000000000000001,\n  "s": "a,{b}:\\"c\\"",\n  "e": [],\n  "o": {}\n}');
    expect(detail(Kind.Json, "[1, 2]")).toBe("[\n  1,\n  2\n]");
  });

  it("keeps grid cells on one line and cuts long bytes", () => {
    expect(brief(Kind.Text, "a\nb\tc")).toBe("a↵b c");
    expect(brief(Kind.Bytes, new Uint8Array(40))).toMatch(/^\\x(00){32}… \(40 bytes\)$/);
  });

  it("writes CSV fields (RFC 4180; NULL empty) and NDJSON values (int64 beyond 2^53 as strings)", () => {
    expect(csvField(Kind.Text, 'say "hi", twice')).toBe('"say ""hi"", twice"');
    expect(csvField(Kind.Text, "")).toBe('""');
    expect(csvField(Kind.Null, null)).toBe("");
    expect(jsonValue(Kind.Int, 42n)).toBe(42);
    expect(jsonValue(Kind.Int, 9007199254740993n)).toBe("9007199254740993");
    expect(jsonValue(Kind.Float, Number.NaN)).toBe("NaN");
    expect(jsonValue(Kind.Decimal, "1.10")).toBe("1.10");
    expect(ndjsonValue(Kind.Json, '{"n": 12345678901234567890}')).toBe('{"n": 12345678901234567890}');
    expect(ndjsonValue(Kind.Text, 'a"b')).toBe('"a\\"b"');
  });
});

describe("typed input for the table view (web/src/pages/tables/values.ts)", () => {
  it("reads a column's kind from its database type", () => {
    expect(["integer", "bigint", "int8", "smallint", "bigint unsigned", "serial"].map(kindOfType)).toEqual(Array(6).fill(Kind.Int));
    expect(["numeric(10,2)", "decimal(5,0)"].map(kindOfType)).toEqual([Kind.Decimal, Kind.Decimal]);
    expect(["boolean", "timestamp with time zone", "datetime", "date", "time without time zone", "interval", "jsonb", "bytea", "blob", "text", "character varying(20)", "text[]"].map(kindOfType)).toEqual([
      Kind.Bool, Kind.Timestamp, Kind.Timestamp, Kind.Date, Kind.Time, Kind.Interval, Kind.Json, Kind.Bytes, Kind.Bytes, Kind.Text, Kind.Text, Kind.Text,
    ]);
  });

  it("turns text into exact values, and refuses what does not fit", () => {
    expect(parseInput("9223372036854775807", "bigint")).toEqual({ kind: { case: "intValue", value: 9223372036854775807n } });
    expect(parseInput("12.50", "numeric(10,2)")).toEqual({ kind: { case: "decimalValue", value: "12.50" } });
    expect(parseInput("t", "boolean")).toEqual({ kind: { case: "boolValue", value: true } });
    expect(parseInput("\\x00ff", "bytea")).toEqual({ kind: { case: "bytesValue", value: Uint8Array.from([0, 255]) } });
    expect(parseInput('{"a": 1}', "jsonb")).toEqual({ kind: { case: "jsonValue", value: '{"a": 1}' } });
    expect(parseInput(" keep spaces ", "text")).toEqual({ kind: { case: "textValue", value: " keep spaces " } });
    for (const [text, type] of [["1.5", "integer"], ["abc", "numeric"], ["maybe", "boolean"], ["0xZZ", "bytea"], ["{", "json"], ["2024-13", "date"]]) {
      expect(() => parseInput(text, type), `${text} as ${type}`).toThrow(InputError);
    }
  });
});

describe("plans as trees (web/src/pages/workspace/plan.ts)", () => {
  it("reads PostgreSQL's JSON plan with its nodes, costs and times", () => {
    const plan = JSON.stringify([
      {
        Plan: { "Node Type": "Sort", "Startup Cost": 1, "Total Cost": 2, "Plan Rows": 10, "Sort Key": ["price DESC"], Plans: [{ "Node Type": "Seq Scan", "Relation Name": "items", Alias: "items", "Startup Cost": 0, "Total Cost": 1, "Plan Rows": 10, Filter: "(price > 1)" }] },
        "Planning Time": 0.1,
        "Execution Time": 0.5,
      },
    ]);
    const { roots, summary } = parsePlan(plan, "json");
    expect(roots[0].label).toBe("Sort");
    expect(roots[0].detail).toContain("Sort Key: price DESC");
    expect(roots[0].children[0]).toMatchObject({ label: "Seq Scan on items", children: [] });
    expect(roots[0].children[0].detail).toContain("Filter: (price > 1)");
    expect(summary).toEqual(["Planning Time: 0.1 ms", "Execution Time: 0.5 ms"]);
  });

  it("reads MySQL's JSON and SQLite's lines by parent", () => {
    const my = parsePlan(JSON.stringify({ query_block: { select_id: 1, table: { table_name: "items", access_type: "ALL" } } }), "json");
    expect(my.roots[0].label).toBe("query_block");
    expect(my.roots[0].children[0].label).toBe("table items (ALL)");
    const lite = parsePlan("2|0|SCAN items\n3|2|USE TEMP B-TREE FOR ORDER BY", "text");
    expect(lite.roots).toHaveLength(1);
    expect(lite.roots[0]).toMatchObject({ label: "SCAN items", children: [{ label: "USE TEMP B-TREE FOR ORDER BY" }] });
  });
});

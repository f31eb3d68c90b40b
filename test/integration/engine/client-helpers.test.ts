// The client helpers of src/client/query.ts against the real server and PostgreSQL: executeQuery
// (rows decoded by the fast decoder) gives the same cells as the generated client (protobuf-es)
// over Connect binary, gRPC and gRPC-Web; exportRows gives the export's bytes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Value } from "../../../gen/sqlstudio/database/v1/values_pb.js";
import { ExportFormat } from "../../../gen/sqlstudio/database/v1/table_pb.js";
import { executeQuery, exportRows, type QueryEvent } from "../../../src/client/query.js";
import { Kind, type ArrayElement, type CellValue } from "../../../src/client/rows.js";
import type { AuthTestServer } from "../../support/auth.js";
import { startPostgres } from "../../support/databases.js";
import { createConnection, engineUser, run, specFor, startEngineServer, transportFor, type EngineUser, type Protocol } from "../../support/engine.js";

let server: AuthTestServer;
let u: EngineUser;
let id: string;

beforeAll(async () => {
  const [pg, s] = await Promise.all([startPostgres(), startEngineServer()]);
  server = s;
  u = await engineUser(server, "helpers", "connect-binary");
  id = await createConnection(u, specFor(pg));
  await run(u, id, "DROP TABLE IF EXISTS helper_export; CREATE TABLE helper_export (id int PRIMARY KEY, name text); INSERT INTO helper_export VALUES (1, 'a,b'), (2, 'zoë')");
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

const KIND_OF: Record<string, number> = { nullValue: 1, boolValue: 2, intValue: 3, floatValue: 4, decimalValue: 5, textValue: 6, bytesValue: 7, timestampValue: 8, dateValue: 9, timeValue: 10, intervalValue: 11, jsonValue: 12, arrayValue: 13 };
const viaProtobufEs = (v: Value): unknown[] =>
  v.kind.case === "nullValue"
    ? [1, null]
    : v.kind.case === "arrayValue" ? [13, v.kind.value.values.map(viaProtobufEs)] : v.kind.case === "bytesValue" ? [7, Buffer.from(v.kind.value).toString("hex")] : [KIND_OF[v.kind.case!], v.kind.value ?? null];
const viaFast = (kind: number, v: CellValue): unknown[] =>
  kind === Kind.Array ? [13, (v as ArrayElement[]).map((e) => viaFast(e.kind, e.value))] : kind === Kind.Bytes ? [7, Buffer.from(v as Uint8Array).toString("hex")] : [kind, v];

const SQL = `
  SELECT 9223372036854775807::int8 AS big, '-9223372036854775808'::int8 AS small, 12345678901234567890.0123456789::numeric AS dec,
         0.1::float8 AS f, true AS b, 'zoë 🙂'::text AS t, '\\x00ff'::bytea AS bin, '2024-02-29 12:00:00+05:30'::timestamptz AS ts,
         '2024-02-29'::date AS d, '1 day 02:00'::interval AS i, '{"a": [1, "ü"]}'::jsonb AS j, ARRAY[1, NULL, 3]::int8[] AS arr, NULL::text AS n
  FROM generate_series(1, 2500);
  SELECT 1 AS one`;

async function collect(protocol: Protocol) {
  const events: QueryEvent[] = [];
  for await (const e of executeQuery(transportFor(server.url, u.token, protocol), { connectionId: id, sql: SQL })) events.push(e);
  return events;
}

describe("executeQuery (fast decoder) agrees with the generated client", () => {
  for (const protocol of ["connect-binary", "grpc", "grpc-web"] as const) {
    it(`over ${protocol}: started first, one header and footer per statement, the same cells`, async () => {
      const [events, expected] = await Promise.all([collect(protocol), run(u, id, SQL)]);
      expect(events[0]).toMatchObject({ case: "started", statementCount: 2 });
      expect(events.filter((e) => e.case === "header").map((e) => e.case === "header" && e.columns.map((c) => c.name))).toEqual(expected.map((s) => s.columns.map((c) => c.name)));
      const footers = events.filter((e) => e.case === "footer");
      expect(footers.map((f) => f.case === "footer" && [f.statementIndex, f.rowCount])).toEqual([
        [0, 2500n],
        [1, 1n],
      ]);
      for (let s = 0; s < expected.length; s++) {
        const rows: unknown[][] = [];
        for (const e of events) {
          if (e.case !== "rows" || e.statementIndex !== s) continue;
          for (let r = 0; r < e.rowCount; r++) rows.push(e.columns.map((c) => viaFast(c.kinds[r], c.values[r])));
        }
        expect(rows).toEqual(expected[s].rows.map((r) => r.map(viaProtobufEs)));
      }
    });
  }

  it("over Connect JSON the raw view cannot read the batches: the call fails instead of giving wrong rows", async () => {
    const consume = async () => {
      for await (const _ of executeQuery(transportFor(server.url, u.token, "connect"), { connectionId: id, sql: "SELECT 1" }));
    };
    await expect(consume()).rejects.toThrow(/rows/);
  });
});

describe("exportRows", () => {
  it("yields the export's bytes in order", async () => {
    const chunks: Uint8Array[] = [];
    for await (const c of exportRows(transportFor(server.url, u.token, "connect-binary"), { table: { connectionId: id, table: "helper_export" }, format: ExportFormat.CSV })) chunks.push(c);
    expect(Buffer.concat(chunks).toString("utf8")).toBe('id,name\r\n1,"a,b"\r\n2,zoë\r\n');
  });
});

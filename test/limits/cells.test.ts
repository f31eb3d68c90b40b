/**
 * One cell cannot kill the process (issue 18 item 3): a cell or row over ENGINE_MAX_CELL_BYTES ends
 * the statement with ResourceExhausted naming the column, before anything is encoded, on every
 * engine and over both encodings; the server keeps serving and refused cells do not pile up. The real
 * server runs as its own process with a 4 MiB cap (MariaDB's max_allowed_packet is 16 MB).
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { startMariadb, startPostgres } from "../support/databases.js";
import { clientsFor, specFor, sqliteSpec, type EngineClients } from "../support/engine.js";
import { executeOutcome, limitServer, limitUser, rssMb } from "../support/limits.js";
import type { ChildServer } from "../support/server.js";

const CAP = 4 * 1024 * 1024;
let server: ChildServer;
let clients: Record<"json" | "binary", EngineClients>;
const profiles: Partial<Record<"postgresql" | "mariadb" | "sqlite", string>> = {};
let mariadbMissing = "";

beforeAll(async () => {
  const pg = await (await startPostgres()).createDatabase("cells_test");
  const maria = await startMariadb();
  server = await limitServer({ ENGINE_MAX_CELL_BYTES: String(CAP) });
  const u = await limitUser(server, "cells");
  clients = { json: u, binary: clientsFor(server.url, u.token, "connect-binary") };
  profiles.postgresql = (await u.connections.createConnection({ spec: specFor(pg) })).connection!.id;
  profiles.sqlite = (await u.connections.createConnection({ spec: sqliteSpec("cells.db") })).connection!.id;
  if ("unavailable" in maria) mariadbMissing = maria.unavailable;
  else profiles.mariadb = (await u.connections.createConnection({ spec: specFor(await maria.createDatabase("cells_test")) })).connection!.id;
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

const SQL = {
  postgresql: { big: "SELECT 1 AS id, repeat('x', 20000000) AS payload", huge: "SELECT 1 AS id, repeat('x', 300000000) AS payload", row: "SELECT repeat('a', 3000000) AS a, repeat('b', 3000000) AS b", fits: "SELECT repeat('x', 3000000) AS payload" },
  mariadb: { big: "SELECT 1 AS id, repeat('x', 8000000) AS payload", row: "SELECT repeat('a', 3000000) AS a, repeat('b', 3000000) AS b", fits: "SELECT repeat('x', 3000000) AS payload" },
  sqlite: { big: "SELECT 1 AS id, zeroblob(20000000) AS payload", huge: "SELECT 1 AS id, zeroblob(200000000) AS payload", row: "SELECT zeroblob(3000000) AS a, zeroblob(3000000) AS b", fits: "SELECT zeroblob(3000000) AS payload" },
} as const;

for (const engine of ["postgresql", "mariadb", "sqlite"] as const) {
  group(engine, () => {
    for (const encoding of ["json", "binary"] as const) {
      it(`a cell over ENGINE_MAX_CELL_BYTES ends the statement with ResourceExhausted naming the column (${encoding}); a cell under it arrives whole`, async (ctx) => {
        if (engine === "mariadb" && mariadbMissing) return ctx.skip(mariadbMissing);
        const connectionId = profiles[engine]!;
        const c = clients[encoding];
        const big = await executeOutcome(c, { connectionId, sql: SQL[engine].big }, { limitMs: 60_000 });
        expect(big).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "CELL_TOO_LARGE", field: "payload", rows: 0 });
        expect(big.metadata).toMatchObject({ limit: "ENGINE_MAX_CELL_BYTES", max: String(CAP) });
        const row = await executeOutcome(c, { connectionId, sql: SQL[engine].row }, { limitMs: 30_000 });
        expect(row).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "CELL_TOO_LARGE", field: "b" });
        // The server keeps serving, and a cell under the cap is read whole.
        const fits = await executeOutcome(c, { connectionId, sql: SQL[engine].fits }, { limitMs: 30_000 });
        expect(fits).toMatchObject({ ok: true, rows: 1 });
      }, 120_000);
    }
  });
}

it("refused cells do not accumulate: PostgreSQL's never reaches the process, SQLite's waits for V8's next collection", async () => {
  const pid = server.child.pid!;
  const c = clients.binary;
  await executeOutcome(c, { connectionId: profiles.sqlite!, sql: "SELECT 1" });
  const base = rssMb(pid);
  expect((await executeOutcome(c, { connectionId: profiles.postgresql!, sql: SQL.postgresql.huge })).reason).toBe("CELL_TOO_LARGE");
  const afterPg = rssMb(pid);
  // libsql gives JavaScript the whole value before it can be refused (SQLite has no length limit
  // a connection can set); refused values are garbage at once, and V8 keeps at most about two
  // such buffers before it collects.
  let peak = afterPg;
  for (let i = 0; i < 3; i++) {
    expect((await executeOutcome(c, { connectionId: profiles.sqlite!, sql: SQL.sqlite.huge })).reason).toBe("CELL_TOO_LARGE");
    peak = Math.max(peak, rssMb(pid));
  }
  expect((await executeOutcome(c, { connectionId: profiles.sqlite!, sql: "SELECT 1" })).ok).toBe(true);
  console.log(`cells: RSS ${Math.round(base)} MB before, ${Math.round(afterPg)} MB after a refused 300 MB PostgreSQL cell, peak ${Math.round(peak)} MB over three refused 200 MB SQLite cells, ${Math.round(rssMb(pid))} MB at the end`);
  expect(afterPg - base).toBeLessThan(50);
  expect(peak - base).toBeLessThan(450);
}, 180_000);

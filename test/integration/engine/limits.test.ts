/** Per-user limits of the engine: stored profiles, and pools held open in one instance. */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AuthTestServer } from "../../support/auth.js";
import { createConnection, engineUser, run, sqliteSpec, startEngineServer, type EngineUser } from "../../support/engine.js";
import { expectRpcError, rpcCode } from "../../support/rpc.js";

let server: AuthTestServer;
let u: EngineUser;

beforeAll(async () => {
  server = await startEngineServer({ ENGINE_POOLS_PER_USER: "2", ENGINE_MAX_CONNECTIONS_PER_USER: "3" });
  u = await engineUser(server, "limits");
});
afterAll(async () => {
  await server?.stop();
});

const ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

it("stores at most ENGINE_MAX_CONNECTIONS_PER_USER profiles per user", async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await createConnection(u, sqliteSpec(`l${i}.db`)));
  await expectRpcError(u.connections.createConnection({ spec: sqliteSpec("l3.db") }), Code.ResourceExhausted);
  // Another user is not affected.
  const other = await engineUser(server, "limits-b");
  await createConnection(other, sqliteSpec("mine.db"));
  for (const id of ids) await u.connections.deleteConnection({ id });
});

it("holds at most ENGINE_POOLS_PER_USER pools: an idle one is closed for a new one, busy ones are never taken", async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await createConnection(u, sqliteSpec(`p${i}.db`)));
  for (const id of ids) await run(u, id, "SELECT 1");
  const open = await Promise.all(ids.map(async (id) => (await u.connections.getConnectionHealth({ id })).poolOpen));
  // The least recently used pool (the first) was closed to open the third.
  expect(open).toEqual([false, true, true]);

  // Two queries keep two pools busy: a third profile cannot get a pool until one ends.
  const busy = ids.slice(1).map((id, i) => {
    const queryId = `busy-${i}`;
    return { queryId, done: rpcCode(run(u, id, ENDLESS, { queryId })) };
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(await rpcCode(run(u, ids[0], "SELECT 1"))).toBe(Code.ResourceExhausted);
  for (const b of busy) expect((await u.queries.cancelQuery({ queryId: b.queryId })).canceled).toBe(true);
  for (const b of busy) expect(await b.done).toBe(Code.Canceled);
  expect((await run(u, ids[0], "SELECT 1"))[0].rows).toHaveLength(1);
});

it("a request waiting for a pooled SQLite connection gets one when a busy one is closed instead of returned", async () => {
  const small = await startEngineServer({ ENGINE_POOL_MAX: "2" });
  try {
    const v = await engineUser(small, "limits-pool");
    const id = await createConnection(v, sqliteSpec("waiters.db"));
    // PRAGMA changes the session: both busy connections are closed, not pooled, when they finish.
    const busy = "PRAGMA cache_size = 100; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000) SELECT count(*) FROM c";
    const first = run(v, id, busy);
    const second = run(v, id, busy);
    await new Promise((r) => setTimeout(r, 50));
    const third = run(v, id, "SELECT 3");
    const [a, b] = await Promise.all([first, second]);
    expect([a[1].rows.length, b[1].rows.length]).toEqual([1, 1]);
    const r = await Promise.race([third, new Promise<"stuck">((resolve) => setTimeout(resolve, 10_000, "stuck"))]);
    expect(r).not.toBe("stuck");
    expect((await v.connections.getConnectionHealth({ id })).max).toBe(2);
  } finally {
    await small.stop();
  }
});

it("refuses SQL longer than ENGINE_MAX_SQL_BYTES (default 1 MiB) with InvalidArgument SQL_TOO_LARGE naming sql, before splitting it", async () => {
  const v = await engineUser(server, "limits-sql");
  const id = await createConnection(v, sqliteSpec("big-sql.db"));
  // Multi-byte characters count as their UTF-8 bytes: 350,000 × 3 bytes is over 1 MiB.
  for (const sql of [`SELECT '${"x".repeat(1024 * 1024)}'`, `SELECT '${"€".repeat(350_000)}'`]) {
    // Each call made and awaited in turn: both made first, the second's refusal could land before anything awaited it.
    for (const call of [() => run(v, id, sql), () => v.queries.explainQuery({ connectionId: id, sql })]) {
      await expectRpcError(call, Code.InvalidArgument, "SQL_TOO_LARGE", "sql");
    }
  }
  // Just under the cap still runs.
  expect((await run(v, id, `SELECT length('${"x".repeat(1024 * 1024 - 100)}')`))[0].rows).toHaveLength(1);
});

/**
 * One user cannot take every stream or database connection of an instance (issue 18 items 4 and 7):
 * ExecuteQuery and ExportRows streams per user, open database connections per user (across all
 * their pools) and per target host (all users) are capped; over a cap is ResourceExhausted naming
 * the limit, counted in engine_limits_total; idle connections are closed to make room.
 */
import { Code } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { ExportFormat } from "../../gen/sqlstudio/database/v1/table_pb.js";
import type { AuthTestServer } from "../support/auth.js";
import { startPostgres, type ServerInfo } from "../support/databases.js";
import { createConnection, engineUser, run, specFor, startEngineServer, type EngineUser } from "../support/engine.js";
import { describe, eventually, executeOutcome } from "../support/limits.js";

let db: ServerInfo;
let server: AuthTestServer;

beforeAll(async () => {
  db = await (await startPostgres()).createDatabase("engine_caps");
  server = await startEngineServer({
    ENGINE_MAX_OPEN_CONNECTIONS_PER_USER: "3",
    ENGINE_MAX_CONNECTIONS_PER_HOST: "5",
    ENGINE_POOL_MAX: "5",
  });
  const setup = await engineUser(server, "caps-setup");
  const id = await createConnection(setup, specFor(db));
  await run(setup, id, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)");
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

const limitHits = async (limit: string, on = server) => {
  const text = await on.metrics.registry.getSingleMetricAsString("engine_limits_total");
  const line = text.split("\n").find((l) => l.includes(`limit="${limit}"`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
};

/** A statement that runs until canceled, and its cancel. */
function sleeper(u: EngineUser, connectionId: string, queryId: string) {
  const done = executeOutcome(u, { connectionId, sql: "SELECT pg_sleep(30)", queryId }, { limitMs: 40_000 });
  return { done, stop: () => u.queries.cancelQuery({ queryId }).catch(() => undefined) };
}
/** Waits until `n` sleepers run on the database (seen from a connection of the test's own). */
const running = async (n: number) => {
  const watcher = new pg.Client(db);
  await watcher.connect();
  try {
    return await eventually(async () => {
      const r = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'");
      return r.rows[0].n >= n;
    }, 10_000, 100);
  } finally {
    await watcher.end();
  }
};

group("streams per user", () => {
  it("a third ExecuteQuery or ExportRows of a user is ResourceExhausted naming ENGINE_MAX_STREAMS_PER_USER; another user is not affected", async () => {
    const small = await startEngineServer({ ENGINE_MAX_STREAMS_PER_USER: "2" });
    try {
      const u = await engineUser(small, "caps-streams");
      const id = await createConnection(u, specFor(db));
      const before = await limitHits("ENGINE_MAX_STREAMS_PER_USER", small);
      const a = sleeper(u, id, "s1");
      const b = sleeper(u, id, "s2");
      expect(await running(2)).toBe(true);
      const third = await executeOutcome(u, { connectionId: id, sql: "SELECT 1" });
      expect(third).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "TOO_MANY_STREAMS", metadata: { limit: "ENGINE_MAX_STREAMS_PER_USER", max: "2" } });
      const exported = await (async () => {
        for await (const _ of u.tables.exportRows({ table: { connectionId: id, table: "t" }, format: ExportFormat.CSV })) void _;
      })().then(() => ({ ok: true }), describe);
      expect(exported).toMatchObject({ code: Code.ResourceExhausted, reason: "TOO_MANY_STREAMS" });
      expect(await limitHits("ENGINE_MAX_STREAMS_PER_USER", small)).toBe(before + 2);
      // Someone else runs at once.
      const other = await engineUser(small, "caps-other");
      expect((await executeOutcome(other, { connectionId: await createConnection(other, specFor(db)), sql: "SELECT 1" })).ok).toBe(true);
      await a.stop();
      await b.stop();
      await Promise.all([a.done, b.done]);
      expect((await executeOutcome(u, { connectionId: id, sql: "SELECT 1" })).ok).toBe(true);
    } finally {
      await small.stop();
    }
  }, 60_000);
});

group("open database connections", () => {
  it("a user holds at most ENGINE_MAX_OPEN_CONNECTIONS_PER_USER connections across pools; idle ones are closed to make room", async () => {
    const u = await engineUser(server, "caps-conns");
    const [p1, p2, p3, p4] = await Promise.all(["one", "two", "three", "four"].map((name) => createConnection(u, specFor(db, { name }))));
    // Idle connections on the first profile...
    expect((await executeOutcome(u, { connectionId: p1, sql: "SELECT 1" })).ok).toBe(true);
    expect((await u.connections.getConnectionHealth({ id: p1 })).total).toBeGreaterThan(0);
    // ...are closed when other profiles need the room: three busy connections elsewhere.
    // One at a time: each pool's first statement also looks its column types up on a second
    // connection for a moment, which the next one may then close.
    const busy = [];
    for (const [i, id] of [p2, p3, p4].entries()) {
      busy.push(sleeper(u, id, `c${i}`));
      expect(await running(i + 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect((await u.connections.getConnectionHealth({ id: p1 })).total).toBe(0);
    // A fourth connection is refused, whichever profile asks.
    const before = await limitHits("ENGINE_MAX_OPEN_CONNECTIONS_PER_USER");
    const out = await executeOutcome(u, { connectionId: p1, sql: "SELECT 1" });
    expect(out).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "TOO_MANY_DATABASE_CONNECTIONS", metadata: { limit: "ENGINE_MAX_OPEN_CONNECTIONS_PER_USER", max: "3" } });
    expect(await limitHits("ENGINE_MAX_OPEN_CONNECTIONS_PER_USER")).toBeGreaterThan(before);
    for (const s of busy) await s.stop();
    await Promise.all(busy.map((s) => s.done));
    expect((await executeOutcome(u, { connectionId: p1, sql: "SELECT 1" })).ok).toBe(true);
  }, 60_000);

  it("at most ENGINE_MAX_CONNECTIONS_PER_HOST connections go to one database host, all users together", async () => {
    const users = await Promise.all([0, 1, 2, 3].map((i) => engineUser(server, `caps-host-${i}`)));
    const ids = await Promise.all(users.map((u) => createConnection(u, specFor(db))));
    const sleepers = [];
    for (const [n, [i, q]] of ([[0, "h1"], [0, "h2"], [1, "h3"], [1, "h4"], [2, "h5"]] as const).entries()) {
      sleepers.push(sleeper(users[i], ids[i], q));
      expect(await running(n + 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
    }
    const out = await executeOutcome(users[3], { connectionId: ids[3], sql: "SELECT 1" });
    expect(out).toMatchObject({ ok: false, code: Code.ResourceExhausted, reason: "TOO_MANY_HOST_CONNECTIONS", metadata: { limit: "ENGINE_MAX_CONNECTIONS_PER_HOST", max: "5" } });
    const gauge = await server.metrics.registry.getSingleMetricAsString("engine_connections");
    expect(Number(gauge.trim().split("\n").pop()!.split(" ").pop())).toBe(5);
    for (const s of sleepers) await s.stop();
    await Promise.all(sleepers.map((s) => s.done));
  }, 60_000);
});

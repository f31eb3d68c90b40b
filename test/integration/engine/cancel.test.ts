/**
 * Cancel, abort and deadline stop the statement in the database itself (gone from
 * pg_stat_activity / the process list within 1 s; SQLite interrupted), and a client that reads
 * slowly makes the server stop fetching from the database.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import http from "node:http";
import http2 from "node:http2";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecuteQueryRequestSchema } from "../../../gen/sqlstudio/database/v1/query_pb.js";
import type { AuthTestServer } from "../../support/auth.js";
import { startMariadb, startPostgres, type DatabaseServer, type ServerInfo } from "../../support/databases.js";
import { collect, createConnection, engineUser, run, specFor, sqliteSpec, startEngineServer, type EngineUser, type StatementResult } from "../../support/engine.js";
import { expectRpcError, rpcCode } from "../../support/rpc.js";

let server: AuthTestServer;
let u: EngineUser;
let pgDb: ServerInfo;
let myDb: ServerInfo | undefined;
// Started while the file is collected, so a missing MariaDB skips its tests by name, with the reason.
const maria = await startMariadb();
const myUnavailable = "unavailable" in maria ? maria.unavailable : "";
let pgAdmin: pg.Client;
let myAdmin: mysql.Connection | undefined;
const ids: Record<string, string> = {};

const conn = (s: ServerInfo) => ({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "cancel");
  const p = await startPostgres();
  pgDb = await p.createDatabase("cancel_test");
  pgAdmin = new pg.Client(conn(pgDb));
  await pgAdmin.connect();
  ids.postgresql = await createConnection(u, specFor(pgDb));
  if (!("unavailable" in maria)) {
    myDb = await (maria as DatabaseServer).createDatabase("cancel_test");
    myAdmin = await mysql.createConnection(conn(myDb));
    ids.mysql = await createConnection(u, specFor(myDb));
  }
  ids.sqlite = await createConnection(u, sqliteSpec("cancel.db"));
});

afterAll(async () => {
  await pgAdmin?.end();
  await myAdmin?.end();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}

/** Whether a statement carrying `marker` is running in the database. */
const running: Record<"postgresql" | "mysql", (marker: string) => Promise<boolean>> = {
  postgresql: async (marker) => {
    const r = await pgAdmin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${marker}%`]);
    return r.rows[0].n > 0;
  },
  mysql: async (marker) => {
    const [rows] = await myAdmin!.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()", [`%${marker}%`]);
    return Number((rows as { n: number }[])[0].n) > 0;
  },
};
const SLEEP = { postgresql: "SELECT pg_sleep(30)", mysql: "SELECT SLEEP(30)" };

/** Starts a long query and returns how its stream ended (a Connect code, or "ok"). */
function start(engine: string, sql: string, opts: { queryId?: string; signal?: AbortSignal; timeoutMs?: number; requestTimeoutMs?: number } = {}) {
  const results: StatementResult[] = [];
  const ended = (async () => {
    try {
      for await (const m of u.queries.executeQuery(
        { connectionId: ids[engine], sql, queryId: opts.queryId, timeoutMs: BigInt(opts.requestTimeoutMs ?? 0) },
        { signal: opts.signal, timeoutMs: opts.timeoutMs },
      )) {
        collect(results, m);
      }
      return "ok" as const;
    } catch (err) {
      return ConnectError.from(err).code;
    }
  })();
  return { ended, results };
}

describe.each(["postgresql", "mysql"] as const)("%s: the statement stops in the database", (engine) => {

  it.skipIf(engine === "mysql" && myUnavailable !== "")(`by CancelQuery${myUnavailable && engine === "mysql" ? ` (skipped: ${myUnavailable})` : ""}`, async () => {
    const marker = `m${randomUUID().replace(/-/g, "")}`;
    const queryId = `q-${marker}`;
    const q = start(engine, `${SLEEP[engine]} /* ${marker} */`, { queryId });
    await until(() => running[engine](marker), 10_000);
    const t0 = Date.now();
    expect((await u.queries.cancelQuery({ queryId })).canceled).toBe(true);
    const gone = await until(async () => !(await running[engine](marker)), 1_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(gone).toBeLessThan(1_000);
    expect(await q.ended).toBe(Code.Canceled);
    // The session it ran on is usable again.
    const r = await run(u, ids[engine], "SELECT 1");
    expect(r[0].rows).toHaveLength(1);
  });

  it.skipIf(engine === "mysql" && myUnavailable !== "")(`by CancelQuery with the server-made id of the first event${myUnavailable && engine === "mysql" ? ` (skipped: ${myUnavailable})` : ""}`, async () => {
    const marker = `m${randomUUID().replace(/-/g, "")}`;
    const stream = u.queries.executeQuery({ connectionId: ids[engine], sql: `${SLEEP[engine]} /* ${marker} */` })[Symbol.asyncIterator]();
    // The first event names the query before its only statement returns.
    const first = await stream.next();
    expect(first.done).toBe(false);
    const started = first.value!.event;
    expect(started.case).toBe("started");
    if (started.case !== "started") return;
    expect(started.value.queryId).not.toBe("");
    expect(started.value.statementCount).toBe(1);
    await until(() => running[engine](marker), 10_000);
    expect((await u.queries.cancelQuery({ queryId: started.value.queryId })).canceled).toBe(true);
    expect(await until(async () => !(await running[engine](marker)), 1_000)).toBeLessThan(1_000);
    expect(await rpcCode(stream.next())).toBe(Code.Canceled);
  });

  it.skipIf(engine === "mysql" && myUnavailable !== "")(`by a client abort${myUnavailable && engine === "mysql" ? ` (skipped: ${myUnavailable})` : ""}`, async () => {
    const marker = `m${randomUUID().replace(/-/g, "")}`;
    const ac = new AbortController();
    const q = start(engine, `${SLEEP[engine]} /* ${marker} */`, { signal: ac.signal });
    await until(() => running[engine](marker), 10_000);
    ac.abort();
    expect(await q.ended).toBe(Code.Canceled);
    expect(await until(async () => !(await running[engine](marker)), 1_000)).toBeLessThan(1_000);
  });

  it.skipIf(engine === "mysql" && myUnavailable !== "")(`by the RPC deadline and by timeout_ms${myUnavailable && engine === "mysql" ? ` (skipped: ${myUnavailable})` : ""}`, async () => {
    for (const how of ["deadline", "timeout_ms"] as const) {
      const marker = `m${randomUUID().replace(/-/g, "")}`;
      const q = start(engine, `${SLEEP[engine]} /* ${marker} */`, how === "deadline" ? { timeoutMs: 1_500 } : { requestTimeoutMs: 1_500 });
      await until(() => running[engine](marker), 10_000);
      expect(await q.ended).toBe(Code.DeadlineExceeded);
      expect(await until(async () => !(await running[engine](marker)), 1_000)).toBeLessThan(1_000);
    }
  });

  it.skipIf(engine === "mysql" && myUnavailable !== "")(`CancelQuery of an unknown or finished id answers NotFound${myUnavailable && engine === "mysql" ? ` (skipped: ${myUnavailable})` : ""}`, async () => {
    const queryId = `done-${randomUUID()}`;
    await run(u, ids[engine], "SELECT 1", { queryId });
    for (const id of [queryId, `never-${randomUUID()}`]) {
      await expectRpcError(u.queries.cancelQuery({ queryId: id }), Code.NotFound);
    }
  });
});

describe("sqlite: a running statement is interrupted", () => {
  // Counting an endless recursive CTE never returns a row: only an interrupt ends it.
  const ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

  it("by CancelQuery", async () => {
    const queryId = `q-${randomUUID()}`;
    const q = start("sqlite", ENDLESS, { queryId });
    await sleep(300);
    const t0 = Date.now();
    expect((await u.queries.cancelQuery({ queryId })).canceled).toBe(true);
    expect(await q.ended).toBe(Code.Canceled);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await run(u, ids.sqlite, "SELECT 1"))[0].rows).toHaveLength(1);
  });

  it("by the deadline and by a client abort", async () => {
    const t0 = Date.now();
    expect(await start("sqlite", ENDLESS, { timeoutMs: 700 }).ended).toBe(Code.DeadlineExceeded);
    expect(Date.now() - t0).toBeLessThan(1_700);
    const ac = new AbortController();
    const q = start("sqlite", ENDLESS, { signal: ac.signal });
    await sleep(300);
    const t1 = Date.now();
    ac.abort();
    expect(await q.ended).toBe(Code.Canceled);
    expect(Date.now() - t1).toBeLessThan(1_000);
    // The server's side is free again: a new query runs at once.
    expect((await run(u, ids.sqlite, "SELECT 2"))[0].rows).toHaveLength(1);
  });
});

/**
 * A raw client that reads the first ~100 KB of an ExecuteQuery stream and then stops reading
 * (HTTP/1.1 Connect, or HTTP/2 gRPC with its flow control). connect-node's own client reads
 * ahead into memory, so it cannot show what the server does when a reader stalls.
 */
async function stalledReader(protocol: "connect-h1" | "grpc-h2", connectionId: string, sql: string) {
  const msg = toBinary(ExecuteQueryRequestSchema, create(ExecuteQueryRequestSchema, { connectionId, sql, maxRows: 10_000_000n }));
  const envelope = Buffer.alloc(5 + msg.length);
  envelope.writeUInt32BE(msg.length, 1);
  Buffer.from(msg).copy(envelope, 5);
  const path = "/sqlstudio.database.v1.QueryService/ExecuteQuery";
  let received = 0;
  if (protocol === "connect-h1") {
    const req = http.request(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/connect+proto", authorization: `Bearer ${u.token}` } });
    req.end(envelope);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on("response", resolve));
    await new Promise<void>((resolve) =>
      res.on("data", (d: Buffer) => {
        received += d.length;
        if (received > 100_000) {
          res.pause();
          resolve();
        }
      }),
    );
    return { received: () => received, close: () => res.destroy() };
  }
  const session = http2.connect(server.url);
  session.on("error", () => undefined);
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc+proto", te: "trailers", authorization: `Bearer ${u.token}` });
  stream.on("error", () => undefined);
  stream.end(envelope);
  await new Promise<void>((resolve) =>
    stream.on("data", (d: Buffer) => {
      received += d.length;
      if (received > 100_000) {
        stream.pause();
        resolve();
      }
    }),
  );
  return {
    received: () => received,
    close: () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
    },
  };
}

describe.each(["connect-h1", "grpc-h2"] as const)("backpressure (%s): a reader that stops makes the server stop fetching", (protocol) => {
  const TOTAL = 1_000_000;

  /** Samples how far the database got while the reader stalls; then the reader goes away. */
  async function stall(engine: string, sql: string, progress: () => Promise<number>, gone: () => Promise<boolean>) {
    const reader = await stalledReader(protocol, ids[engine], sql);
    // Socket and flow-control buffers fill first; after that nothing more may be fetched.
    await sleep(1_500);
    const a = await progress();
    await sleep(1_500);
    const b = await progress();
    const bytes = reader.received();
    reader.close();
    // The query of a reader that went away is stopped and its session returned.
    const stoppedIn = await until(gone, 2_000);
    return { a, b, bytes, stoppedIn };
  }

  it("postgresql: rows produced (nextval per fetched row) stay put while the reader stalls", async () => {
    const seq = `bp_${protocol.replace("-", "_")}`;
    await pgAdmin.query(`DROP SEQUENCE IF EXISTS ${seq}; CREATE SEQUENCE ${seq}`);
    const marker = `m${randomUUID().replace(/-/g, "")}`;
    const r = await stall(
      "postgresql",
      `SELECT g, nextval('${seq}'), repeat('x', 200) FROM generate_series(1, ${TOTAL}) g /* ${marker} */`,
      async () => Number((await pgAdmin.query(`SELECT last_value FROM ${seq}`)).rows[0].last_value),
      async () => !(await running.postgresql(marker)),
    );
    console.log(`postgresql backpressure (${protocol}): ${r.a} then ${r.b} of ${TOTAL} rows fetched while stalled; client read ${r.bytes} bytes; stopped ${r.stoppedIn} ms after the reader left`);
    expect(r.a).toBeGreaterThan(0);
    expect(r.b).toBe(r.a);
    expect(r.b).toBeLessThan(TOTAL / 10);
  }, 60_000);

  it.skipIf(myUnavailable !== "")(`mysql: rows produced (NEXTVAL per sent row) stay put while the reader stalls${myUnavailable ? ` (skipped: ${myUnavailable})` : ""}`, async () => {
    const seq = `bp_${protocol.replace("-", "_")}`;
    await myAdmin!.query(`DROP SEQUENCE IF EXISTS ${seq}`);
    await myAdmin!.query(`CREATE SEQUENCE ${seq} NOCACHE`);
    const marker = `m${randomUUID().replace(/-/g, "")}`;
    const r = await stall(
      "mysql",
      `SELECT seq, NEXTVAL(${seq}), REPEAT('x', 200) FROM seq_1_to_${TOTAL} /* ${marker} */`,
      async () => {
        const [rows] = await myAdmin!.query(`SELECT next_not_cached_value AS v FROM ${seq}`);
        return Number((rows as { v: number }[])[0].v);
      },
      async () => !(await running.mysql(marker)),
    );
    console.log(`mysql backpressure (${protocol}): ${r.a} then ${r.b} of ${TOTAL} rows produced while stalled; client read ${r.bytes} bytes; stopped ${r.stoppedIn} ms after the reader left`);
    expect(r.a).toBeGreaterThan(1);
    expect(r.b).toBe(r.a);
    expect(r.b).toBeLessThan(TOTAL / 10);
  }, 60_000);
});

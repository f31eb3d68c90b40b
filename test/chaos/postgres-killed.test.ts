/**
 * Chaos (issue 14.11): PostgreSQL killed in the middle of a stream. The backend serving an
 * ExecuteQuery stream is SIGKILLed; PostgreSQL then ends every connection and recovers on its own
 * (crash recovery). The stream ends Unavailable with a reason (never Internal, never a hang), the
 * server stays up, and once PostgreSQL is back the same profile runs queries again without a
 * restart (the pool does not hand out the dead connections).
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthTestServer } from "../support/auth.js";
import { startPostgres, type ServerInfo } from "../support/databases.js";
import { cell, createConnection, engineUser, run, specFor, startEngineServer, type EngineUser } from "../support/engine.js";
import { errorInfoOf } from "../support/rpc.js";

let server: AuthTestServer;
let u: EngineUser;
let db: ServerInfo;
let connectionId: string;
const isRoot = process.getuid?.() === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const c = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
};

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "pgkill");
  db = await (await startPostgres()).createDatabase("chaos_killed");
  connectionId = await createConnection(u, specFor(db));
});

afterAll(async () => {
  await server?.stop();
});

// Killing PostgreSQL's backend needs the right to signal the postgres OS user's processes.
describe.skipIf(!isRoot)("PostgreSQL killed in the middle of a stream", () => {
  it("the stream ends Unavailable with a reason, the server serves on, and the profile works again once PostgreSQL has recovered", async () => {
    const marker = `chaos_${randomUUID().replaceAll("-", "")}`;
    const stream = u.queries
      .executeQuery({ connectionId, sql: `SELECT g AS ${marker}, md5(g::text) FROM generate_series(1, 100000000) g`, timeoutMs: 120_000n })
      [Symbol.asyncIterator]();
    // Rows are flowing before the kill.
    let rows = 0;
    while (rows === 0) {
      const next = await stream.next();
      expect(next.done).toBe(false);
      if (next.value.event.case === "rows") rows += next.value.event.value.rows.length;
    }
    const pid = await admin(async (c) => {
      const r = await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()", [`%${marker}%`]);
      return r.rows[0]?.pid;
    });
    expect(pid, "the stream's backend in pg_stat_activity").toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");

    // The rest of the stream: it ends, in time, with Unavailable.
    const t0 = performance.now();
    const ended = await (async () => {
      try {
        for (;;) if ((await stream.next()).done) return undefined;
      } catch (e) {
        return ConnectError.from(e);
      }
    })();
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(ended, "the stream must not end as if complete").toBeInstanceOf(ConnectError);
    expect(Code[ended!.code]).toBe(Code[Code.Unavailable]);
    expect(errorInfoOf(ended)?.reason ?? "").not.toBe("");

    // The server itself is fine meanwhile.
    const health = await fetch(new URL("/health", server.url));
    expect(health.status).toBe(200);

    // PostgreSQL recovers by itself; then the same profile answers again, without a server restart.
    let answered: string | undefined;
    const deadline = Date.now() + 60_000;
    const codes: string[] = [];
    while (!answered && Date.now() < deadline) {
      try {
        const results = await run(u, connectionId, "SELECT 41 + 1 AS answer");
        answered = String(cell(results[0].rows[0][0])[1]);
      } catch (e) {
        const ce = ConnectError.from(e);
        codes.push(Code[ce.code]);
        // While PostgreSQL restarts the server says so: Unavailable, never Internal.
        expect(Code[ce.code], ce.rawMessage).toBe(Code[Code.Unavailable]);
        await sleep(500);
      }
    }
    expect(answered, `no answer within 60 s after the kill (refusals meanwhile: ${codes.join(", ")})`).toBe("42");
  }, 120_000);
});

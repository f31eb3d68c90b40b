/**
 * CancelQuery across instances: behind Cloud Run's load balancer a cancel may reach another
 * instance than the one streaming the query. Two server processes on one database file; a query
 * runs on A, CancelQuery goes to B: the statement is gone from pg_stat_activity within 1 s and A's
 * stream ends Canceled. Another user cancelling through B gets NotFound and changes nothing.
 */
import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { authEnv, login, registerAndLogin } from "../../support/auth.js";
import { startPostgres, type ServerInfo } from "../../support/databases.js";
import { clientsFor, specFor, type EngineClients } from "../../support/engine.js";
import { spawnInstances, type ChildServer, type Instances } from "../../support/server.js";
import { rpcCode } from "../../support/rpc.js";

const env = authEnv();
let instances: Instances;
let a: ChildServer;
let b: ChildServer;
let db: ServerInfo;
let admin: pg.Client;

beforeAll(async () => {
  db = await (await startPostgres()).createDatabase("cross_instance");
  admin = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await admin.connect();
  instances = await spawnInstances(2, env, "sqlstudio-engine-two-");
  [a, b] = instances.servers;
}, 60_000);
afterAll(async () => {
  await admin?.end();
  await instances?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const running = async (marker: string) =>
  (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${marker}%`])).rows[0].n > 0;

async function drain(c: EngineClients, connectionId: string, sql: string, queryId: string) {
  for await (const _ of c.queries.executeQuery({ connectionId, sql, queryId })) void _;
}

it("a CancelQuery sent to instance B stops a query streaming on instance A within 1 s; another user's cancel on B is NotFound", async () => {
  const { user, session } = await registerAndLogin(a, "xi");
  const onA = clientsFor(a.url, session.accessToken);
  const onB = clientsFor(b.url, (await login(b, user, { device: "b" })).accessToken);
  const stranger = clientsFor(b.url, (await registerAndLogin(b, "xi-other")).session.accessToken);
  const connectionId = (await onA.connections.createConnection({ spec: specFor(db) })).connection!.id;

  const marker = `m${randomUUID().replace(/-/g, "")}`;
  const queryId = `q-${marker}`;
  const ended = rpcCode(drain(onA, connectionId, `SELECT pg_sleep(30) /* ${marker} */`, queryId));
  for (let i = 0; i < 200 && !(await running(marker)); i++) await sleep(25);
  expect(await running(marker)).toBe(true);

  // Another user, same query id, through B: NotFound, and the query runs on.
  expect(await rpcCode(stranger.queries.cancelQuery({ queryId }))).toBe(Code.NotFound);
  await sleep(600);
  expect(await running(marker)).toBe(true);

  const t0 = Date.now();
  expect((await onB.queries.cancelQuery({ queryId })).canceled).toBe(true);
  while (await running(marker)) {
    expect(Date.now() - t0).toBeLessThan(1_000);
    await sleep(20);
  }
  console.log(`cancel through B stopped the query on A in ${Date.now() - t0} ms`);
  expect(await ended).toBe(Code.Canceled);
  // Finished: no instance has it any more.
  expect(await rpcCode(onB.queries.cancelQuery({ queryId }))).toBe(Code.NotFound);
}, 60_000);

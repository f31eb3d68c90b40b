// ConnectionService against a real server and real databases: profiles (CRUD, paging, validation),
// the stored password (never answered, not in the app database in clear, never logged), TestConnection,
// GetConnectionHealth, the production network policy, and isolation between users across all four
// engine services and the query history.
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionService, Engine, SslMode, type Connection } from "../../../gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService, type ExecuteQueryResponse } from "../../../gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService } from "../../../gen/sqlstudio/database/v1/schema_pb.js";
import { ExportFormat, TableService } from "../../../gen/sqlstudio/database/v1/table_pb.js";
import { errorInfoOf, registerAndLogin, type AuthTestServer } from "../../support/auth.js";
import { startMariadb, startPostgres, type ServerInfo } from "../../support/databases.js";
import { cell, collect, run, specFor, sqliteSpec, startEngineServer, type EngineClients, type StatementResult } from "../../support/engine.js";
import { expectRpcError, expectRpcFailure, transportFor } from "../../support/rpc.js";

// Known at collection time, so a skip (and its reason) shows in the test names.
const postgres = await startPostgres();
const mariadb = await startMariadb();
const mariadbMissing = "unavailable" in mariadb ? mariadb.unavailable : undefined;
const skippedNote = mariadbMissing ? ` (skipped: ${mariadbMissing})` : "";

const tag = randomBytes(4).toString("hex");
const POOL_MAX = 4;

/** A user whose clients record every response (and error) they receive, as JSON text. */
interface RecordingUser extends EngineClients {
  userId: string;
  token: string;
  seen: string[];
}

const recorder =
  (seen: string[]): Interceptor =>
  (next) =>
  async (req) => {
    try {
      const res = await next(req);
      const output = req.method.output as DescMessage;
      if (!res.stream) {
        seen.push(toJsonString(output, res.message as never));
        return res;
      }
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            for await (const m of messages) {
              seen.push(toJsonString(output, m as never));
              yield m;
            }
          } catch (err) {
            seen.push(errorJson(err));
            throw err;
          }
        })(),
      };
    } catch (err) {
      seen.push(errorJson(err));
      throw err;
    }
  };

function errorJson(err: unknown): string {
  const e = ConnectError.from(err);
  const info = errorInfoOf(e);
  return JSON.stringify({ code: Code[e.code], message: e.rawMessage, reason: info?.reason, field: info?.field, metadata: info?.metadata });
}

async function recordingUser(server: AuthTestServer, prefix: string): Promise<RecordingUser> {
  const u = await registerAndLogin(server, prefix);
  const token = u.session.accessToken;
  const seen: string[] = [];
  const t = transportFor(server, token, "connect", [recorder(seen)]);
  return {
    connections: createClient(ConnectionService, t),
    queries: createClient(QueryService, t),
    schemas: createClient(SchemaService, t),
    tables: createClient(TableService, t),
    userId: u.id,
    token,
    seen,
  };
}

/** Reads a server stream to its end. */
async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

/** Every file under dir (the app database, its WAL and journal, the key file, SQLite files), as bytes. */
function filesUnder(dir: string): { file: string; bytes: Buffer }[] {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) out.push(...filesUnder(file));
    else out.push({ file, bytes: readFileSync(file) });
  }
  return out;
}

const durationNs = (d: { seconds: bigint; nanos: number } | undefined) => (d ? Number(d.seconds) * 1e9 + d.nanos : 0);

let server: AuthTestServer;
let a: RecordingUser;
let b: RecordingUser;
let pgA: ServerInfo;
let myA: ServerInfo | undefined;
/** Passwords that must never come back: the real database passwords and made-up ones. */
const secrets: string[] = [];
const madeUp = `Sekr3t-${tag}-Lantern`;
const wrong = `Wr0ng-${tag}-Password`;

beforeAll(async () => {
  server = await startEngineServer({ ENGINE_POOL_MAX: String(POOL_MAX) });
  a = await recordingUser(server, "conna");
  b = await recordingUser(server, "connb");
  pgA = await postgres.createDatabase(`conn_${tag}`);
  secrets.push(pgA.password, madeUp, wrong);
  if (!mariadbMissing) {
    myA = await (mariadb as Exclude<typeof mariadb, { unavailable: string }>).createDatabase(`conn_${tag}`);
    secrets.push(myA.password);
  }
});

afterAll(async () => {
  await server?.stop();
});

describe("profiles: create, get, list, update, delete", () => {
  it("creates a profile and answers it without the password", async () => {
    const { connection } = await a.connections.createConnection({
      spec: { ...specFor(pgA, { name: "  crud pg  " }), options: { application_name: "crud-test" }, readOnly: true, password: madeUp },
    });
    const c = connection!;
    expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(c).toMatchObject({
      name: "crud pg",
      engine: Engine.POSTGRESQL,
      host: pgA.host,
      port: pgA.port,
      database: pgA.database,
      username: pgA.user,
      hasPassword: true,
      sslMode: SslMode.DISABLE,
      options: { application_name: "crud-test" },
      readOnly: true,
    });
    expect(c.createdAt).toBeDefined();
    expect(c.updatedAt).toEqual(c.createdAt);

    const got = (await a.connections.getConnection({ id: c.id })).connection!;
    expect(got).toEqual(c);
  });

  it("creates a profile with the id the client chose, once", async () => {
    const id = randomUUID();
    const { connection } = await a.connections.createConnection({ id, spec: sqliteSpec("chosen.db") });
    expect(connection!.id).toBe(id);
    expect(connection!.hasPassword).toBe(false);
    const again = await expectRpcError(a.connections.createConnection({ id, spec: sqliteSpec("chosen.db") }), Code.AlreadyExists);
    expect(again.info?.field).toBe("id");
  });

  it("updates every field; updated_at moves forward", async () => {
    const { connection } = await a.connections.createConnection({ spec: specFor(pgA, { name: "before update" }) });
    const c = connection!;
    const { connection: updated } = await a.connections.updateConnection({
      id: c.id,
      spec: { ...specFor(pgA, { name: "after update" }), password: "", port: pgA.port, sslMode: SslMode.PREFER, options: { application_name: "x" }, readOnly: true },
    });
    expect(updated).toMatchObject({ id: c.id, name: "after update", sslMode: SslMode.PREFER, options: { application_name: "x" }, readOnly: true, hasPassword: true });
    expect(updated!.createdAt).toEqual(c.createdAt);
    expect(Number(updated!.updatedAt!.seconds) * 1000 + updated!.updatedAt!.nanos / 1e6).toBeGreaterThan(Number(c.updatedAt!.seconds) * 1000 + c.updatedAt!.nanos / 1e6);
    expect((await a.connections.getConnection({ id: c.id })).connection).toEqual(updated);
  });

  it("deletes a profile: gone from get and list, a second delete is NotFound", async () => {
    const id = (await a.connections.createConnection({ spec: sqliteSpec("deleted.db", { name: "to delete" }) })).connection!.id;
    await a.connections.deleteConnection({ id });
    await expectRpcError(a.connections.getConnection({ id }), Code.NotFound);
    await expectRpcError(a.connections.deleteConnection({ id }), Code.NotFound);
    await expectRpcError(a.connections.updateConnection({ id, spec: sqliteSpec("deleted.db") }), Code.NotFound);
    const all = await a.connections.listConnections({ pageSize: 200 });
    expect(all.connections.map((c) => c.id)).not.toContain(id);
  });

  it("lists a user's profiles by name in pages, each exactly once", async () => {
    const u = await recordingUser(server, "paging");
    const names = ["p-c", "p-a", "p-e", "p-b", "p-d", "p-a"];
    const ids: string[] = [];
    for (const name of names) ids.push((await u.connections.createConnection({ spec: sqliteSpec(`${name}.db`, { name }) })).connection!.id);
    const seen: Connection[] = [];
    const pages: number[] = [];
    let pageToken = "";
    do {
      const page = await u.connections.listConnections({ pageSize: 2, pageToken });
      pages.push(page.connections.length);
      seen.push(...page.connections);
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && pages.length < 10);
    expect(pages).toEqual([2, 2, 2]);
    expect(seen.map((c) => c.name)).toEqual(["p-a", "p-a", "p-b", "p-c", "p-d", "p-e"]);
    expect(new Set(seen.map((c) => c.id))).toEqual(new Set(ids));
    // The default page holds them all; another user's list holds none of them.
    expect((await u.connections.listConnections({})).connections).toHaveLength(6);
    const others = await b.connections.listConnections({ pageSize: 200 });
    expect(others.connections.filter((c) => ids.includes(c.id))).toEqual([]);
  });
});

describe("profiles: validation names the field", () => {
  const ok = () => specFor(pgA, { name: "valid" });
  const cases: [string, () => Promise<unknown>, string][] = [
    ["no spec", () => a.connections.createConnection({}), "spec"],
    ["an empty name", () => a.connections.createConnection({ spec: { ...ok(), name: "" } }), "spec.name"],
    ["a blank name", () => a.connections.createConnection({ spec: { ...ok(), name: "   " } }), "spec.name"],
    ["a name of 201 characters", () => a.connections.createConnection({ spec: { ...ok(), name: "n".repeat(201) } }), "spec.name"],
    ["no engine", () => a.connections.createConnection({ spec: { ...ok(), engine: Engine.UNSPECIFIED } }), "spec.engine"],
    ["an unknown engine", () => a.connections.createConnection({ spec: { ...ok(), engine: 42 as Engine } }), "spec.engine"],
    ["an empty host", () => a.connections.createConnection({ spec: { ...ok(), host: "" } }), "spec.host"],
    ["a host of two lines", () => a.connections.createConnection({ spec: { ...ok(), host: "db.example.test\nevil" } }), "spec.host"],
    ["port -1", () => a.connections.createConnection({ spec: { ...ok(), port: -1 } }), "spec.port"],
    ["port 65536", () => a.connections.createConnection({ spec: { ...ok(), port: 65536 } }), "spec.port"],
    ["a database of 256 characters", () => a.connections.createConnection({ spec: { ...ok(), database: "d".repeat(256) } }), "spec.database"],
    ["a username of 256 characters", () => a.connections.createConnection({ spec: { ...ok(), username: "u".repeat(256) } }), "spec.username"],
    ["a password of 1025 characters", () => a.connections.createConnection({ spec: { ...ok(), password: "p".repeat(1025) } }), "spec.password"],
    ["an unknown ssl mode", () => a.connections.createConnection({ spec: { ...ok(), sslMode: 99 as SslMode } }), "spec.ssl_mode"],
    ["an option key with capitals", () => a.connections.createConnection({ spec: { ...ok(), options: { "Bad-Key": "x" } } }), "spec.options.Bad-Key"],
    ["an option value of 257 characters", () => a.connections.createConnection({ spec: { ...ok(), options: { application_name: "v".repeat(257) } } }), "spec.options.application_name"],
    ["33 options", () => a.connections.createConnection({ spec: { ...ok(), options: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) } }), "spec.options"],
    ["an id that is not a UUID", () => a.connections.createConnection({ id: "not-a-uuid", spec: ok() }), "id"],
    ["update: no spec", () => a.connections.updateConnection({ id: randomUUID() }), "spec"],
    ["update: port 70000", () => a.connections.updateConnection({ id: randomUUID(), spec: { ...ok(), port: 70000 } }), "spec.port"],
    ["update: clear_password with a new password", () => a.connections.updateConnection({ id: randomUUID(), spec: { ...ok(), password: "x" }, clearPassword: true }), "clear_password"],
    ["test: no target", () => a.connections.testConnection({}), "target"],
    ["test: a spec without engine", () => a.connections.testConnection({ target: { case: "spec", value: { ...ok(), engine: Engine.UNSPECIFIED } } }), "spec.engine"],
    ["list: a negative page size", () => a.connections.listConnections({ pageSize: -1 }), "page_size"],
    ["list: a page token this server did not issue", () => a.connections.listConnections({ pageToken: "garbage!" }), "page_token"],
    // Well-formed outside, not inside: base64url of {"k":"not json"}.
    ["list: a forged page token", () => a.connections.listConnections({ pageToken: Buffer.from(JSON.stringify({ k: "not json" })).toString("base64url") }), "page_token"],
  ];
  it.each(cases)("%s → InvalidArgument on %s", async (_what, call, field) => {
    const { info, error } = await expectRpcError(call, Code.InvalidArgument);
    expect(info?.field).toBe(field);
    expect(error.rawMessage.startsWith(`${field}`) || error.rawMessage.includes(field)).toBe(true);
  });
});

describe("the stored password", () => {
  it("is kept by an update with an empty password, removed by clear_password, and set again", async () => {
    const id = (await a.connections.createConnection({ spec: specFor(pgA, { name: "password life" }) })).connection!.id;
    const select = async () => cell((await run(a, id, "SELECT 7"))[0].rows[0][0]);
    expect(await select()).toEqual(["intValue", 7n]);

    const kept = (await a.connections.updateConnection({ id, spec: specFor(pgA, { name: "password kept", password: "" }) })).connection!;
    expect(kept.hasPassword).toBe(true);
    expect(await select()).toEqual(["intValue", 7n]);

    const cleared = (await a.connections.updateConnection({ id, spec: specFor(pgA, { name: "password cleared", password: "" }), clearPassword: true })).connection!;
    expect(cleared.hasPassword).toBe(false);
    expect((await a.connections.getConnection({ id })).connection!.hasPassword).toBe(false);
    // Without its password the server refuses the login.
    const error = (await expectRpcFailure(() => run(a, id, "SELECT 7"))).error;
    expect(error.rawMessage).toMatch(/password|authentication|SASL/i);

    const set = (await a.connections.updateConnection({ id, spec: specFor(pgA, { name: "password set" }) })).connection!;
    expect(set.hasPassword).toBe(true);
    expect(await select()).toEqual(["intValue", 7n]);
  });

  it("is not in the app database file in clear (nor its WAL or journal)", async () => {
    const spec = specFor(pgA, { name: `at-rest-${tag}`, password: madeUp });
    const id = (await a.connections.createConnection({ spec })).connection!.id;
    await a.connections.updateConnection({ id, spec: { ...spec, name: `at-rest-updated-${tag}` } });
    await a.connections.createConnection({ spec: specFor(pgA, { name: `at-rest-real-${tag}` }) });
    const files = filesUnder(server.dir);
    // The profile itself is there (so this reads the right files) ...
    expect(files.some((f) => f.bytes.includes(Buffer.from(`at-rest-updated-${tag}`)))).toBe(true);
    // ... its password is not, in UTF-8 or UTF-16.
    for (const secret of [madeUp, pgA.password]) {
      for (const f of files) {
        expect(f.bytes.includes(Buffer.from(secret, "utf8")), `${secret} in ${f.file}`).toBe(false);
        expect(f.bytes.includes(Buffer.from(secret, "utf16le")), `${secret} (UTF-16) in ${f.file}`).toBe(false);
      }
    }
  });

  it("is not logged, also after a login with a wrong password and after TestConnection", async () => {
    // A wrong password, unsaved and saved, on each server; then the right one.
    const wrongSpecs = [specFor(pgA, { name: "wrong pg", password: wrong })];
    if (myA) wrongSpecs.push(specFor(myA, { name: "wrong my", password: wrong }));
    for (const spec of wrongSpecs) {
      const t = await expectRpcError(a.connections.testConnection({ target: { case: "spec", value: spec } }), Code.FailedPrecondition);
      expect(t.info?.reason).toBe("CONNECTION_FAILED");
      expect(t.error.rawMessage).not.toContain(wrong);
      const id = (await a.connections.createConnection({ spec })).connection!.id;
      await expectRpcError(a.connections.testConnection({ target: { case: "id", value: id } }), Code.FailedPrecondition);
      const q = (await expectRpcFailure(() => run(a, id, "SELECT 1"))).error;
      expect(q.rawMessage).toMatch(/password|denied|authentication/i);
      expect(q.rawMessage).not.toContain(wrong);
    }
    const good = [specFor(pgA, { name: "right pg" })];
    if (myA) good.push(specFor(myA, { name: "right my" }));
    for (const spec of good) {
      const id = (await a.connections.createConnection({ spec })).connection!.id;
      await a.connections.testConnection({ target: { case: "id", value: id } });
      await a.connections.testConnection({ target: { case: "spec", value: spec } });
      await run(a, id, "SELECT 1");
    }
    const logs = server.logs.map((l) => JSON.stringify(l));
    expect(logs.length).toBeGreaterThan(0);
    // The RPCs above were logged (one line each), without any password.
    expect(logs.some((l) => l.includes("TestConnection"))).toBe(true);
    for (const secret of secrets) expect(logs.filter((l) => l.includes(secret)), secret).toEqual([]);
  });
});

describe("TestConnection", () => {
  const checkAnswer = (r: { latency?: { seconds: bigint; nanos: number }; serverVersion: string }, version: RegExp) => {
    expect(durationNs(r.latency)).toBeGreaterThan(0);
    expect(r.serverVersion).toMatch(version);
  };

  it("PostgreSQL: by id and by an unsaved spec, with latency and server version", async () => {
    const before = (await a.connections.listConnections({ pageSize: 200 })).connections.length;
    checkAnswer(await a.connections.testConnection({ target: { case: "spec", value: specFor(pgA) } }), /^PostgreSQL \d+/);
    expect((await a.connections.listConnections({ pageSize: 200 })).connections).toHaveLength(before);
    const id = (await a.connections.createConnection({ spec: specFor(pgA, { name: "test pg" }) })).connection!.id;
    checkAnswer(await a.connections.testConnection({ target: { case: "id", value: id } }), /^PostgreSQL \d+/);
  });

  it.skipIf(mariadbMissing)(`MariaDB: by id and by an unsaved spec, with latency and server version${skippedNote}`, async () => {
    checkAnswer(await a.connections.testConnection({ target: { case: "spec", value: specFor(myA!) } }), /MariaDB/);
    const id = (await a.connections.createConnection({ spec: specFor(myA!, { name: "test my" }) })).connection!.id;
    checkAnswer(await a.connections.testConnection({ target: { case: "id", value: id } }), /MariaDB/);
  });

  it("SQLite: by id and by an unsaved spec, with latency and server version", async () => {
    checkAnswer(await a.connections.testConnection({ target: { case: "spec", value: sqliteSpec("tested.db") } }), /^SQLite \d+\.\d+/);
    const id = (await a.connections.createConnection({ spec: sqliteSpec("tested.db", { name: "test sqlite" }) })).connection!.id;
    checkAnswer(await a.connections.testConnection({ target: { case: "id", value: id } }), /^SQLite \d+\.\d+/);
  });

  it("a server nobody listens on answers FailedPrecondition CONNECTION_FAILED", async () => {
    const t = await expectRpcError(a.connections.testConnection({ target: { case: "spec", value: { ...specFor(pgA), port: 1 } } }), Code.FailedPrecondition);
    expect(t.info?.reason).toBe("CONNECTION_FAILED");
  });
});

describe("GetConnectionHealth", () => {
  it("reports a closed pool before the first query and the open pool after it", async () => {
    const id = (await a.connections.createConnection({ spec: specFor(pgA, { name: "health" }) })).connection!.id;
    const before = await a.connections.getConnectionHealth({ id });
    expect(before).toMatchObject({ poolOpen: false, total: 0, max: POOL_MAX });
    await run(a, id, "SELECT 1");
    const after = await a.connections.getConnectionHealth({ id });
    expect(after.poolOpen).toBe(true);
    expect(after.total).toBeGreaterThanOrEqual(1);
    expect(after.total).toBeLessThanOrEqual(POOL_MAX);
    expect(after.idle).toBeGreaterThanOrEqual(1);
    expect(after.waiting).toBe(0);
    expect(after.max).toBe(POOL_MAX);
    expect(after.healthy).toBe(true);
    expect(after.lastError).toBe("");
  });

  it("an update closes the pool; a deleted profile is NotFound", async () => {
    const spec = sqliteSpec("health.db", { name: "health sqlite" });
    const id = (await a.connections.createConnection({ spec })).connection!.id;
    await run(a, id, "SELECT 1");
    expect((await a.connections.getConnectionHealth({ id })).poolOpen).toBe(true);
    await a.connections.updateConnection({ id, spec: { ...spec, name: "health sqlite 2" } });
    expect((await a.connections.getConnectionHealth({ id })).poolOpen).toBe(false);
    await a.connections.deleteConnection({ id });
    await expectRpcError(a.connections.getConnectionHealth({ id }), Code.NotFound);
  });
});

describe("network policy", () => {
  let prod: AuthTestServer;
  let allow: AuthTestServer;
  let p: RecordingUser;
  let q: RecordingUser;
  beforeAll(async () => {
    prod = await startEngineServer({ ENGINE_ALLOW_PRIVATE_HOSTS: "false" });
    allow = await startEngineServer({ ENGINE_ALLOW_PRIVATE_HOSTS: "false", ENGINE_HOST_ALLOWLIST: "127.0.0.1" });
    p = await recordingUser(prod, "prod");
    q = await recordingUser(allow, "allow");
  });
  afterAll(async () => {
    await prod?.stop();
    await allow?.stop();
  });

  const refusedHosts = ["127.0.0.1", "localhost", "169.254.169.254", "::1", "10.0.0.1", "192.168.1.1", "metadata.google.internal"];

  it.each(refusedHosts)("private hosts refused: creating a profile for %s is PermissionDenied HOST_REFUSED", async (host) => {
    const r = await expectRpcError(p.connections.createConnection({ spec: { ...specFor(pgA), host } }), Code.PermissionDenied);
    expect(r.info).toMatchObject({ reason: "HOST_REFUSED", field: "spec.host" });
    expect((await p.connections.listConnections({})).connections).toEqual([]);
  });

  it.each(refusedHosts)("private hosts refused: testing an unsaved profile for %s is PermissionDenied HOST_REFUSED", async (host) => {
    const r = await expectRpcError(p.connections.testConnection({ target: { case: "spec", value: { ...specFor(pgA), host } } }), Code.PermissionDenied);
    expect(r.info).toMatchObject({ reason: "HOST_REFUSED", field: "spec.host" });
  });

  it("an allow-listed address is allowed; other private hosts stay refused", async () => {
    const id = (await q.connections.createConnection({ spec: specFor(pgA, { name: "allowed" }) })).connection!.id;
    const t = await q.connections.testConnection({ target: { case: "id", value: id } });
    expect(t.serverVersion).toMatch(/^PostgreSQL/);
    expect(cell((await run(q, id, "SELECT 5"))[0].rows[0][0])).toEqual(["intValue", 5n]);
    for (const host of ["localhost", "169.254.169.254", "127.0.0.2"]) {
      const r = await expectRpcError(q.connections.createConnection({ spec: { ...specFor(pgA), host } }), Code.PermissionDenied);
      expect(r.info?.reason, host).toBe("HOST_REFUSED");
    }
    // Moving the allowed profile to a refused host is refused, and the profile stays as it was.
    const moved = await expectRpcError(q.connections.updateConnection({ id, spec: { ...specFor(pgA, { name: "moved" }), host: "localhost" } }), Code.PermissionDenied);
    expect(moved.info?.reason).toBe("HOST_REFUSED");
    expect((await q.connections.getConnection({ id })).connection).toMatchObject({ name: "allowed", host: "127.0.0.1" });
  });

  it.each(["../outside.db", "/etc/passwd", "sub/../../outside.db", "file:x.db", ":memory:"])("a SQLite path outside the directory (%s) is PermissionDenied SQLITE_PATH_REFUSED", async (path) => {
    for (const user of [a, p]) {
      const created = await expectRpcError(user.connections.createConnection({ spec: sqliteSpec(path) }), Code.PermissionDenied);
      expect(created.info).toMatchObject({ reason: "SQLITE_PATH_REFUSED", field: "spec.host" });
      const tested = await expectRpcError(user.connections.testConnection({ target: { case: "spec", value: sqliteSpec(path) } }), Code.PermissionDenied);
      expect(tested.info?.reason).toBe("SQLITE_PATH_REFUSED");
    }
  });
});

describe("isolation: another user's connection id is NotFound everywhere", () => {
  let id: string;
  let original: Connection;
  const table = () => ({ connectionId: id, schema: "public", table: "t" });

  beforeAll(async () => {
    original = (await a.connections.createConnection({ spec: specFor(pgA, { name: "a's private profile" }) })).connection!;
    id = original.id;
    await run(a, id, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a''s row')");
  });

  const rpcs: [string, () => Promise<unknown>][] = [
    ["ConnectionService.GetConnection", () => b.connections.getConnection({ id })],
    ["ConnectionService.UpdateConnection", () => b.connections.updateConnection({ id, spec: specFor(pgA, { name: "taken over" }) })],
    ["ConnectionService.UpdateConnection (clear_password)", () => b.connections.updateConnection({ id, spec: specFor(pgA, { name: "taken over", password: "" }), clearPassword: true })],
    ["ConnectionService.DeleteConnection", () => b.connections.deleteConnection({ id })],
    ["ConnectionService.TestConnection", () => b.connections.testConnection({ target: { case: "id", value: id } })],
    ["ConnectionService.GetConnectionHealth", () => b.connections.getConnectionHealth({ id })],
    ["QueryService.ExecuteQuery", () => drain(b.queries.executeQuery({ connectionId: id, sql: "SELECT * FROM t" }))],
    ["QueryService.ExecuteQuery (a write)", () => drain(b.queries.executeQuery({ connectionId: id, sql: "DELETE FROM t" }))],
    ["QueryService.ExplainQuery", () => b.queries.explainQuery({ connectionId: id, sql: "SELECT * FROM t" })],
    ["QueryService.ExplainQuery (analyze)", () => b.queries.explainQuery({ connectionId: id, sql: "SELECT * FROM t", analyze: true })],
    ["SchemaService.ListSchemas", () => b.schemas.listSchemas({ connectionId: id })],
    ["SchemaService.ListTables", () => b.schemas.listTables({ connectionId: id, schema: "public" })],
    ["SchemaService.DescribeTable", () => b.schemas.describeTable({ connectionId: id, schema: "public", table: "t" })],
    ["TableService.GetRows", () => b.tables.getRows({ table: table() })],
    ["TableService.InsertRows", () => b.tables.insertRows({ table: table(), rows: [{ values: { id: { kind: { case: "intValue", value: 2n } }, v: { kind: { case: "textValue", value: "b" } } } }] })],
    ["TableService.UpdateRows", () => b.tables.updateRows({ table: table(), updates: [{ key: { id: { kind: { case: "intValue", value: 1n } } }, set: { v: { kind: { case: "textValue", value: "b" } } } }] })],
    ["TableService.DeleteRows", () => b.tables.deleteRows({ table: table(), deletes: [{ key: { id: { kind: { case: "intValue", value: 1n } } } }] })],
    ["TableService.ExportRows", () => drain(b.tables.exportRows({ table: table(), format: ExportFormat.CSV }))],
  ];

  it.each(rpcs)("%s", async (_name, call) => {
    const r = await expectRpcError(call, Code.NotFound);
    expect(r.info?.reason).toBe("CONNECTION_NOT_FOUND");
  });

  it("answers exactly as for an id that does not exist (no existence oracle)", async () => {
    const mine = await expectRpcError(b.connections.getConnection({ id }), Code.NotFound);
    const none = await expectRpcError(b.connections.getConnection({ id: randomUUID() }), Code.NotFound);
    const malformed = await expectRpcError(b.connections.getConnection({ id: "x" }), Code.NotFound);
    expect(mine.error.rawMessage).toBe(none.error.rawMessage);
    expect(malformed.error.rawMessage).toBe(none.error.rawMessage);
    expect(mine.info).toEqual(none.info);
  });

  it("leaves the profile and its data as they were, and out of the other user's list", async () => {
    for (const [, call] of rpcs) await call().catch(() => undefined);
    expect((await a.connections.getConnection({ id })).connection).toEqual(original);
    expect((await run(a, id, "SELECT id, v FROM t ORDER BY id"))[0].rows.map((r) => r.map((c) => cell(c)[1]))).toEqual([[1n, "a's row"]]);
    expect((await b.connections.listConnections({ pageSize: 200 })).connections.map((c) => c.id)).not.toContain(id);
  });

  it("CancelQuery of another user's running query id answers canceled = false and the query keeps running", async () => {
    const queryId = `iso-${tag}`;
    const running = async (): Promise<number> => {
      const [r] = await run(a, id, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(%-- ${queryId}%' AND state = 'active' AND pid <> pg_backend_pid()`);
      return Number(cell(r.rows[0][0])[1]);
    };
    const waitRunning = async () => {
      for (let i = 0; i < 100 && (await running()) === 0; i++) await new Promise((r) => setTimeout(r, 30));
      expect(await running()).toBe(1);
    };

    // 1. B's cancel does not stop A's query: it runs to its end and answers its row.
    const results: StatementResult[] = [];
    const started = Date.now();
    const first = (async () => {
      for await (const m of a.queries.executeQuery({ connectionId: id, sql: `SELECT pg_sleep(1.2), 42 AS answer -- ${queryId}`, queryId })) collect(results, m as ExecuteQueryResponse);
    })();
    await waitRunning();
    expect((await expectRpcError(() => b.queries.cancelQuery({ queryId }), Code.NotFound)).info?.reason).toBe("QUERY_NOT_FOUND");
    await new Promise((r) => setTimeout(r, 100));
    expect(await running()).toBe(1);
    await first;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_100);
    expect(cell(results[0].rows[0][1])).toEqual(["intValue", 42n]);

    // 2. The same with a long query, which A then cancels (so B's NotFound is not a cancel that failed).
    const second = drain(a.queries.executeQuery({ connectionId: id, sql: `SELECT pg_sleep(30) -- ${queryId}`, queryId }));
    const outcome = second.then(
      () => "finished",
      (err: unknown) => Code[ConnectError.from(err).code],
    );
    await waitRunning();
    await expectRpcError(() => b.queries.cancelQuery({ queryId }), Code.NotFound);
    expect(await running()).toBe(1);
    expect((await a.queries.cancelQuery({ queryId })).canceled).toBe(true);
    expect(await outcome).toBe("Canceled");
    // Finished: nothing of A's runs under that id any more.
    await expectRpcError(() => a.queries.cancelQuery({ queryId }), Code.NotFound);
  });
});

describe("query history: one's own entries, redacted", () => {
  it("lists only the caller's entries, with secrets in the SQL masked", async () => {
    const aSqlite = (await a.connections.createConnection({ spec: sqliteSpec("history-a.db", { name: "history a" }) })).connection!.id;
    const aPg = (await a.connections.createConnection({ spec: specFor(pgA, { name: "history a pg" }) })).connection!.id;
    const bSqlite = (await b.connections.createConnection({ spec: sqliteSpec("history-b.db", { name: "history b" }) })).connection!.id;

    await run(a, aSqlite, `SELECT 1 AS one -- ALTER ROLE bob PASSWORD 'hunter2-${tag}'`);
    await expectRpcError(() => run(a, aSqlite, `CREATE USER bob IDENTIFIED BY 'opensesame-${tag}'`), Code.InvalidArgument);
    await expectRpcError(() => run(a, aPg, `ALTER ROLE nobody_${tag} WITH PASSWORD 'hunter2-${tag}'`), Code.InvalidArgument);
    await run(b, bSqlite, `SELECT 2 AS two -- b-${tag}`);

    const mine = (await a.queries.listQueryHistory({ pageSize: 200 })).entries;
    const theirs = (await b.queries.listQueryHistory({ pageSize: 200 })).entries;
    const aEntries = mine.filter((e) => e.sql.includes("bob") || e.sql.includes(`nobody_${tag}`));
    expect(aEntries).toHaveLength(3);
    for (const e of aEntries) {
      expect(e.sql).toContain("***");
      expect(e.sql).not.toContain(`hunter2-${tag}`);
      expect(e.sql).not.toContain(`opensesame-${tag}`);
      expect(e.errorMessage).not.toContain(`hunter2-${tag}`);
      expect([aSqlite, aPg]).toContain(e.connectionId);
    }
    expect(aEntries.filter((e) => e.success)).toHaveLength(1);
    expect(mine.some((e) => e.sql.includes(`b-${tag}`))).toBe(false);

    expect(theirs.map((e) => e.sql)).toEqual([`SELECT 2 AS two -- b-${tag}`]);
    expect(theirs[0].connectionId).toBe(bSqlite);
    // Filtering by another user's connection id shows nothing of theirs.
    expect((await b.queries.listQueryHistory({ connectionId: aSqlite })).entries).toEqual([]);
    expect((await a.queries.listQueryHistory({ connectionId: aSqlite })).entries.length).toBe(2);

    const logs = JSON.stringify(server.logs);
    expect(logs).not.toContain(`hunter2-${tag}`);
    expect(logs).not.toContain(`opensesame-${tag}`);
  });
});

describe("no response ever carried a password", () => {
  it("checks the JSON of every response and error the recording clients received", () => {
    // Runs last in this file: by now every RPC above has answered.
    const all = [...a.seen, ...b.seen];
    expect(all.length).toBeGreaterThan(100);
    expect(all.some((j) => j.includes('"hasPassword":true'))).toBe(true);
    for (const secret of secrets) expect(all.filter((j) => j.includes(secret)), secret).toEqual([]);
    for (const j of all) expect(j).not.toMatch(/"password"\s*:/i);
  });
});

/**
 * Issue 17.1: the reviewed list of what a user's SQLite connection offers. Every function and
 * module the driver registers is listed here as allowed or denied, with the reason; a driver
 * upgrade that registers a new one (or brings a denied one back under another name) fails this
 * test until someone reviews it. Through the real server, as a user would ask.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALLOWED_FUNCTIONS, ALLOWED_MODULES, DENIED_TABLES } from "../../src/engine/drivers/sqlite-rules.js";
import type { AuthTestServer } from "../support/auth.js";
import { createConnection, engineUser, run, sqliteSpec, startEngineServer, type EngineUser } from "../support/engine.js";
import { expectRpcError } from "../support/rpc.js";

/** Denied functions and why (docs/security.md, "SQLite confinement"). */
const DENIED_FUNCTIONS: Record<string, string> = {
  readfile: "reads any file the server process can (fileio)",
  writefile: "writes any file the server process can (fileio)",
  lsmode: "part of fileio; formats file modes (no use without fsdir)",
  load_extension: "loads native code into the server process",
  sha3_query: "runs SQL given as text: a second way in past every check of the statement",
  fts3_tokenizer: "registers a tokenizer from a raw pointer (memory corruption)",
  fts5: "hands out FTS5's C API pointer (for C extensions only)",
  geopoly_debug: "writes debug output to the server's stdout",
  sqlite_log: "writes into SQLite's process-wide error log",
  sqlite3mc_config: "changes the encryption codec's settings, process-wide defaults included",
  sqlite3mc_config_table: "lists the encryption codec's settings",
  sqlite3mc_codec_data: "reads the encryption codec's key material",
  sqlite3mc_version: "part of the encryption codec's configuration functions",
};

/** Modules (virtual table kinds) and what they are. */
const MODULES: Record<string, "create" | "read" | "denied"> = {
  // Tables a user may create (and a file's schema may declare).
  fts3: "create", fts4: "create", fts5: "create", fts3tokenize: "create", fts4aux: "create", fts5vocab: "create",
  rtree: "create", rtree_i32: "create", geopoly: "create", dbstat: "create",
  // Table-valued functions over values or this connection only.
  carray: "read", generate_series: "read", json_each: "read", json_tree: "read", sqlite_stmt: "read", vector_top_k: "read",
  // The host's file system; the file's raw pages (rewrites its schema past every check).
  fsdir: "denied", sqlite_dbpage: "denied",
};

let server: AuthTestServer;
let u: EngineUser;
let id = "";
beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "sq-review");
  id = await createConnection(u, sqliteSpec("review.db"));
});
afterAll(async () => {
  await server?.stop();
});

const names = async (sql: string) => (await run(u, id, sql))[0].rows.map((r) => String(r[0].kind.value));

describe("what a user's SQLite connection offers is the reviewed list", () => {
  it("every function it registers is reviewed: allowed (the server's allow-list) or denied", async () => {
    const offered = await names("SELECT DISTINCT name FROM pragma_function_list ORDER BY name");
    const reviewed = [...ALLOWED_FUNCTIONS, ...Object.keys(DENIED_FUNCTIONS)].sort();
    expect(offered).toEqual([...new Set(reviewed)].sort());
    expect(ALLOWED_FUNCTIONS.filter((f) => f in DENIED_FUNCTIONS)).toEqual([]);
  });

  it("every module it registers is reviewed, and the server's lists match the review", async () => {
    // pragma_* modules appear as they are used; PRAGMA rules govern them.
    const offered = await names("SELECT name FROM pragma_module_list WHERE name NOT LIKE 'pragma\\_%' ESCAPE '\\' ORDER BY name");
    expect(offered).toEqual(Object.keys(MODULES).sort());
    expect([...ALLOWED_MODULES].sort()).toEqual(Object.keys(MODULES).filter((m) => MODULES[m] === "create").sort());
    expect([...DENIED_TABLES].sort()).toEqual(Object.keys(MODULES).filter((m) => MODULES[m] === "denied").sort());
  });

  it.each(Object.keys(DENIED_FUNCTIONS))("%s is refused where SQLite compiles the statement", async (fn) => {
    // Called with a number of arguments it takes (a wrong count is another error).
    const narg = Number((await names(`SELECT max(narg) FROM pragma_function_list WHERE name = '${fn}'`))[0]);
    const args = Array.from({ length: Math.max(narg, narg < 0 ? 1 : 0) }, () => "'x'").join(", ");
    await expectRpcError(run(u, id, `SELECT ${fn}(${args})`), Code.PermissionDenied, "SQLITE_NOT_AUTHORIZED", "sql");
  });

  it("allowed functions run, in any letter case", async () => {
    const r = await run(u, id, "SELECT Abs(-2), UPPER('a'), json_array(1), sqlite_version() IS NOT NULL, count(*) FROM generate_series(1, 3)");
    expect(r[0].rows[0].map((c) => c.kind.value)).toEqual([2n, "A", "[1]", 1n, 3n]);
  });

  it("the driver still has the row reader the server takes from its native module", () => {
    // sqlite.ts reads rows with the native iteratorNextSync (not exported by the package).
    const require = createRequire(import.meta.url);
    const native = require(join(dirname(require.resolve("libsql-engine/promise")), "index.js")) as Record<string, unknown>;
    expect(typeof native.iteratorNextSync).toBe("function");
  });
});

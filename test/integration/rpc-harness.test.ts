// The test harness itself (test/support/rpc.ts, the example of test/README.md): a typed client in each
// protocol reaches the server, and expectRpcError passes on the right error only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionService } from "../../gen/sqlstudio/database/v1/connection_pb.js";
import { TableService } from "../../gen/sqlstudio/database/v1/table_pb.js";
import { R } from "../../src/common/errors.js";
import type { AuthTestServer } from "../support/auth.js";
import { createConnection, engineUser, run, sqliteSpec, startEngineServer, type EngineUser } from "../support/engine.js";
import { Code, clientFor, expectRpcError, expectRpcFailure, PROTOCOLS, rpcCode } from "../support/rpc.js";

let server: AuthTestServer;
let u: EngineUser;
let connectionId: string;
beforeAll(async () => {
  server = await startEngineServer();
  u = await engineUser(server, "harness");
  connectionId = await createConnection(u, sqliteSpec("harness.db"));
  await run(u, connectionId, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
});
afterAll(() => server?.stop());

describe.each(PROTOCOLS)("clientFor(…, %s)", (protocol) => {
  it("calls the RPC and checks the error's code, reason and field", async () => {
    const tables = clientFor(TableService, server, u.token, protocol);
    expect((await tables.getRows({ table: { connectionId, table: "items" } })).rows).toEqual([]);
    const { error, info } = await expectRpcError(
      tables.getRows({ table: { connectionId, table: "items" }, sort: [{ column: "nope" }] }),
      Code.InvalidArgument,
      R.UNKNOWN_COLUMN,
      "sort.0.column",
    );
    expect(error.rawMessage).toContain("nope");
    expect(info?.reason).toBe(R.UNKNOWN_COLUMN);
  });

  it("without a token calls anonymously", async () => {
    await expectRpcError(clientFor(ConnectionService, server.url, undefined, protocol).listConnections({}), Code.Unauthenticated, R.MISSING_TOKEN);
  });
});

describe("expectRpcError", () => {
  const tables = () => clientFor(TableService, server, u.token);
  const unknownColumn = () => tables().getRows({ table: { connectionId, table: "items" }, sort: [{ column: "nope" }] });

  it("fails on success, on another code, reason or field", async () => {
    await expect(expectRpcError(tables().getRows({ table: { connectionId, table: "items" } }), Code.NotFound)).rejects.toThrow(/expected NotFound, got success/);
    await expect(expectRpcError(unknownColumn, Code.NotFound)).rejects.toThrow(/InvalidArgument/);
    await expect(expectRpcError(unknownColumn, Code.InvalidArgument, R.TABLE_NOT_FOUND)).rejects.toThrow(/reason/);
    await expect(expectRpcError(unknownColumn, Code.InvalidArgument, R.UNKNOWN_COLUMN, "sort.1.column")).rejects.toThrow(/field/);
  });

  it("takes { field } without a reason, a RegExp field, and a function that starts the call", async () => {
    await expectRpcError(unknownColumn, Code.InvalidArgument, { field: "sort.0.column" });
    await expectRpcError(unknownColumn, Code.InvalidArgument, R.UNKNOWN_COLUMN, /^sort\.0\./);
    expect((await expectRpcFailure(unknownColumn)).error.code).toBe(Code.InvalidArgument);
    expect(await rpcCode(unknownColumn())).toBe(Code.InvalidArgument);
    expect(await rpcCode(tables().getRows({ table: { connectionId, table: "items" } }))).toBe("ok");
  });
});

/**
 * Issue 14.7: a streaming RPC called the way a unary one is (Connect's `application/json` or
 * `application/proto`, e.g. curl copied from a unary example) is answered with a Connect error
 * body that says what to send, not an empty 415; and the README's curl line for ExecuteQuery,
 * with Connect's streaming content type, runs as shown.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorInfoOfJson, registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";
import { clientsFor, sqliteSpec } from "../support/engine.js";
import { ROOT } from "../support/server.js";

const run = promisify(execFile);
let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(() => server?.stop());

const EXECUTE = "/sqlstudio.database.v1.QueryService/ExecuteQuery";

describe("a streaming RPC with a unary content type", () => {
  it.each(["application/json", "application/json; charset=utf-8", "application/proto"])(
    "%s: 415 with a Connect error body naming application/connect+json",
    async (contentType) => {
      const res = await fetch(`${server.url}${EXECUTE}`, { method: "POST", headers: { "content-type": contentType }, body: contentType.includes("json") ? "{}" : "" });
      expect(res.status).toBe(415);
      expect(res.headers.get("content-type")).toBe("application/json");
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.code).toBe("invalid_argument");
      expect(body.message).toMatch(/server-streaming RPC/);
      expect(body.message).toMatch(/application\/connect\+json/);
      const info = errorInfoOfJson(body);
      expect([info?.reason, info?.field]).toEqual(["STREAMING_RPC_NEEDS_STREAM_CONTENT_TYPE", "content-type"]);
      expect(info?.metadata).toEqual({ use: "application/connect+json", method: "sqlstudio.database.v1.QueryService/ExecuteQuery", kind: "server_streaming" });
    },
  );

  it("unary RPCs keep taking application/json; the stream takes application/connect+json", async () => {
    const unary = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unary.status).toBe(200);
    const stream = await fetch(`${server.url}${EXECUTE}`, { method: "POST", headers: { "content-type": "application/connect+json" }, body: new Uint8Array([0, 0, 0, 0, 2, 0x7b, 0x7d]) });
    // Through the pipeline: no token, so an end-stream message with unauthenticated.
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("application/connect+json");
    expect(Buffer.from(await stream.arrayBuffer()).subarray(5).toString()).toContain('"code":"unauthenticated"');
  });
});

describe("the README's curl line for ExecuteQuery", () => {
  it("runs as shown and prints the stream's messages", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes("QueryService/ExecuteQuery") && b.includes("application/connect+json"));
    expect(block, "README has a sh block calling ExecuteQuery with application/connect+json").toBeDefined();
    const u = await registerAndLogin(server, "readme");
    const clients = clientsFor(server.url, u.session.accessToken);
    const id = (await clients.connections.createConnection({ spec: sqliteSpec("readme.db") })).connection!.id;
    const script = block!
      .replaceAll("http://localhost:8080", server.url)
      .replaceAll("<accessToken>", u.session.accessToken)
      .replaceAll("<connectionId>", id);
    const { stdout } = await run("sh", ["-c", script], { timeout: 30_000 });
    const messages = stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(messages[0], stdout).toHaveProperty("started");
    expect(messages.map((m) => Object.keys(m)[0] ?? "end"), stdout).toEqual(["started", "header", "rows", "footer", "end"]);
    expect(JSON.stringify(messages)).toContain('"intValue":"1"');
  });
});

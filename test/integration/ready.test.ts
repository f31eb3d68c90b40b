import { afterEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrator.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function get(path: string): Promise<{ status: number; body: { status: string; problems?: string[] } }> {
  const res = await fetch(`${server!.url}${path}`);
  return { status: res.status, body: (await res.json()) as { status: string; problems?: string[] } };
}

describe("GET /health and /ready", () => {
  it("are 200 on a migrated server", async () => {
    server = await startTestServer();
    expect(await get("/health")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await get("/ready")).toEqual({ status: 200, body: { status: "ready" } });
  });

  it("/ready is 503 when the database is unreachable, while /health stays 200", async () => {
    server = await startTestServer();
    expect((await get("/ready")).status).toBe(200);
    server.db.close();
    expect(await get("/ready")).toEqual({ status: 503, body: { status: "unavailable", problems: ["database unreachable"] } });
    expect((await get("/health")).status).toBe(200);
  });

  it("/ready is 503 while migrations are pending (AUTO_MIGRATE=false), 200 once applied", async () => {
    server = await startTestServer({ env: { AUTO_MIGRATE: "false" } });
    const tables = await server.db.execute("SELECT name FROM sqlite_master WHERE name = 'job_leases'");
    expect(tables.rows).toHaveLength(0); // nothing was applied at start
    expect(await get("/ready")).toEqual({ status: 503, body: { status: "unavailable", problems: ["migrations pending"] } });
    expect((await get("/health")).status).toBe(200);
    await migrate(server.db);
    expect(await get("/ready")).toEqual({ status: 200, body: { status: "ready" } });
  });

  it("/ready is 503 once shutdown begins", async () => {
    server = await startTestServer();
    server.app.beginShutdown();
    expect(await get("/ready")).toEqual({ status: 503, body: { status: "unavailable", problems: ["shutting down"] } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer, startTestServer, type ChildServer, type TestServer } from "../support/server.js";

describe("harness", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it("answers Health.Check over Connect JSON in-process", async () => {
    const res = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "SERVING" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.logs.some((l) => l.msg === "rpc" && l.method === "Check" && l.code === "ok")).toBe(true);
  });

  it("serves unary RPCs on the fast path unless RPC_FAST_PATH turns it off (CI runs the contract tests both ways)", async () => {
    const off = ["0", "false", "no", "off"].includes((process.env.RPC_FAST_PATH ?? "").trim().toLowerCase());
    expect(server.app.fastUnary === undefined).toBe(off);
    if (off) return;
    const before = server.app.fastUnary!.served;
    await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(server.app.fastUnary!.served).toBe(before + 1);
  });
});

describe("child process harness", () => {
  let child: ChildServer;
  beforeAll(async () => {
    child = await spawnServer();
  });
  afterAll(() => child.stop());

  it("starts main.ts and reports its ports", async () => {
    const res = await fetch(`${child.url}/ready`);
    expect(res.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${child.ports.metrics}/metrics`)).text();
    expect(metrics).toContain("process_cpu_user_seconds_total");
  });
});

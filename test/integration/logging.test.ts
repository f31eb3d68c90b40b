import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const SECRET = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.sig-9f8e7d6c5b4a";

async function check(headers: Record<string, string> = {}, body = "{}"): Promise<Response> {
  return fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

const rpcLines = (requestId: string) => server.logs.filter((l) => l.msg === "rpc" && l.requestId === requestId);

describe("RPC logging", () => {
  it("writes one line per RPC with requestId, service, method, protocol, code and durationMs", async () => {
    const res = await check({ "x-request-id": "req-one-line-1" });
    expect(res.status).toBe(200);
    await res.text();
    const lines = rpcLines("req-one-line-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ requestId: "req-one-line-1", service: "grpc.health.v1.Health", method: "Check", protocol: "connect", code: "ok", level: 30 });
    expect(typeof lines[0].durationMs).toBe("number");
    expect(lines[0].durationMs as number).toBeGreaterThanOrEqual(0);
  });

  it("logs errors with their code, at warn", async () => {
    const res = await check({ "x-request-id": "req-not-found-1" }, JSON.stringify({ service: "no.such.Service" }));
    expect(res.status).toBe(404);
    await res.text();
    const lines = rpcLines("req-not-found-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: "not_found", level: 40, error: 'service "no.such.Service" not found' });
  });

  it("logs gRPC over h2c with protocol grpc", async () => {
    const session = http2.connect(server.url);
    try {
      const req = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
        "x-request-id": "req-grpc-h2c-1",
      });
      req.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
      const headers = await new Promise<http2.IncomingHttpHeaders>((r) => req.once("response", r));
      expect(headers["x-request-id"]).toBe("req-grpc-h2c-1");
      req.resume();
      await new Promise((r) => req.once("end", r));
    } finally {
      session.close();
    }
    const lines = rpcLines("req-grpc-h2c-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ protocol: "grpc", code: "ok", method: "Check" });
  });

  it("echoes the client's x-request-id", async () => {
    const res = await check({ "x-request-id": "client-chosen.id:42" });
    await res.text();
    expect(res.headers.get("x-request-id")).toBe("client-chosen.id:42");
    expect(rpcLines("client-chosen.id:42")).toHaveLength(1);
  });

  it("replaces a bogus x-request-id with a fresh one, in the response and the log", async () => {
    const bogus = "bad id\twith spaces<script>";
    const before = server.logs.length;
    const res = await check({ "x-request-id": bogus });
    await res.text();
    const id = res.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const lines = server.logs.slice(before).filter((l) => l.msg === "rpc");
    expect(lines.map((l) => l.requestId)).toEqual([id]);
    expect(JSON.stringify(server.logs)).not.toContain("<script>");

    const long = await check({ "x-request-id": "x".repeat(129) });
    await long.text();
    expect(long.headers.get("x-request-id")).not.toBe("x".repeat(129));
  });

  it("never writes an authorization header value to any log line", async () => {
    const ok = await check({ authorization: SECRET, "x-request-id": "req-auth-1" });
    await ok.text();
    const bad = await check({ authorization: SECRET, "x-request-id": "req-auth-2" }, "{not json");
    await bad.text();
    const http404 = await fetch(`${server.url}/nowhere`, { headers: { authorization: SECRET } });
    await http404.text();
    expect(rpcLines("req-auth-1")).toHaveLength(1);
    const all = JSON.stringify(server.logs);
    expect(all).not.toContain("c2VjcmV0LXRva2VuLXZhbHVl");
    expect(all).not.toContain("sig-9f8e7d6c5b4a");
  });
});

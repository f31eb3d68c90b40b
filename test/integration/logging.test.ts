import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startTestServer, testEnv, TSX_LOADER, type TestServer } from "../support/server.js";

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

  it("logs a client that went away while its request was read as canceled at warn, not internal at error", async () => {
    // A streaming call (its body is read by the handler) whose client sends half the body and resets.
    const port = Number(new URL(server.url).port);
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write(
      "POST /grpc.health.v1.Health/Watch HTTP/1.1\r\nhost: x\r\ncontent-type: application/connect+json\r\n" +
        "x-request-id: req-client-gone-1\r\ncontent-length: 1000\r\n\r\n",
    );
    // An envelope that announces 100 bytes of message, and one of them.
    socket.write(Buffer.from([0, 0, 0, 0, 100, 0x7b]));
    await new Promise((r) => setTimeout(r, 200));
    socket.resetAndDestroy();
    const until = Date.now() + 5_000;
    while (rpcLines("req-client-gone-1").length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const lines = rpcLines("req-client-gone-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: "Watch", code: "canceled", level: 40 });
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

/**
 * Issue 14.7: `npm start` with no configuration (development) logs at info, one line per RPC, and
 * writes no ANSI colour codes when stdout is not a terminal (a pipe, a file, a CI log).
 */
describe("development logs with no configuration, stdout a pipe", () => {
  it("are at info (no debug lines), one line per RPC, without ANSI colour", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sqlstudio-devlog-"));
    // testEnv's LOG_LEVEL and LOG_PRETTY out: the development defaults decide.
    const { LOG_LEVEL: _level, LOG_PRETTY: _pretty, CONFIG_FILE: _file, ...env } = testEnv(dir, { JWT_SECRET_FILE: join(dir, "jwt.secret") });
    const inherited = { ...process.env };
    for (const k of ["LOG_LEVEL", "LOG_PRETTY", "ENVIRONMENT", "FORCE_COLOR", "NO_COLOR"]) delete inherited[k];
    const child = spawn(process.execPath, ["--import", TSX_LOADER, join(ROOT, "src/main.ts")], { cwd: dir, env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const until = Date.now() + 60_000;
      let api: string | undefined;
      while (!api && Date.now() < until) {
        api = /SQL Studio Server ready: API \(gRPC, gRPC-Web, Connect\) (http:\/\/[^\s]+)/.exec(out.replace(/\x1b\[[0-9;]*m/g, ""))?.[1];
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(api, out).toBeDefined();
      const url = api!.replace("//localhost:", "//127.0.0.1:");
      const ids = ["devlog-1", "devlog-2", "devlog-3"];
      for (const id of ids) {
        const res = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": id }, body: "{}" });
        expect(res.status).toBe(200);
        await res.text();
      }
      const bad = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "devlog-err" }, body: '{"service":"nope"}' });
      expect(bad.status).toBe(404);
      await bad.text();
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);

      expect(out, "no ANSI escape codes in a pipe").not.toMatch(/\x1b\[/);
      const lines = out.split("\n").filter((l) => l.trim() !== "");
      expect(lines.some((l) => /shutdown complete/.test(l))).toBe(true);
      // info by default: nothing at debug (the engine logs its pools closing at debug).
      expect(lines.filter((l) => /\bDEBUG\b|"level":20/.test(l))).toEqual([]);
      // One line per RPC, holding all of it: which call, its code and duration.
      for (const id of [...ids, "devlog-err"]) {
        // By the quoted request id: the data folder's random name (sqlstudio-devlog-XXXXXX) can
        // begin with the same characters as an id and appears in the startup lines.
        const mine = lines.filter((l) => l.includes(`"requestId":"${id}"`));
        expect(mine, out.slice(-2000)).toHaveLength(1);
        expect(mine[0]).toMatch(/Check/);
        expect(mine[0]).toMatch(id === "devlog-err" ? /not_found/ : /"ok"/);
        expect(mine[0]).toMatch(/durationMs/);
      }
      // Every line of the log starts as a log line does (no continuation lines of a pretty-printed object).
      for (const l of lines) expect(l, l).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|FATAL)/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

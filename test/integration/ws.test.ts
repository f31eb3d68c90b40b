import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

type Outcome = { kind: "closed"; code: number; reason: string } | { kind: "refused"; status: number };

/** Connects and reports how it ended: a close frame (code, reason) or an HTTP refusal of the upgrade. */
function connect(url: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      resolve({ kind: "refused", status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on("close", (code, reason) => resolve({ kind: "closed", code, reason: reason.toString() }));
    ws.on("error", (err) => {
      if (!String(err.message).startsWith("Unexpected server response")) reject(err);
    });
  });
}

/** Opens a socket and waits until it is open. */
function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));

const apiUrl = (s: TestServer, path = "/v1/stream") => `ws://127.0.0.1:${s.ports.api}${path}`;
const wsUrl = (s: TestServer, path = "/v1/stream") => `ws://127.0.0.1:${s.ports.ws}${path}`;

describe("/v1/stream WebSocket", () => {
  it("upgrades on the API port and on WS_PORT; a client that never authenticates is closed with 4401", async () => {
    server = await startTestServer({ env: { REALTIME_AUTH_TIMEOUT_MS: "300" } });
    for (const url of [apiUrl(server), wsUrl(server)]) {
      const outcome = await connect(url);
      expect(outcome, url).toEqual({ kind: "closed", code: 4401, reason: "authenticate within the time allowed" });
    }
  });

  it("answers 404 to an unknown path on both ports", async () => {
    server = await startTestServer();
    expect(await connect(apiUrl(server, "/v1/nope"))).toEqual({ kind: "refused", status: 404 });
    expect(await connect(wsUrl(server, "/"))).toEqual({ kind: "refused", status: 404 });
  });

  it("answers a plain HTTP request on WS_PORT with 426 Upgrade Required", async () => {
    server = await startTestServer();
    const res = await fetch(`http://127.0.0.1:${server.ports.ws}/v1/stream`);
    expect(res.status).toBe(426);
    await res.text();
  });

  it("refuses upgrades beyond WS_MAX_CONNECTIONS with 503, across both ports", async () => {
    server = await startTestServer({ env: { WS_MAX_CONNECTIONS: "2" } });
    server.app.stream.onConnection = () => {}; // hold sockets open
    const a = await open(apiUrl(server));
    const b = await open(wsUrl(server));
    expect(server.app.stream.size).toBe(2);
    expect(await connect(apiUrl(server))).toEqual({ kind: "refused", status: 503 });
    expect(await connect(wsUrl(server))).toEqual({ kind: "refused", status: 503 });
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/http_rejected_total\{reason="ws_limit"\} 2/);
    expect(metrics).toMatch(/websocket_connections\{listener="api"\} 1/);
    expect(metrics).toMatch(/websocket_connections\{listener="ws"\} 1/);
    // a freed slot can be used again
    const gone = closed(a);
    a.close();
    await gone;
    await expect.poll(() => server!.app.stream.size).toBe(1);
    const c = await open(apiUrl(server));
    b.terminate();
    c.terminate();
  });

  it("closes open sockets with 1001 at shutdown", async () => {
    server = await startTestServer();
    server.app.stream.onConnection = () => {};
    const a = await open(apiUrl(server));
    const b = await open(wsUrl(server));
    const [ca, cb] = [closed(a), closed(b)];
    const stopping = server.stop();
    server = undefined;
    expect(await ca).toEqual({ code: 1001, reason: "server shutting down" });
    expect(await cb).toEqual({ code: 1001, reason: "server shutting down" });
    await stopping;
  });

  it("hands the socket and request to onConnection (the realtime feature's hook)", async () => {
    server = await startTestServer();
    server.app.stream.onConnection = (ws, req) => ws.send(JSON.stringify({ hello: req.url }));
    const ws = new WebSocket(`${apiUrl(server)}?v=1`);
    const msg = await new Promise<string>((r, reject) => {
      ws.once("message", (d) => r(d.toString()));
      ws.once("error", reject);
    });
    expect(JSON.parse(msg)).toEqual({ hello: "/v1/stream?v=1" });
    ws.terminate();
  });
});

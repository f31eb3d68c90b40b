/**
 * Hostile and broken input against the one-port listener and every protocol. Each case gets the
 * right protocol error (never a crash, never a hang) and afterwards the server still answers
 * Health.Check over HTTP/1.1 and h2c (checked after every test). The server runs with small
 * limits so they can be reached quickly: idle timeout 1 s, 1 KiB messages, 400 ms deadline ceiling.
 */
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import { fromBinary, toBinary, create, type DescMethodUnary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { decodeEnvelopes, encodeEnvelope, parseTrailerBlock, GRPC_WEB_TRAILER } from "../support/clients/envelope.js";
import { Code } from "../support/clients/expect.js";
import { grpcFrame, h2Frames, h2Request, H2_EMPTY_SETTINGS, H2_GOAWAY, H2_PREFACE, rawConnect } from "../support/clients/raw.js";
import { startTestServer, type TestServer } from "../support/server.js";

const IDLE_TIMEOUT_MS = 1000;
const HEADERS_TIMEOUT_MS = 1000;
const READ_MAX_BYTES = 1024;
const MAX_DEADLINE_MS = 400;
const DEFAULT_DEADLINE_MS = 200;

const CHECK = "/grpc.health.v1.Health/Check";
const GRPC = { "content-type": "application/grpc", te: "trailers" };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    env: {
      IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      READ_MAX_BYTES: String(READ_MAX_BYTES),
      MAX_DEADLINE_MS: String(MAX_DEADLINE_MS),
      DEFAULT_DEADLINE_MS: String(DEFAULT_DEADLINE_MS),
    },
  });
});
afterAll(() => server?.stop());

/** After every hostile case: Health.Check still works over HTTP/1.1 (Connect JSON) and h2c (gRPC). */
afterEach(async () => {
  const h1 = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(h1.status).toBe(200);
  expect(await h1.json()).toEqual({ status: "SERVING" });
  const h2 = await h2Request(server.url, { ":path": CHECK, ...GRPC }, grpcFrame(new Uint8Array()));
  expect(h2.error).toBeUndefined();
  expect(h2.trailers["grpc-status"] ?? h2.headers["grpc-status"]).toBe("0");
  const [msg] = decodeEnvelopes(h2.body).envelopes;
  expect(fromBinary(HealthCheckResponseSchema, msg.data).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
});

const grpcStatus = (a: { headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }) => ({
  code: Number(a.trailers["grpc-status"] ?? a.headers["grpc-status"]),
  message: decodeURIComponent(String(a.trailers["grpc-message"] ?? a.headers["grpc-message"] ?? "")),
});
const checkRequest = (service: string) => toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service }));
/** A message over the 1 KiB limit. */
const oversize = () => checkRequest("x".repeat(READ_MAX_BYTES * 2));

describe("the one-port listener", () => {
  it("random bytes on a raw TCP socket: 400 Bad Request and the connection is closed", async () => {
    const c = await rawConnect(server.ports.api);
    const junk = randomBytes(4096);
    junk[0] = 0x16; // never the start of the HTTP/2 preface
    c.socket.write(junk);
    const ms = await c.closed;
    expect(c.received().toString("latin1")).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(ms).toBeLessThan(IDLE_TIMEOUT_MS);
  });

  it("the HTTP/2 preface followed by garbage frames: GOAWAY, then the connection is closed", async () => {
    const c = await rawConnect(server.ports.api);
    c.socket.write(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff]), randomBytes(256)]));
    await c.closed;
    expect(h2Frames(c.received()).map((f) => f.type)).toContain(H2_GOAWAY);
  });

  it("silent connections are closed after IDLE_TIMEOUT_MS: nothing sent, half a preface, a preface and SETTINGS", async () => {
    const [nothing, half, full] = await Promise.all([rawConnect(server.ports.api), rawConnect(server.ports.api), rawConnect(server.ports.api)]);
    half.socket.write(H2_PREFACE.subarray(0, 10));
    full.socket.write(Buffer.concat([H2_PREFACE, H2_EMPTY_SETTINGS]));
    const times = await Promise.all([nothing.closed, half.closed, full.closed]);
    for (const ms of times) {
      expect(ms).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(IDLE_TIMEOUT_MS + 2000);
    }
    // Before the preface is complete the listener just drops the socket; an idle HTTP/2 session gets GOAWAY.
    expect(nothing.received().length).toBe(0);
    expect(half.received().length).toBe(0);
    expect(h2Frames(full.received()).map((f) => f.type)).toContain(H2_GOAWAY);
  });

  it("a client that dribbles its HTTP/1.1 headers gets 408 and is closed after HEADERS_TIMEOUT_MS", async () => {
    const c = await rawConnect(server.ports.api);
    c.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => c.socket.writable && c.socket.write("X-Slow: 1\r\n"), 200);
    const ms = await c.closed;
    clearInterval(drip);
    expect(c.received().toString("latin1")).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  it("200 concurrent connections that open and close leave nothing behind", async () => {
    const before = server.app.listener.openConnections;
    const kinds = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        switch (i % 4) {
          case 0: {
            // connect and hang up at once
            const c = await rawConnect(server.ports.api);
            c.socket.destroy();
            await c.closed;
            return "ok";
          }
          case 1: {
            // one HTTP/1.1 request, then the server closes as asked
            const c = await rawConnect(server.ports.api);
            c.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
            await c.closed;
            return c.received().toString("latin1").startsWith("HTTP/1.1 200 ") ? "ok" : c.received().toString("latin1");
          }
          case 2: {
            // an h2c session with one gRPC call
            const a = await h2Request(server.url, { ":path": CHECK, ...GRPC }, grpcFrame(new Uint8Array()));
            return grpcStatus(a).code === 0 ? "ok" : JSON.stringify(a);
          }
          default: {
            // half a preface, then a reset
            const c = await rawConnect(server.ports.api);
            c.socket.write(H2_PREFACE.subarray(0, 5));
            c.socket.resetAndDestroy();
            await c.closed;
            return "ok";
          }
        }
      }),
    );
    expect(kinds.filter((k) => k !== "ok")).toEqual([]);
    const deadline = Date.now() + 3000;
    while (server.app.listener.openConnections > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(server.app.listener.openConnections).toBeLessThanOrEqual(before);
  });

  it("an unknown method of a served service is 404, which gRPC and Connect clients read as Unimplemented", async () => {
    const nope = { ...Health.method.check, name: "Nope", localName: "nope" } as DescMethodUnary;
    for (const t of [createGrpcTransport({ baseUrl: server.url }), createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })]) {
      const err = await t.unary(nope, undefined, undefined, undefined, {}).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
      expect(Code[err?.code ?? 0]).toBe(Code[Code.Unimplemented]);
    }
  });

  it("an unknown route is 404 over HTTP/1.1 and h2c", async () => {
    const h1 = await fetch(`${server.url}/no/such/route`);
    expect(h1.status).toBe(404);
    await h1.arrayBuffer();
    const h2 = await h2Request(server.url, { ":method": "GET", ":path": "/no/such/route" });
    expect(h2.status).toBe(404);
  });
});

describe("headers", () => {
  it("a huge header over HTTP/1.1: 431 and the connection is closed", async () => {
    const c = await rawConnect(server.ports.api);
    c.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    await c.closed;
    expect(c.received().toString("latin1")).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });

  it("a huge header block over h2c: the stream is refused, not served", async () => {
    const a = await h2Request(server.url, { ":method": "GET", ":path": "/health", "x-big": "a".repeat(70 * 1024) });
    expect(a.status).toBeUndefined();
    expect(a.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM || a.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM || a.error !== undefined).toBe(true);
  });
});

describe("bodies", () => {
  it("invalid JSON on Connect: 400 invalid_argument", async () => {
    const res = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"service":' });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.code).toBe("invalid_argument");
    expect(body.message).not.toMatch(/\n\s+at /);
  });

  it("unknown JSON fields on Connect: 400 invalid_argument naming the field", async () => {
    const res = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"servce":"x"}' });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain("servce");
  });

  for (const [name, contentType] of [
    ["text/plain", "text/plain"],
    ["form data", "application/x-www-form-urlencoded"],
    ["no content type", undefined],
  ] as const) {
    it(`wrong content type (${name}) on an RPC: 415 over HTTP/1.1 and h2c`, async () => {
      const h1 = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: contentType ? { "content-type": contentType } : {}, body: new Uint8Array([0x7b, 0x7d]) });
      // fetch sets text/plain for a string body, so the no-content-type case sends bytes.
      expect(h1.status).toBe(415);
      await h1.arrayBuffer();
      const h2 = await h2Request(server.url, { ":path": CHECK, ...(contentType ? { "content-type": contentType } : {}) }, "{}");
      expect(h2.status).toBe(415);
    });
  }

  it("malformed protobuf on gRPC: InvalidArgument with Connect's parse message (the client's fault, not Internal), no stack, no crash", async () => {
    const a = await h2Request(server.url, { ":path": CHECK, ...GRPC }, grpcFrame(new Uint8Array([0xff, 0xff, 0xff])));
    expect(a.status).toBe(200);
    const s = grpcStatus(a);
    expect(Code[s.code]).toBe(Code[Code.InvalidArgument]);
    expect(s.message).toMatch(/^parse binary/);
    expect(s.message).not.toMatch(/\n|\bat /);
  });

  it("malformed protobuf on gRPC-Web (HTTP/1.1): the same code in the trailer frame", async () => {
    const res = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body: encodeEnvelope(new Uint8Array([0xff, 0xff, 0xff])) });
    expect(res.status).toBe(200);
    const { envelopes } = decodeEnvelopes(new Uint8Array(await res.arrayBuffer()));
    expect(envelopes).toHaveLength(1);
    expect(envelopes[0].flags & GRPC_WEB_TRAILER).toBe(GRPC_WEB_TRAILER);
    expect(parseTrailerBlock(envelopes[0].data)["grpc-status"]).toBe(String(Code.InvalidArgument));
  });

  it("malformed protobuf on Connect binary: 400 invalid_argument with Connect's parse message only", async () => {
    const res = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/proto" }, body: new Uint8Array([0xff]) });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toEqual({ code: "invalid_argument", message: expect.stringMatching(/^parse binary/) });
  });

  it("a gRPC envelope shorter than it says: InvalidArgument (incomplete envelope)", async () => {
    const a = await h2Request(server.url, { ":path": CHECK, ...GRPC }, grpcFrame(new Uint8Array([0x0a]), 100));
    expect(grpcStatus(a).code).toBe(Code.InvalidArgument);
  });

  it("a unary gRPC call with no message or two messages: a protocol error, not served", async () => {
    const none = await h2Request(server.url, { ":path": CHECK, ...GRPC }, new Uint8Array());
    const two = await h2Request(server.url, { ":path": CHECK, ...GRPC }, Buffer.concat([grpcFrame(new Uint8Array()), grpcFrame(new Uint8Array())]));
    for (const a of [none, two]) {
      expect(a.body.length).toBe(0);
      expect(grpcStatus(a).code).toBe(Code.Unimplemented);
      expect(grpcStatus(a).message).toMatch(/^protocol error/);
    }
  });
});

describe("request size limit (READ_MAX_BYTES = 1 KiB)", () => {
  it("Connect JSON: 429 resource_exhausted", async () => {
    const res = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "x".repeat(2 * READ_MAX_BYTES) }) });
    expect(res.status).toBe(429);
    expect((await res.json()).code).toBe("resource_exhausted");
  });

  it("gRPC over h2c: ResourceExhausted", async () => {
    const a = await h2Request(server.url, { ":path": CHECK, ...GRPC }, grpcFrame(oversize()));
    expect(grpcStatus(a).code).toBe(Code.ResourceExhausted);
  });

  it("gRPC: a frame that only claims to be huge is refused before it is read", async () => {
    const a = await h2Request(server.url, { ":path": CHECK, ...GRPC }, grpcFrame(new Uint8Array([0x0a]), 100 * 1024 * 1024));
    expect(grpcStatus(a)).toEqual({ code: Code.ResourceExhausted, message: expect.stringMatching(/104857600/) });
  });

  it("every protocol through connect-node: ResourceExhausted", async () => {
    const big = { service: "x".repeat(2 * READ_MAX_BYTES) };
    for (const t of [
      createGrpcTransport({ baseUrl: server.url }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
    ]) {
      const err = await t.unary(Health.method.check, undefined, undefined, undefined, big).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.ResourceExhausted);
    }
  });

  it("a message just under the limit is still served", async () => {
    const res = await fetch(`${server.url}${CHECK}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: "x".repeat(READ_MAX_BYTES - 100) }) });
    expect(res.status).toBe(404); // an unknown service, but the request was read and answered
    expect((await res.json()).code).toBe("not_found");
  });
});

describe("deadlines (MAX_DEADLINE_MS = 400 ms)", () => {
  const transports = {
    gRPC: () => createGrpcTransport({ baseUrl: server.url }),
    "gRPC-Web": () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    Connect: () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  };

  /** Opens Health.Watch with a client timeout; resolves with the end code and when it ended. */
  async function watch(make: () => ReturnType<typeof createGrpcTransport>, timeoutMs: number | undefined, abortAfterMs?: number) {
    const ac = new AbortController();
    if (abortAfterMs) setTimeout(() => ac.abort(), abortAfterMs);
    const start = performance.now();
    const res = await make().stream(Health.method.watch, ac.signal, timeoutMs, undefined, (async function* () {
      yield create(HealthCheckRequestSchema, {});
    })());
    const messages: number[] = [];
    try {
      for await (const m of res.message) messages.push(m.status);
      return { code: 0, ms: performance.now() - start, messages };
    } catch (e) {
      return { code: ConnectError.from(e).code, ms: performance.now() - start, messages };
    }
  }

  for (const [name, make] of Object.entries(transports)) {
    it(`${name}: a 30 s client deadline is cut to the ceiling and ends with DeadlineExceeded`, async () => {
      const r = await watch(make, 30_000);
      expect(r.messages).toEqual([HealthCheckResponse_ServingStatus.SERVING]);
      expect(Code[r.code]).toBe(Code[Code.DeadlineExceeded]);
      expect(r.ms).toBeGreaterThanOrEqual(MAX_DEADLINE_MS - 50);
      expect(r.ms).toBeLessThan(MAX_DEADLINE_MS + 1500);
    });
  }

  it("gRPC: a client deadline under the ceiling is kept", async () => {
    const r = await watch(transports.gRPC, 150);
    expect(Code[r.code]).toBe(Code[Code.DeadlineExceeded]);
    expect(r.ms).toBeLessThan(MAX_DEADLINE_MS);
  });

  it("gRPC: a stream the client leaves open-ended gets no deadline (it outlives the ceiling until cancelled)", async () => {
    const r = await watch(transports.gRPC, undefined, MAX_DEADLINE_MS + 400);
    expect(Code[r.code]).toBe(Code[Code.Canceled]);
    expect(r.ms).toBeGreaterThanOrEqual(MAX_DEADLINE_MS + 350);
  });

  it("gRPC: a malformed or absurd grpc-timeout is replaced by the server's limits instead of failing the call", async () => {
    // Connect itself rejects a malformed grpc-timeout; success shows the server rewrote it.
    // (DEFAULT_DEADLINE_MS for unary calls is not observable with Health.Check, which answers at once.)
    const a = await h2Request(server.url, { ":path": CHECK, ...GRPC, "grpc-timeout": "soon" }, grpcFrame(new Uint8Array()));
    expect(grpcStatus(a).code).toBe(0);
    const b = await h2Request(server.url, { ":path": CHECK, ...GRPC, "grpc-timeout": "99999999H" }, grpcFrame(new Uint8Array()));
    expect(grpcStatus(b).code).toBe(0);
  });

});

/**
 * The unary fast path (src/server/fast-unary.ts, issue 13) speaks every protocol exactly as
 * connect-node's handlers do. Two servers, RPC_FAST_PATH on and off, get the same raw requests
 * (node:http for HTTP/1.1, node:http2 for h2c) for every unary shape, and their answers are
 * compared: status, every response header (except IGNORED below), HTTP trailers, whether an h2
 * response ended on its first HEADERS frame (trailers-only), and the body byte for byte. Then the
 * same shapes through connect-node's clients (Connect, gRPC, gRPC-Web, HTTP/1.1 and h2c) and
 * @grpc/grpc-js compare what the application sees. The fast path's counters prove which path
 * answered: the shapes it serves must be served by it, the ones it hands over must be handed over.
 */
import { gzipSync } from "node:zlib";
import http from "node:http";
import http2 from "node:http2";
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage, type DescMethodUnary, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { durationFromMs, FileDescriptorProtoSchema, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { file_grpc_health_v1_health, Health, HealthCheckRequestSchema, type HealthCheckRequest } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorInfoSchema } from "../../gen/sqlstudio/common/v1/error_pb.js";
import { authEnv, registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";

// ── A test service: HealthCheckRequest in and out, its one string field says what to do ─────────
const file = create(FileDescriptorProtoSchema, {
  name: "sqlstudio/test/v1/conformance.proto",
  package: "sqlstudio.test.v1",
  syntax: "proto3",
  dependency: [file_grpc_health_v1_health.proto.name],
  service: [
    {
      name: "Conformance",
      method: [
        { name: "Echo", inputType: ".grpc.health.v1.HealthCheckRequest", outputType: ".grpc.health.v1.HealthCheckRequest" },
        {
          name: "Lookup",
          inputType: ".grpc.health.v1.HealthCheckRequest",
          outputType: ".grpc.health.v1.HealthCheckRequest",
          options: { idempotencyLevel: MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS },
        },
      ],
    },
  ],
});
const registry = createFileRegistry(file, (name) => (name === file_grpc_health_v1_health.proto.name ? file_grpc_health_v1_health : undefined));
const Conformance = registry.getService("sqlstudio.test.v1.Conformance") as DescService;
const Echo = Conformance.method.echo as DescMethodUnary<typeof HealthCheckRequestSchema, typeof HealthCheckRequestSchema>;

/** Why each call's signal aborted, by request id ("hold" and "watch" calls). */
const aborted = new Map<string, string>();

async function echo(req: HealthCheckRequest, ctx: HandlerContext): Promise<HealthCheckRequest> {
  ctx.responseHeader.set("x-test-header", "h");
  ctx.responseTrailer.set("x-test-trailer", "t");
  const id = ctx.requestHeader.get("x-request-id") ?? "";
  switch (req.service) {
    case "hold":
      // Until the client goes away.
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      aborted.set(id, Code[ConnectError.from(ctx.signal.reason).code]);
      throw ConnectError.from(ctx.signal.reason);
    case "watch":
      ctx.signal.addEventListener("abort", () => aborted.set(id, Code[ConnectError.from(ctx.signal.reason).code]), { once: true });
      return req;
    case "error":
      // An error with details and metadata, as the server's own errors are (a reason of the test's own, so not from the catalog).
      const info = create(ErrorInfoSchema, { reason: "TEST_REASON", field: "service", retryAfter: durationFromMs(1500), metadata: { k: "v" } });
      const err = new ConnectError("it went wrong: ünïcödé ✓ 🌍 %", Code.FailedPrecondition, undefined, [{ desc: ErrorInfoSchema, value: info }]);
      err.metadata.set("retry-after", "2");
      throw err;
    case "bug":
      throw new Error("a secret the client must not see");
    case "sleep":
      // Until the deadline (or a disconnect) aborts the call's signal.
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      throw ConnectError.from(ctx.signal.reason);
    default:
      return req;
  }
}

// ── Raw HTTP ───────────────────────────────────────────────────────────────────────────────────
interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}
interface RawResponse {
  status: number;
  headers: Record<string, string | string[]>;
  trailers: Record<string, string | string[]>;
  /** h2: the response ended with its HEADERS frame (a trailers-only response). */
  headersOnly?: boolean;
  body: Buffer;
}

/** Response headers that may differ between two servers answering the same request, and why. */
const IGNORED: Record<string, string> = {
  date: "the clock",
};

function h1(origin: string, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = typeof r.body === "string" ? Buffer.from(r.body) : r.body;
    const req = http.request(`${origin}${r.path}`, { method: r.method ?? "POST", headers: { ...(body ? { "content-length": String(body.length) } : {}), ...r.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: strip(res.headers), trailers: strip(res.trailers), body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function h2(session: http2.ClientHttp2Session, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = typeof r.body === "string" ? Buffer.from(r.body) : r.body;
    const stream = session.request({ ":method": r.method ?? "POST", ":path": r.path, ...r.headers });
    let status = 0;
    let headers: Record<string, string | string[]> = {};
    let trailers: Record<string, string | string[]> = {};
    let headersOnly = false;
    const chunks: Buffer[] = [];
    stream.on("response", (h, flags) => {
      status = Number(h[":status"]);
      headers = strip(h as Record<string, string>);
      headersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on("trailers", (t) => (trailers = strip(t as Record<string, string>)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ status, headers, trailers, headersOnly, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    stream.end(body);
  });
}

function strip(h: Record<string, unknown>): Record<string, string | string[]> {
  const o: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && !(k in IGNORED) && v !== undefined) o[k] = v as string | string[];
  return o;
}

const envelope = (data: Uint8Array, flags = 0) => {
  const b = Buffer.alloc(5 + data.length);
  b[0] = flags;
  b.writeUInt32BE(data.length, 1);
  b.set(data, 5);
  return b;
};
const pb = (service: string) => toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service }));
const CHECK = "/grpc.health.v1.Health/Check";
const ECHO = "/sqlstudio.test.v1.Conformance/Echo";
const LOOKUP = "/sqlstudio.test.v1.Conformance/Lookup";
const LARGE = "large ".repeat(50_000); // 300 KB: compressed out when the client accepts gzip
const UNICODE = "héllo ✓ 🌍 — 日本語 \u0000 \\ \" end";
/** HealthCheckRequest{service: "x"} followed by an unknown field 99 (varint 7) the echo sends back. */
const WITH_UNKNOWN = Buffer.concat([Buffer.from(pb("x")), Buffer.from([0x98, 0x06, 0x07])]);
const READ_MAX = 1024 * 1024;

interface Shape {
  name: string;
  transports: ("h1" | "h2")[];
  req: RawRequest;
  /** Served by the fast path itself (true) or handed to connect-node (false). */
  fast: boolean;
  /** What the answer must be (both paths): HTTP status, and for gRPC its grpc-status. */
  status: number;
  grpcStatus?: string;
  auth?: boolean;
}

const connectJson = { "content-type": "application/json", "connect-protocol-version": "1" };
const connectProto = { "content-type": "application/proto", "connect-protocol-version": "1" };
const grpcH = { "content-type": "application/grpc", te: "trailers" };
const grpcWebH = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
const both: Shape["transports"] = ["h1", "h2"];
const q = (p: Record<string, string>) => new URLSearchParams(p).toString();

const SHAPES: Shape[] = [
  // Connect
  { name: "Connect JSON, empty message", transports: both, req: { path: CHECK, headers: connectJson, body: "{}" }, fast: true, status: 200 },
  { name: "Connect binary, empty body", transports: both, req: { path: CHECK, headers: connectProto, body: new Uint8Array(0) }, fast: true, status: 200 },
  { name: "Connect JSON, error with ErrorInfo (NotFound)", transports: both, req: { path: CHECK, headers: connectJson, body: '{"service":"nope"}' }, fast: true, status: 404 },
  { name: "Connect JSON, unicode", transports: both, req: { path: ECHO, headers: connectJson, body: JSON.stringify({ service: UNICODE }) }, fast: true, status: 200, auth: true },
  { name: "Connect binary, large, gzip out", transports: both, req: { path: ECHO, headers: { ...connectProto, "accept-encoding": "gzip" }, body: pb(LARGE) }, fast: true, status: 200, auth: true },
  { name: "Connect JSON, large, no compression accepted", transports: ["h1"], req: { path: ECHO, headers: connectJson, body: JSON.stringify({ service: LARGE }) }, fast: true, status: 200, auth: true },
  { name: "Connect binary, gzip in and out", transports: both, req: { path: ECHO, headers: { ...connectProto, "content-encoding": "gzip", "accept-encoding": "gzip" }, body: gzipSync(pb(LARGE)) }, fast: true, status: 200, auth: true },
  { name: "Connect binary, unknown compression", transports: ["h1"], req: { path: ECHO, headers: { ...connectProto, "content-encoding": "zstd9" }, body: pb("x") }, fast: true, status: 501, auth: true },
  { name: "Connect binary, unknown fields kept", transports: both, req: { path: ECHO, headers: connectProto, body: WITH_UNKNOWN }, fast: true, status: 200, auth: true },
  { name: "Connect JSON, unknown field refused", transports: ["h1"], req: { path: ECHO, headers: connectJson, body: '{"service":"x","nope":1}' }, fast: true, status: 400, auth: true },
  { name: "Connect JSON, malformed JSON", transports: ["h1"], req: { path: ECHO, headers: connectJson, body: '{"service":' }, fast: true, status: 400, auth: true },
  { name: "Connect JSON, error with details, metadata, headers and trailers", transports: both, req: { path: ECHO, headers: connectJson, body: '{"service":"error"}' }, fast: true, status: 400, auth: true },
  { name: "Connect JSON, a bug is Internal without its message", transports: ["h1"], req: { path: ECHO, headers: connectJson, body: '{"service":"bug"}' }, fast: true, status: 500, auth: true },
  { name: "Connect JSON, deadline exceeded", transports: both, req: { path: ECHO, headers: { ...connectJson, "connect-timeout-ms": "100" }, body: '{"service":"sleep"}' }, fast: true, status: 504, auth: true },
  { name: "Connect JSON, unauthenticated", transports: ["h1"], req: { path: ECHO, headers: connectJson, body: "{}" }, fast: true, status: 401 },
  { name: "Connect GET, base64 binary message", transports: both, req: { method: "GET", path: `${CHECK}?${q({ connect: "v1", encoding: "proto", base64: "1", message: Buffer.from(pb("")).toString("base64url") })}` }, fast: true, status: 200 },
  { name: "Connect GET, JSON message", transports: both, req: { method: "GET", path: `${CHECK}?${q({ connect: "v1", encoding: "json", message: '{"service":"nope"}' })}` }, fast: true, status: 404 },
  { name: "Connect GET, JSON unicode, authenticated", transports: ["h1"], req: { method: "GET", path: `${LOOKUP}?${q({ connect: "v1", encoding: "json", message: JSON.stringify({ service: UNICODE }) })}` }, fast: true, status: 200, auth: true },
  { name: "Connect GET, gzip message", transports: ["h1"], req: { method: "GET", path: `${LOOKUP}?${q({ connect: "v1", encoding: "proto", base64: "1", compression: "gzip", message: gzipSync(pb("zipped")).toString("base64url") })}`, headers: { "accept-encoding": "gzip" } }, fast: true, status: 200, auth: true },
  // Handed to connect-node, whose answer (Internal) request-faults.ts turns into InvalidArgument on both paths.
  { name: "Connect GET, message that is not base64", transports: ["h1"], req: { method: "GET", path: `${CHECK}?${q({ connect: "v1", encoding: "proto", base64: "1", message: "%%%not base64" })}` }, fast: false, status: 400 },
  // gRPC
  { name: "gRPC, empty message", transports: both, req: { path: CHECK, headers: grpcH, body: envelope(new Uint8Array(0)) }, fast: true, status: 200, grpcStatus: "0" },
  { name: "gRPC, error with ErrorInfo (headers then trailers)", transports: both, req: { path: CHECK, headers: grpcH, body: envelope(pb("nope")) }, fast: true, status: 200, grpcStatus: "5" },
  { name: "gRPC, error with details, metadata, headers and trailers", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: envelope(pb("error")) }, fast: true, status: 200, grpcStatus: "9", auth: true },
  { name: "gRPC, unicode and unknown fields", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: envelope(Buffer.concat([Buffer.from(pb(UNICODE)), Buffer.from([0x98, 0x06, 0x07])])) }, fast: true, status: 200, grpcStatus: "0", auth: true },
  { name: "gRPC, large, gzip in and out", transports: ["h2"], req: { path: ECHO, headers: { ...grpcH, "grpc-encoding": "gzip", "grpc-accept-encoding": "gzip" }, body: envelope(gzipSync(pb(LARGE)), 1) }, fast: true, status: 200, grpcStatus: "0", auth: true },
  { name: "gRPC, large, gzip out only", transports: ["h2"], req: { path: ECHO, headers: { ...grpcH, "grpc-accept-encoding": "gzip" }, body: envelope(pb(LARGE)) }, fast: true, status: 200, grpcStatus: "0", auth: true },
  { name: "gRPC, unknown compression", transports: ["h2"], req: { path: ECHO, headers: { ...grpcH, "grpc-encoding": "zstd9" }, body: envelope(pb("x"), 1) }, fast: true, status: 200, grpcStatus: "12", auth: true },
  { name: "gRPC, deadline exceeded", transports: ["h2"], req: { path: ECHO, headers: { ...grpcH, "grpc-timeout": "100m" }, body: envelope(pb("sleep")) }, fast: true, status: 200, grpcStatus: "4", auth: true },
  { name: "gRPC, a bug is Internal", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: envelope(pb("bug")) }, fast: true, status: 200, grpcStatus: "13", auth: true },
  { name: "gRPC+json", transports: ["h2"], req: { path: ECHO, headers: { ...grpcH, "content-type": "application/grpc+json" }, body: envelope(Buffer.from('{"service":"json"}')) }, fast: true, status: 200, grpcStatus: "0", auth: true },
  // gRPC-Web
  { name: "gRPC-Web binary, empty message", transports: both, req: { path: CHECK, headers: grpcWebH, body: envelope(new Uint8Array(0)) }, fast: true, status: 200 },
  { name: "gRPC-Web binary, error (trailers-only in the body)", transports: both, req: { path: CHECK, headers: grpcWebH, body: envelope(pb("nope")) }, fast: true, status: 200 },
  { name: "gRPC-Web binary, error with details, metadata, headers and trailers", transports: ["h1"], req: { path: ECHO, headers: grpcWebH, body: envelope(pb("error")) }, fast: true, status: 200, auth: true },
  { name: "gRPC-Web binary, large, gzip in and out", transports: ["h1"], req: { path: ECHO, headers: { ...grpcWebH, "grpc-encoding": "gzip", "grpc-accept-encoding": "gzip" }, body: envelope(gzipSync(pb(LARGE)), 1) }, fast: true, status: 200, auth: true },
  { name: "gRPC-Web binary, unicode, deadline exceeded", transports: ["h1"], req: { path: ECHO, headers: { ...grpcWebH, "grpc-timeout": "100m" }, body: envelope(pb("sleep")) }, fast: true, status: 200, auth: true },
  { name: "gRPC-Web (plain content type)", transports: ["h1"], req: { path: CHECK, headers: { "content-type": "application/grpc-web" }, body: envelope(new Uint8Array(0)) }, fast: true, status: 200 },
  // What the fast path hands to connect-node: the answer must be connect-node's, byte for byte.
  { name: "gRPC-Web text (connect-node: 415)", transports: ["h1"], req: { path: CHECK, headers: { "content-type": "application/grpc-web-text" }, body: Buffer.from(envelope(new Uint8Array(0))).toString("base64") }, fast: false, status: 415 },
  { name: "unknown content type", transports: both, req: { path: CHECK, headers: { "content-type": "text/plain" }, body: "{}" }, fast: false, status: 415 },
  { name: "streaming content type on a unary method", transports: ["h1"], req: { path: CHECK, headers: { "content-type": "application/connect+json" }, body: "{}" }, fast: false, status: 415 },
  { name: "PUT", transports: ["h1"], req: { method: "PUT", path: CHECK, headers: connectJson, body: "{}" }, fast: false, status: 405 },
  { name: "GET on a method with side effects", transports: ["h1"], req: { method: "GET", path: `${ECHO}?${q({ encoding: "json", message: "{}" })}` }, fast: false, status: 405, auth: true },
  { name: "GET with an unknown encoding", transports: ["h1"], req: { method: "GET", path: `${CHECK}?${q({ encoding: "xml", message: "{}" })}` }, fast: false, status: 415 },
  { name: "Connect body over READ_MAX_BYTES", transports: both, req: { path: ECHO, headers: connectProto, body: pb("o".repeat(READ_MAX + 10)) }, fast: false, status: 429, auth: true },
  { name: "gRPC message over READ_MAX_BYTES", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: envelope(pb("o".repeat(READ_MAX + 10))) }, fast: false, status: 200, grpcStatus: "8", auth: true },
  { name: "gRPC, two messages for a unary method", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: Buffer.concat([envelope(pb("a")), envelope(pb("b"))]) }, fast: false, status: 200, grpcStatus: "12", auth: true },
  { name: "gRPC, no message", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: new Uint8Array(0) }, fast: false, status: 200, grpcStatus: "12", auth: true },
  { name: "gRPC, truncated envelope", transports: ["h2"], req: { path: ECHO, headers: grpcH, body: envelope(pb("abc")).subarray(0, 7) }, fast: false, status: 200, grpcStatus: "3", auth: true },
];

let fast: AuthTestServer;
let slow: AuthTestServer;
const tokens = new Map<AuthTestServer, string>();
const sessions = new Map<AuthTestServer, http2.ClientHttp2Session>();

beforeAll(async () => {
  const start = (on: boolean) =>
    startAuthServer({ env: authEnv({ RPC_FAST_PATH: on ? "true" : "false", READ_MAX_BYTES: String(READ_MAX) }), services: [[Conformance, { echo, lookup: echo } as never]] });
  [fast, slow] = await Promise.all([start(true), start(false)]);
  expect(fast.app.fastUnary).toBeDefined();
  expect(slow.app.fastUnary).toBeUndefined();
  for (const s of [fast, slow]) {
    tokens.set(s, (await registerAndLogin(s, "conf")).session.accessToken);
    sessions.set(s, http2.connect(s.url));
  }
});
afterAll(async () => {
  for (const s of sessions.values()) s.close();
  await Promise.all([fast?.stop(), slow?.stop()]);
});

async function send(server: AuthTestServer, transport: "h1" | "h2", shape: Shape): Promise<RawResponse> {
  const headers: Record<string, string> = { "x-request-id": "conformance-1", "x-forwarded-for": "203.0.113.9", ...shape.req.headers };
  if (shape.auth) headers.authorization = `Bearer ${tokens.get(server)}`;
  const req = { ...shape.req, headers };
  return transport === "h1" ? h1(server.url, req) : h2(sessions.get(server)!, req);
}

describe("raw requests: the fast path answers byte for byte as connect-node", () => {
  for (const shape of SHAPES) {
    for (const transport of shape.transports) {
      it(`${shape.name} (${transport === "h1" ? "HTTP/1.1" : "h2c"})`, async () => {
        const before = { ...fast.app.fastUnary! };
        const a = await send(fast, transport, shape);
        const after = fast.app.fastUnary!;
        expect({ served: after.served - before.served, handedOver: after.handedOver - before.handedOver }).toEqual(shape.fast ? { served: 1, handedOver: 0 } : { served: 0, handedOver: 1 });
        const b = await send(slow, transport, shape);
        expect(a.status).toBe(shape.status);
        if (shape.grpcStatus !== undefined) expect(a.trailers["grpc-status"] ?? a.headers["grpc-status"]).toBe(shape.grpcStatus);
        expect(a.headers).toEqual(b.headers);
        expect(a.trailers).toEqual(b.trailers);
        expect(a.headersOnly).toBe(b.headersOnly);
        expect(a.status).toBe(b.status);
        expect(a.body.equals(b.body), `body differs:\nfast ${a.body.toString("hex").slice(0, 400)}\nslow ${b.body.toString("hex").slice(0, 400)}`).toBe(true);
      });
    }
  }

  it("the shapes above cover every protocol on both transports", () => {
    const kinds = new Set(SHAPES.flatMap((s) => s.transports.map((t) => `${t} ${String(s.req.headers?.["content-type"] ?? "GET").split(/[;+]/)[0]}`)));
    for (const k of ["h1 application/json", "h2 application/json", "h1 application/proto", "h2 application/proto", "h1 GET", "h2 GET", "h1 application/grpc", "h2 application/grpc", "h1 application/grpc-web", "h2 application/grpc-web"]) {
      expect(kinds, k).toContain(k);
    }
  });
});

// ── Clients: what the application sees is the same on both paths ──────────────────────────────
type Outcome = { ok: unknown } | { code: string; message: string; details: unknown[]; metadata: Record<string, string> };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await p };
  } catch (e) {
    const err = ConnectError.from(e);
    const metadata: Record<string, string> = {};
    err.metadata.forEach((v, k) => {
      if (!(k in IGNORED) && k !== "content-length") metadata[k] = v;
    });
    return { code: Code[err.code], message: err.rawMessage, details: err.details.map((d) => ("desc" in d ? d.desc.typeName : d.type)), metadata };
  }
}

const CLIENTS: { name: string; make: (baseUrl: string) => Transport }[] = [
  { name: "connect-node Connect JSON, HTTP/1.1", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "connect-node Connect binary, h2c", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }) },
  { name: "connect-node Connect GET, HTTP/1.1", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true }) },
  { name: "connect-node Connect binary gzip, HTTP/1.1", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, sendCompression: compressionGzip, compressMinBytes: 1 }) },
  { name: "connect-node gRPC, h2c", make: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "connect-node gRPC gzip, h2c", make: (baseUrl) => createGrpcTransport({ baseUrl, sendCompression: compressionGzip, compressMinBytes: 1 }) },
  { name: "connect-node gRPC-Web, HTTP/1.1", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "connect-node gRPC-Web, h2c", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }) },
];

const CALLS: { name: string; method: DescMethodUnary; service: string; timeoutMs?: number; auth?: boolean }[] = [
  { name: "Health.Check", method: Health.method.check as DescMethodUnary, service: "" },
  { name: "Health.Check(nope)", method: Health.method.check as DescMethodUnary, service: "nope" },
  { name: "Lookup(unicode)", method: Conformance.method.lookup as DescMethodUnary, service: UNICODE, auth: true },
  { name: "Echo(large)", method: Echo as DescMethodUnary, service: LARGE, auth: true },
  { name: "Echo(error)", method: Echo as DescMethodUnary, service: "error", auth: true },
  { name: "Echo(bug)", method: Echo as DescMethodUnary, service: "bug", auth: true },
  { name: "Echo(sleep) with a 100 ms deadline", method: Echo as DescMethodUnary, service: "sleep", timeoutMs: 100, auth: true },
];

describe("clients see the same answers on both paths", () => {
  for (const client of CLIENTS) {
    it(client.name, async () => {
      const run = async (server: AuthTestServer) => {
        const t = client.make(server.url);
        const results: Outcome[] = [];
        for (const c of CALLS) {
          const header: Record<string, string> = { "x-forwarded-for": "203.0.113.10", "x-request-id": "conformance-2" };
          if (c.auth) header.authorization = `Bearer ${tokens.get(server)}`;
          const input = create(c.method.input as DescMessage, { service: c.service }) as MessageShape<DescMessage>;
          results.push(
            await outcome(
              t.unary(c.method as DescMethodUnary<DescMessage, DescMessage>, undefined, c.timeoutMs, header, input).then((r) => ({
                message: toBinary(c.method.output as DescMessage, r.message as never).length,
                header: r.header.get("x-test-header"),
                trailer: r.trailer.get("x-test-trailer"),
              })),
            ),
          );
        }
        return results;
      };
      const a = await run(fast);
      const b = await run(slow);
      expect(a).toEqual(b);
      // Not vacuous: the calls did what they say.
      expect(a[0]).toEqual({ ok: expect.objectContaining({ message: 2 }) });
      expect((a[4] as { code: string }).code).toBe("FailedPrecondition");
      expect((a[6] as { code: string }).code).toBe("DeadlineExceeded");
    });
  }

  it("@grpc/grpc-js", async () => {
    const run = async (server: AuthTestServer) => {
      const client = new grpcJs.Client(server.url.replace("http://", ""), grpcJs.credentials.createInsecure());
      const call = (path: string, service: string, auth: boolean, deadlineMs?: number) =>
        new Promise<unknown>((resolve) => {
          const md = new grpcJs.Metadata();
          if (auth) md.set("authorization", `Bearer ${tokens.get(server)}`);
          md.set("x-forwarded-for", "203.0.113.11");
          md.set("x-request-id", "conformance-3");
          client.makeUnaryRequest(
            path,
            (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
            (b: Buffer) => fromBinary(HealthCheckRequestSchema, b),
            create(HealthCheckRequestSchema, { service }),
            md,
            deadlineMs ? { deadline: Date.now() + deadlineMs } : {},
            (err, value) =>
              resolve(
                err
                  ? // A deadline grpc-js enforces itself names its own timings: only its code is compared.
                    { code: err.code, details: err.code === grpcJs.status.DEADLINE_EXCEEDED ? "" : err.details, trailers: Object.keys(err.metadata.getMap()).filter((k) => k !== "date").sort() }
                  : { service: (value as HealthCheckRequest).service.length },
              ),
          );
        });
      const out = [
        await call(CHECK, "", false),
        await call(CHECK, "nope", false),
        await call(ECHO, UNICODE, true),
        await call(ECHO, LARGE, true),
        await call(ECHO, "error", true),
        await call(ECHO, "sleep", true, 100),
      ];
      client.close();
      return out;
    };
    const a = await run(fast);
    const b = await run(slow);
    expect(a).toEqual(b);
    expect(a[4]).toMatchObject({ code: grpcJs.status.FAILED_PRECONDITION });
    expect(a[3]).toEqual({ service: LARGE.length });
  });
});

describe("the call's signal", () => {
  const until = async (f: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; !f() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  };

  for (const transport of ["h1", "h2"] as const) {
    it(`aborts with Canceled when the client goes away (${transport === "h1" ? "HTTP/1.1" : "h2c"}), on both paths`, async () => {
      for (const server of [fast, slow]) {
        const id = `hold-${transport}-${server === fast ? "fast" : "slow"}`;
        const headers = { ...connectJson, "x-request-id": id, authorization: `Bearer ${tokens.get(server)}`, "x-forwarded-for": "203.0.113.12" };
        if (transport === "h1") {
          const req = http.request(`${server.url}${ECHO}`, { method: "POST", headers, agent: false });
          req.on("error", () => undefined);
          req.end('{"service":"hold"}');
          await new Promise((r) => setTimeout(r, 300));
          req.destroy();
        } else {
          const stream = sessions.get(server)!.request({ ":method": "POST", ":path": ECHO, ...headers });
          stream.on("error", () => undefined);
          stream.end('{"service":"hold"}');
          await new Promise((r) => setTimeout(r, 300));
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
        await until(() => aborted.has(id), 3_000);
        expect(aborted.get(id), id).toBe("Canceled");
      }
    });
  }

  it("is not aborted when the call ends normally on the fast path (connect-node aborts it then)", async () => {
    const shape: Shape = { name: "watch", transports: ["h1"], req: { path: ECHO, headers: { ...connectJson, "x-request-id": "watch-fast" }, body: '{"service":"watch"}' }, fast: true, status: 200, auth: true };
    expect((await send(fast, "h1", shape)).status).toBe(200);
    expect((await send(slow, "h1", { ...shape, req: { ...shape.req, headers: { ...connectJson, "x-request-id": "watch-slow" } } })).status).toBe(200);
    await until(() => aborted.has("watch-slow"), 1_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(aborted.has("watch-fast")).toBe(false);
  });
});

/**
 * Issue 18, item 4: RPC streams without limits. Real HTTP/2 clients against the real server:
 * - the server advertises HTTP2_MAX_CONCURRENT_STREAMS and HTTP2_MAX_HEADER_LIST_BYTES in its
 *   SETTINGS, on h2c and on TLS (node's defaults were "unlimited" and 64 KB);
 * - a hostile client that ignores the setting and opens 300 streams at once gets the extra ones
 *   refused (RST_STREAM REFUSED_STREAM), or, having acknowledged the setting, loses the connection;
 * - a header block above the cap is refused, whether or not the client acknowledged the setting;
 * - 10,000 RealtimeService/Subscribe calls of one user on one connection (connect-node, gRPC over
 *   HTTP/2): REALTIME_MAX_SUBSCRIPTIONS_PER_USER are accepted, the others end with
 *   ResourceExhausted naming the limit, and one Push is delivered that many times, not 10,000.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RealtimeService } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { errorInfoOf, registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";
import { H2_EMPTY_SETTINGS, H2_PREFACE, rawConnect } from "../support/clients/raw.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { newQuery, push, until } from "../support/realtime.js";
import { clientFor } from "../support/rpc.js";

const MAX_STREAMS = 50;
const MAX_HEADER_BYTES = 8 * 1024;
const PER_USER = 20;
const ENV = {
  HTTP2_MAX_CONCURRENT_STREAMS: String(MAX_STREAMS),
  HTTP2_MAX_HEADER_LIST_BYTES: String(MAX_HEADER_BYTES),
  REALTIME_MAX_SUBSCRIPTIONS_PER_USER: String(PER_USER),
};

let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer({ env: ENV });
});
afterAll(async () => {
  await server?.stop();
});

/** The server's SETTINGS as a node:http2 client sees them. */
function remoteSettings(url: string, opts: http2.SecureClientSessionOptions = {}): Promise<http2.Settings> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, opts);
    session.once("error", reject);
    session.once("remoteSettings", (s) => {
      session.close();
      resolve(s);
    });
  });
}

// ── a hand-made HTTP/2 client that ignores the server's settings ─────────────

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A header block of "literal without indexing, new name" fields (no Huffman). */
function hpackBlock(headers: [string, string][]): Buffer {
  const parts: number[] = [];
  for (const [name, value] of headers) {
    parts.push(0x00, ...hpackInt(name.length, 7), ...Buffer.from(name), ...hpackInt(Buffer.byteLength(value), 7), ...Buffer.from(value));
  }
  return Buffer.from(parts);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** Frames with their stream ids. */
function framesOf(buf: Buffer): { type: number; stream: number; payload: Buffer }[] {
  const out = [];
  for (let at = 0; buf.length - at >= 9; ) {
    const len = buf.readUIntBE(at, 3);
    if (buf.length - at - 9 < len) break;
    out.push({ type: buf[at + 3], stream: buf.readUInt32BE(at + 5) & 0x7fffffff, payload: buf.subarray(at + 9, at + 9 + len) });
    at += 9 + len;
  }
  return out;
}

describe("HTTP/2 settings", () => {
  it("h2c: SETTINGS carry the configured max concurrent streams and header list size", async () => {
    const s = await remoteSettings(server.url);
    expect(s.maxConcurrentStreams).toBe(MAX_STREAMS);
    expect(s.maxHeaderListSize).toBe(MAX_HEADER_BYTES);
  });

  it("defaults: 100 streams and 16 KiB of headers per connection", async () => {
    const plain = await startTestServer();
    try {
      const s = await remoteSettings(plain.url);
      expect(s.maxConcurrentStreams).toBe(100);
      expect(s.maxHeaderListSize).toBe(16 * 1024);
    } finally {
      await plain.stop();
    }
  });

  it("TLS (ALPN h2): the same settings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sqlstudio-h2tls-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    expect(made.status, String(made.stderr)).toBe(0);
    let tls: TestServer | undefined;
    try {
      tls = await startTestServer({ env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key, ...ENV } });
      const s = await remoteSettings(`https://127.0.0.1:${tls.ports.api}`, { ca: readFileSync(cert) });
      expect(s.maxConcurrentStreams).toBe(MAX_STREAMS);
      expect(s.maxHeaderListSize).toBe(MAX_HEADER_BYTES);
    } finally {
      await tls?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Opens `n` Health/Watch streams (server streams that stay open) at once on a raw h2c connection. */
async function floodStreams(port: number, n: number, opts: { ackSettings: boolean }) {
  const c = await rawConnect(port);
  const GRPC_EMPTY = Buffer.from([0, 0, 0, 0, 0]);
  // A client that acknowledges the server's SETTINGS before reading them, then ignores them.
  const out: Buffer[] = opts.ackSettings ? [H2_PREFACE, H2_EMPTY_SETTINGS, frame(0x4, 0x1, 0, Buffer.alloc(0))] : [H2_PREFACE, H2_EMPTY_SETTINGS];
  const block = hpackBlock([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", "/grpc.health.v1.Health/Watch"],
    [":authority", "127.0.0.1"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ]);
  for (let i = 0; i < n; i++) out.push(frame(0x1, 0x4, 1 + 2 * i, block), frame(0x0, 0x1, 1 + 2 * i, GRPC_EMPTY));
  c.socket.write(Buffer.concat(out));
  let gone = false;
  void c.closed.then(() => (gone = true));
  const tally = () => {
    const fs = framesOf(c.received());
    return {
      answered: new Set(fs.filter((f) => f.type === 0x1 && f.stream > 0).map((f) => f.stream)).size,
      refused: new Set(fs.filter((f) => f.type === 0x3 && f.payload.readUInt32BE(0) === http2.constants.NGHTTP2_REFUSED_STREAM).map((f) => f.stream)).size,
      goaway: fs.some((f) => f.type === 0x7),
      gone,
    };
  };
  // Every stream answered or refused, or the connection ended by the server.
  await until(() => {
    const t = tally();
    return t.gone || t.goaway || t.answered + t.refused >= n;
  }, 15_000, `the server to answer, refuse or drop ${n} streams`).catch(() => undefined);
  // Answers already in flight when the count was complete.
  await new Promise((r) => setTimeout(r, 200));
  const t = tally();
  c.socket.destroy();
  return t;
}

describe("HTTP/2 caps are enforced on clients that ignore them", () => {
  it("300 Health/Watch streams at once before acknowledging SETTINGS: the cap is served, the rest refused (REFUSED_STREAM)", async () => {
    const t = await floodStreams(server.ports.api, 300, { ackSettings: false });
    expect(t.answered).toBe(MAX_STREAMS);
    expect(t.refused).toBe(300 - MAX_STREAMS);
  });

  it("300 at once after acknowledging SETTINGS: a protocol error, the connection ends (GOAWAY), at most the cap is served", async () => {
    const before = await server.metrics.registry.getSingleMetric("http_rejected_total")?.get();
    const t = await floodStreams(server.ports.api, 300, { ackSettings: true });
    expect(t.answered).toBeLessThanOrEqual(MAX_STREAMS);
    expect(t.goaway || t.gone).toBe(true);
    const after = await server.metrics.registry.getSingleMetric("http_rejected_total")?.get();
    const n = (m: typeof after) => m?.values.find((v) => v.labels.reason === "h2_session_error")?.value ?? 0;
    expect(n(after)).toBeGreaterThan(n(before));
    // The server still serves everyone else.
    const s = await remoteSettings(server.url);
    expect(s.maxConcurrentStreams).toBe(MAX_STREAMS);
  });

  /** GET /health over h2c with `bytes` of extra header; `polite` waits for the server's SETTINGS first. */
  const ask = (bytes: number, polite: boolean) =>
    new Promise<{ status?: number; rst: number; error?: Error }>((resolve) => {
      const session = http2.connect(server.url);
      session.on("error", () => undefined);
      const send = () => {
        const req = session.request({ ":method": "GET", ":path": "/health", "x-pad": "a".repeat(bytes) });
        let status: number | undefined;
        let error: Error | undefined;
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("error", (e) => (error = e));
        req.resume();
        req.on("close", () => {
          session.close();
          resolve({ status, rst: req.rstCode ?? 0, error });
        });
        req.end();
      };
      if (polite) session.once("remoteSettings", () => setTimeout(send, 20));
      else send();
    });

  it("a header block above HTTP2_MAX_HEADER_LIST_BYTES is refused (by nghttp2 once SETTINGS are acknowledged, else with 431); one below is served", async () => {
    expect((await ask(2 * 1024, true)).status).toBe(200);
    expect((await ask(2 * 1024, false)).status).toBe(200);
    const polite = await ask(MAX_HEADER_BYTES + 1024, true);
    expect(polite.status).toBeUndefined();
    expect(polite.rst === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM || polite.error !== undefined).toBe(true);
    const hasty = await ask(MAX_HEADER_BYTES + 1024, false);
    expect(hasty.status === 431 || hasty.rst === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM).toBe(true);
  });
});

describe("HTTP2_MAX_SESSION_MEMORY_MB", () => {
  it("a connection that makes the server queue more than the cap (responses it never reads) gets new streams refused (ENHANCE_YOUR_CALM)", async () => {
    const own = await startTestServer({ env: { HTTP2_MAX_SESSION_MEMORY_MB: "1" } });
    try {
      // A client that opens no flow-control window: every response (/openapi.json, about 150 KB)
      // stays queued in the server's session.
      const session = http2.connect(own.url, { settings: { initialWindowSize: 0 } });
      session.on("error", () => undefined);
      await new Promise((r) => session.once("remoteSettings", r));
      let served = 0;
      let refused = 0;
      const N = 60;
      for (let i = 0; i < N; i++) {
        const req = session.request({ ":method": "GET", ":path": "/openapi.json" });
        req.on("response", () => served++);
        req.on("close", () => {
          if (req.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) refused++;
        });
        req.on("error", () => undefined);
        req.pause();
        await new Promise((r) => setTimeout(r, 10));
      }
      await until(() => served + refused >= N, 10_000, `${N} streams answered or refused (served ${served}, refused ${refused})`).catch(() => undefined);
      session.destroy();
      // About 1 MB of queued responses: a handful served, the rest refused (10 MB, node's default, would serve all 60).
      expect(refused).toBeGreaterThan(0);
      expect(served).toBeLessThan(20);
      // Another connection is served.
      const other = await remoteSettings(own.url);
      expect(other.maxConcurrentStreams).toBe(100);
    } finally {
      await own.stop();
    }
  });
});

describe("RealtimeService/Subscribe streams per user", () => {
  it("10,000 Subscribe calls of one user on one h2c connection (node:http2, gRPC): the cap is accepted, the others get RESOURCE_EXHAUSTED; a push is delivered cap times", async () => {
    const { session: login, id: userId } = await registerAndLogin(server, "h2sub");
    const hub = server.features.hub;
    const N = 10_000;
    // Enough refusals to see the pattern; the rest of the 10,000 wait in the client's queue (the
    // connection carries at most HTTP2_MAX_CONCURRENT_STREAMS at once) and are dropped at the end.
    const REFUSED = 200;
    const session = http2.connect(server.url, { maxSessionMemory: 1_000 });
    session.on("error", () => undefined);
    const statuses = new Map<string, number>();
    let delivered = 0;
    const open = () => {
      const req = session.request({
        ":method": "POST",
        ":path": "/sqlstudio.realtime.v1.RealtimeService/Subscribe",
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${login.accessToken}`,
      });
      req.on("error", () => undefined);
      req.on("data", () => delivered++);
      req.on("trailers", (t) => statuses.set(String(t["grpc-status"]), (statuses.get(String(t["grpc-status"])) ?? 0) + 1));
      // A status in the response headers (trailers-only answer) counts too.
      req.on("response", (h) => {
        if (h["grpc-status"] !== undefined) statuses.set(String(h["grpc-status"]), (statuses.get(String(h["grpc-status"])) ?? 0) + 1);
      });
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    };
    const refused = () => statuses.get("8") ?? 0;
    try {
      // The first call opens the connection; once the server's SETTINGS are in, the client keeps
      // to its stream cap (a burst sent before them would be refused by the server, REFUSED_STREAM).
      open();
      await until(() => hub.subscriptionsOf(userId) === 1, 5_000, "the first Subscribe");
      for (let i = 1; i < N; i++) open();
      await until(() => refused() >= REFUSED, 25_000, `${REFUSED} refused Subscribe calls (got ${refused()}, the hub holds ${hub.subscriptionsOf(userId)})`);
      expect(hub.subscriptionsOf(userId)).toBe(PER_USER);
      expect([...statuses.keys()]).toEqual(["8"]);

      await push(server, login.accessToken, "dev-a", [newQuery("one push")]);
      await until(() => delivered >= PER_USER, 5_000, "the push to reach every accepted stream");
      await new Promise((r) => setTimeout(r, 300));
      expect(delivered).toBe(PER_USER);
      expect(hub.subscriptionsOf(userId)).toBe(PER_USER);
      const hits = await server.metrics.registry.getSingleMetric("limit_hits_total")?.get();
      const hit = hits?.values.find((v) => v.labels.limit === "REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
      expect(hit?.value).toBeGreaterThanOrEqual(REFUSED);
    } finally {
      session.destroy();
    }
    await until(() => hub.subscriptionsOf(userId) === 0, 5_000, "the accepted streams to end when the client leaves");
  }, 90_000);

  it("connect-node (gRPC over HTTP/2): the refusal is ResourceExhausted with ErrorInfo naming REALTIME_MAX_SUBSCRIPTIONS_PER_USER", async () => {
    const { session } = await registerAndLogin(server, "h2sub2");
    const client = clientFor(RealtimeService, server, undefined, "grpc");
    const abort = new AbortController();
    const errors: ConnectError[] = [];
    const calls = Array.from({ length: PER_USER + 5 }, async () => {
      try {
        for await (const _ of client.subscribe({}, { headers: { authorization: `Bearer ${session.accessToken}` }, signal: abort.signal }));
      } catch (err) {
        if (!abort.signal.aborted) errors.push(ConnectError.from(err));
      }
    });
    try {
      await until(() => errors.length >= 5, 10_000, "5 refused calls");
      expect(errors.map((e) => e.code)).toEqual(Array(5).fill(Code.ResourceExhausted));
      const info = errorInfoOf(errors[0]);
      expect(info?.reason).toBe("TOO_MANY_SUBSCRIPTIONS");
      expect(info?.metadata.limit).toBe("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
      expect(info?.metadata.max).toBe(String(PER_USER));
      expect(errors[0].rawMessage).toContain("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
    } finally {
      abort.abort();
      await Promise.all(calls);
    }
  });
});

/**
 * Request bytes the server cannot read are the client's fault: InvalidArgument on every protocol,
 * never Internal (HTTP 500 / grpc-status 13), and no error log line. Connect-ES answers them
 * Internal (src/server/request-faults.ts); the fuzz suite (test/fuzz) found them: before the fix
 * each case below answered internal ("parse binary: premature EOF", "received compressed
 * envelope, but do not know how to decompress", "internal error" for a GET's bad base64).
 */
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const CHECK = "/grpc.health.v1.Health/Check";
const WATCH = "/grpc.health.v1.Health/Watch";
/** A string field (1) that promises 5 bytes and has 1: "parse binary: premature EOF". */
const TRUNCATED = Buffer.from([0x0a, 0x05, 0x61]);
/** Invalid UTF-8 in the string field. */
const BAD_UTF8 = Buffer.from([0x0a, 0x02, 0xc0, 0xaf]);

function envelope(flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flags;
  h.writeUInt32BE(body.length, 1);
  return Buffer.concat([h, body]);
}

function h1(path: string, headers: Record<string, string>, body?: Buffer, method = "POST"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, server.url), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function grpc(path: string, body: Buffer): Promise<{ status: string; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    let status = "";
    let message = "";
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) {
        status = String(h["grpc-status"]);
        message = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    req.on("response", take);
    req.on("trailers", take);
    req.on("data", () => undefined);
    req.on("close", () => {
      session.close();
      resolve({ status, message });
    });
    req.end(body);
  });
}

const errorLogs = () => server.logs.filter((l) => (l.level as number) >= 50);

describe("request bytes that do not parse answer InvalidArgument", () => {
  it("Connect unary, binary: 400 invalid_argument", async () => {
    for (const body of [TRUNCATED, BAD_UTF8]) {
      const r = await h1(CHECK, { "content-type": "application/proto" }, body);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body.toString())).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^parse binary: /) });
      expect(Number(r.headers["content-length"])).toBe(r.body.length);
    }
  });

  it("Connect unary, a gzip body that does not decompress: 400 invalid_argument", async () => {
    const r = await h1(CHECK, { "content-type": "application/proto", "content-encoding": "gzip" }, Buffer.from("not gzip"));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).code).toBe("invalid_argument");
  });

  it("Connect GET: bad protobuf and bad base64 in `message`: 400 invalid_argument", async () => {
    const bad = await h1(`${CHECK}?connect=v1&encoding=proto&base64=1&message=${TRUNCATED.toString("base64url")}`, {}, undefined, "GET");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).code).toBe("invalid_argument");
    const b64 = await h1(`${CHECK}?connect=v1&encoding=proto&base64=1&message=%25%25%25`, {}, undefined, "GET");
    expect(b64.status).toBe(400);
    expect(JSON.parse(b64.body.toString()).code).toBe("invalid_argument");
  });

  it("Connect streaming: the end-stream message says invalid_argument", async () => {
    for (const body of [envelope(0, TRUNCATED), envelope(1, Buffer.from([0x0a, 0x00]))]) {
      const r = await h1(WATCH, { "content-type": "application/connect+proto", "connect-timeout-ms": "2000" }, body);
      expect(r.status).toBe(200);
      const end = JSON.parse(r.body.subarray(5).toString()) as { error: { code: string } };
      expect(r.body[0]).toBe(2);
      expect(end.error.code).toBe("invalid_argument");
    }
  });

  it("gRPC (h2c), unary and streaming: grpc-status 3", async () => {
    expect(await grpc(CHECK, envelope(0, TRUNCATED))).toMatchObject({ status: "3", message: expect.stringMatching(/^parse binary: /) });
    expect(await grpc(CHECK, envelope(0, BAD_UTF8))).toMatchObject({ status: "3" });
    expect(await grpc(WATCH, envelope(0, TRUNCATED))).toMatchObject({ status: "3" });
    // A compressed envelope without grpc-encoding.
    expect(await grpc(CHECK, envelope(1, Buffer.from([0x0a, 0x00])))).toMatchObject({ status: "3" });
  });

  it("gRPC-Web: the trailers say grpc-status 3", async () => {
    for (const path of [CHECK, WATCH]) {
      const r = await h1(path, { "content-type": "application/grpc-web+proto", "grpc-timeout": "2S" }, envelope(0, TRUNCATED));
      const status = r.headers["grpc-status"] ?? /grpc-status:\s*(\d+)/.exec(r.body.toString())?.[1];
      expect(status, r.body.toString()).toBe("3");
    }
  });

  it("logged as a warning with the client's code, not as an Internal error", () => {
    expect(errorLogs()).toEqual([]);
    const rpc = server.logs.filter((l) => l.msg === "rpc" && typeof l.error === "string" && /^parse binary/.test(l.error as string));
    for (const l of rpc) expect(l.code).toBe("invalid_argument");
  });

  it("an Internal that is not about the request bytes stays Internal", async () => {
    const { isRequestFault } = await import("../../src/server/errors.js");
    const { Code } = await import("@connectrpc/connect");
    expect(isRequestFault(Code.Internal, "parse binary: premature EOF")).toBe(true);
    expect(isRequestFault(Code.Internal, "serialize binary: bad")).toBe(false);
    expect(isRequestFault(Code.Internal, "internal error")).toBe(false);
    expect(isRequestFault(Code.Unknown, "parse binary: premature EOF")).toBe(false);
  });
});

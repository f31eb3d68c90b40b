import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/** A self-signed certificate for localhost/127.0.0.1, made with openssl at test time. */
function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    { stdio: "pipe" },
  );
  return { cert, key };
}

let dir: string;
let ca: Buffer;
let server: TestServer;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sqlstudio-tls-"));
  const { cert, key } = makeCert(dir);
  ca = readFileSync(cert);
  server = await startTestServer({ env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key } });
  base = `https://127.0.0.1:${server.ports.api}`;
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CHECK = "/grpc.health.v1.Health/Check";

function h1(path: string, opts: { method?: string; body?: string; headers?: Record<string, string>; ca?: Buffer; rejectUnauthorized?: boolean } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string; alpn: string | false | null }>((resolve, reject) => {
    const req = https.request(
      `${base}${path}`,
      {
        method: opts.method ?? "GET",
        headers: opts.headers,
        ca: opts.ca,
        rejectUnauthorized: opts.rejectUnauthorized ?? true,
        agent: false,
        // offer ALPN like a browser would (without it the server falls back to HTTP/1.1 anyway)
        ...({ ALPNProtocols: ["http/1.1"] } as https.RequestOptions),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

describe("TLS with ALPN (TLS_CERT_FILE / TLS_KEY_FILE)", () => {
  it("answers Health.Check (Connect JSON) over HTTPS/1.1", async () => {
    const res = await h1(CHECK, { method: "POST", body: "{}", headers: { "content-type": "application/json" }, ca });
    expect(res.alpn).toBe("http/1.1");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: "SERVING" });
    expect(res.headers["strict-transport-security"]).toMatch(/max-age=/);
  });

  it("answers with rejectUnauthorized false too (self-signed, no CA given)", async () => {
    const res = await h1("/health", { rejectUnauthorized: false });
    expect(res.status).toBe(200);
  });

  it("refuses to verify without the CA (it is really TLS with our certificate)", async () => {
    await expect(h1("/health")).rejects.toThrow(/self[- ]signed/i);
  });

  it("answers Health.Check over h2 (ALPN), Connect JSON and gRPC", async () => {
    const session = http2.connect(base, { ca });
    try {
      await new Promise<void>((r, reject) => {
        session.once("connect", () => r());
        session.once("error", reject);
      });
      expect(session.alpnProtocol).toBe("h2");

      const json = session.request({ ":method": "POST", ":path": CHECK, "content-type": "application/json" });
      json.end("{}");
      const jsonHeaders = await new Promise<http2.IncomingHttpHeaders>((r) => json.once("response", r));
      let jsonBody = "";
      json.setEncoding("utf8");
      const ended = new Promise((r) => json.once("end", r));
      json.on("data", (d) => (jsonBody += d));
      await ended;
      expect(jsonHeaders[":status"]).toBe(200);
      expect(JSON.parse(jsonBody)).toEqual({ status: "SERVING" });

      const grpc = session.request({ ":method": "POST", ":path": CHECK, "content-type": "application/grpc", te: "trailers" });
      grpc.end(Buffer.from([0, 0, 0, 0, 0]));
      const chunks: Buffer[] = [];
      grpc.on("data", (d: Buffer) => chunks.push(d));
      const trailersP = new Promise<http2.IncomingHttpHeaders>((r) => grpc.once("trailers", r));
      await new Promise((r) => grpc.once("end", r));
      const trailers = await trailersP;
      expect(trailers["grpc-status"]).toBe("0");
      // HealthCheckResponse{status: SERVING(1)} = field 1 varint 1 → 08 01, framed
      expect(Buffer.concat(chunks)).toEqual(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
    } finally {
      session.close();
    }
  });

  it("reports https:// as its API address", () => {
    expect(server.addresses.api).toMatch(/^https:\/\//);
  });
});

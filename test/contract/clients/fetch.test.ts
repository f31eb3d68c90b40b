/**
 * Plain `fetch` (Node's undici, HTTP/1.1), speaking each protocol by hand: Connect JSON and
 * binary (POST and GET), gRPC-Web (trailers in the body), a Connect server stream read frame
 * by frame and aborted, and the HTTP/1.1 answer to a bidi stream (reflection needs HTTP/2).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEnvelopes, encodeEnvelope, parseTrailerBlock, CONNECT_END_STREAM, GRPC_WEB_TRAILER } from "../../support/clients/envelope.js";
import {
  Code,
  connectHttpStatus,
  decodeGrpcStatus,
  expectOutcome,
  expectRpcLogged,
  noSideEffects,
  outcomeFromConnectJson,
  pathOf,
  requestBytes,
  responseJson,
  REFLECTION_PATHS,
  reflectionRequestBytes,
  STREAM_CASES,
  UNARY_CASES,
  base64Decode,
  type Outcome,
  type UnaryCase,
} from "../../support/clients/expect.js";
import { startTestServer, type TestServer } from "../../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

async function connectOutcome(c: UnaryCase, res: Response, binary: boolean): Promise<Outcome> {
  expect(res.status).toBe(connectHttpStatus(c));
  if (res.status !== 200) {
    // Connect unary errors are JSON whatever the request's codec.
    expect(res.headers.get("content-type")).toBe("application/json");
    return outcomeFromConnectJson(await res.json());
  }
  expect(res.headers.get("content-type")).toBe(binary ? "application/proto" : "application/json");
  return { ok: true, response: binary ? responseJson(c.method, new Uint8Array(await res.arrayBuffer())) : await res.json() };
}

describe("fetch: Connect unary", () => {
  for (const c of UNARY_CASES) {
    it(`JSON POST: ${c.name}`, async () => {
      const res = await fetch(`${server.url}${pathOf(c.method)}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body: JSON.stringify(c.request),
      });
      expectOutcome(c, await connectOutcome(c, res, false));
    });

    it(`binary POST (application/proto): ${c.name}`, async () => {
      const res = await fetch(`${server.url}${pathOf(c.method)}`, {
        method: "POST",
        headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
        body: requestBytes(c),
      });
      expectOutcome(c, await connectOutcome(c, res, true));
    });

    if (noSideEffects(c.method)) {
      it(`binary GET (encoding=proto, base64): ${c.name}`, async () => {
        const message = Buffer.from(requestBytes(c)).toString("base64url");
        const res = await fetch(`${server.url}${pathOf(c.method)}?connect=v1&encoding=proto&base64=1&message=${message}`);
        expectOutcome(c, await connectOutcome(c, res, true));
      });
    }
  }

  it("a Connect GET without its message parameter is 400 invalid_argument", async () => {
    const res = await fetch(`${server.url}${pathOf(UNARY_CASES[0].method)}?connect=v1&encoding=json`);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("invalid_argument");
  });

  it("a server-streaming RPC called as Connect unary JSON is refused with 415", async () => {
    const res = await fetch(`${server.url}${pathOf(STREAM_CASES[0].method)}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(415);
    await res.arrayBuffer();
  });

  it("echoes a sane x-request-id and sends the security headers", async () => {
    const res = await fetch(`${server.url}${pathOf(UNARY_CASES[0].method)}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "contract-fetch-1" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("contract-fetch-1");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("fetch: gRPC-Web by hand", () => {
  for (const c of UNARY_CASES) {
    it(`application/grpc-web+proto: ${c.name}`, async () => {
      const res = await fetch(`${server.url}${pathOf(c.method)}`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
        body: encodeEnvelope(requestBytes(c)),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/grpc-web+proto");
      const { envelopes, used } = decodeEnvelopes(new Uint8Array(await res.arrayBuffer()));
      expect(used).toBeGreaterThan(0);
      const trailerFrame = envelopes.pop()!;
      expect(trailerFrame.flags & GRPC_WEB_TRAILER).toBe(GRPC_WEB_TRAILER);
      const trailers = parseTrailerBlock(trailerFrame.data);
      const code = Number(trailers["grpc-status"]) as Code;
      let outcome: Outcome;
      if (trailers["grpc-status"] === "0") {
        expect(envelopes).toHaveLength(1);
        outcome = { ok: true, response: responseJson(c.method, envelopes[0].data) };
      } else {
        expect(envelopes).toHaveLength(0);
        const status = decodeGrpcStatus(base64Decode(trailers["grpc-status-details-bin"] ?? ""));
        expect(status.code).toBe(code);
        expect(decodeURIComponent(trailers["grpc-message"] ?? "")).toBe(status.message);
        outcome = { ok: false, code, message: status.message, details: status.details };
      }
      expectOutcome(c, outcome);
    });
  }
});

describe("fetch: Connect server stream", () => {
  for (const c of STREAM_CASES) {
    it(`${c.name}; aborting the fetch cancels it on the server`, async () => {
      const since = server.logs.length;
      const ac = new AbortController();
      const res = await fetch(`${server.url}${pathOf(c.method)}`, {
        method: "POST",
        headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" },
        body: encodeEnvelope(JSON.stringify(c.request)),
        signal: ac.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/connect+json");
      const reader = res.body!.getReader();
      let buf = new Uint8Array();
      let first;
      while (!(first = decodeEnvelopes(buf).envelopes[0])) {
        const { value, done } = await reader.read();
        expect(done).toBe(false);
        buf = new Uint8Array([...buf, ...value!]);
      }
      expect(first.flags & CONNECT_END_STREAM).toBe(0);
      expect(JSON.parse(new TextDecoder().decode(first.data))).toEqual(c.first);
      ac.abort();
      await expect(reader.read()).rejects.toThrow();
      await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: "connect", code: "canceled" });
    });
  }
});

describe("fetch: bidi streams need HTTP/2", () => {
  for (const path of REFLECTION_PATHS) {
    it(`${path} over HTTP/1.1 answers 505 and closes the connection`, async () => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
        body: Buffer.concat(reflectionRequestBytes().map((b) => encodeEnvelope(b))),
      });
      expect(res.status).toBe(505);
      expect(res.headers.get("connection")).toBe("close");
      await res.arrayBuffer();
    });
  }
});

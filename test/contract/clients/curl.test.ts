/**
 * Connect JSON with the `curl` binary: what a user with nothing but a shell does. Unary POST over
 * HTTP/1.1 and h2c, Connect GET for NO_SIDE_EFFECTS RPCs, a server stream (connect+json envelopes,
 * cancelled by killing curl) and reflection as a Connect bidi stream over h2c.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEnvelopes, encodeEnvelope, CONNECT_END_STREAM } from "../../support/clients/envelope.js";
import {
  connectHttpStatus,
  expectOutcome,
  expectReflectionAnswers,
  expectRpcLogged,
  noSideEffects,
  outcomeFromConnectJson,
  pathOf,
  reflectionResponseFromJson,
  REFLECTION_PATHS,
  REFLECTION_REQUESTS,
  STREAM_CASES,
  UNARY_CASES,
  type Outcome,
} from "../../support/clients/expect.js";
import { run, spawnUntil } from "../../support/clients/procs.js";
import { startTestServer, type TestServer } from "../../support/server.js";

const CURL = "curl";
const BASE = ["--silent", "--show-error", "--noproxy", "*", "--max-time", "10"];

let server: TestServer;
let tmp: string;
beforeAll(async () => {
  server = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), "contract-curl-"));
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs curl; returns the HTTP status, the lower-cased response headers and the body. */
async function curl(args: string[], input?: string | Uint8Array) {
  const marker = "\n@@status=";
  const r = await run(CURL, [...BASE, "--dump-header", "-", "--write-out", `${marker}%{http_code} %{http_version}`, ...args, ...(input !== undefined ? ["--data-binary", "@-"] : [])], { input });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const text = r.stdout.toString("latin1");
  const at = text.lastIndexOf(marker);
  const [status, httpVersion] = text.slice(at + marker.length).split(" ");
  const raw = text.slice(0, at);
  const split = raw.indexOf("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of raw.slice(0, split).split("\r\n").slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(status), httpVersion, headers, body: Buffer.from(raw.slice(split + 4), "latin1") };
}

function outcomeOf(res: { status: number; body: Buffer }): Outcome {
  const json = JSON.parse(res.body.toString("utf8"));
  return res.status === 200 ? { ok: true, response: json } : outcomeFromConnectJson(json);
}

describe("curl: Connect JSON unary", () => {
  for (const c of UNARY_CASES) {
    for (const http of ["1.1", "2"] as const) {
      it(`POST over HTTP/${http}: ${c.name}`, async () => {
        const res = await curl(
          [...(http === "2" ? ["--http2-prior-knowledge"] : ["--http1.1"]), "-X", "POST", "-H", "content-type: application/json", `${server.url}${pathOf(c.method)}`],
          JSON.stringify(c.request),
        );
        expect(res.httpVersion).toBe(http === "2" ? "2" : "1.1");
        expect(res.status).toBe(connectHttpStatus(c));
        expect(res.headers["content-type"]).toBe("application/json");
        expectOutcome(c, outcomeOf(res));
      });
    }
    if (noSideEffects(c.method)) {
      it(`Connect GET (NO_SIDE_EFFECTS): ${c.name}`, async () => {
        const q = new URLSearchParams({ connect: "v1", encoding: "json", message: JSON.stringify(c.request) });
        const res = await curl([`${server.url}${pathOf(c.method)}?${q}`]);
        expect(res.status).toBe(connectHttpStatus(c));
        expectOutcome(c, outcomeOf(res));
      });
    }
  }

  it("Connect GET with a base64 message works too (the form connect-web sends)", async () => {
    const c = UNARY_CASES[1];
    const message = Buffer.from(JSON.stringify(c.request)).toString("base64url");
    const res = await curl([`${server.url}${pathOf(c.method)}?connect=v1&encoding=json&base64=1&message=${message}`]);
    expectOutcome(c, outcomeOf(res));
  });
});

describe("curl: Connect JSON server stream", () => {
  for (const c of STREAM_CASES) {
    it(`${c.name}; killing curl cancels it on the server`, async () => {
      const since = server.logs.length;
      const { value, stop } = await spawnUntil(
        CURL,
        [...BASE, "--no-buffer", "-X", "POST", "-H", "content-type: application/connect+json", "-H", "connect-protocol-version: 1", "--data-binary", "@-", `${server.url}${pathOf(c.method)}`],
        (out) => decodeEnvelopes(out).envelopes[0],
        { input: encodeEnvelope(JSON.stringify(c.request)) },
      );
      expect(value.flags & CONNECT_END_STREAM).toBe(0);
      expect(JSON.parse(new TextDecoder().decode(value.data))).toEqual(c.first);
      await stop();
      await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: "connect", code: "canceled" });
    });
  }
});

describe("curl: reflection as a Connect bidi stream over h2c", () => {
  for (const path of REFLECTION_PATHS) {
    it(`${path}: list services, file_containing_symbol with imports`, async () => {
      const body = Buffer.concat(REFLECTION_REQUESTS.map((r) => encodeEnvelope(JSON.stringify(r))));
      const file = join(tmp, "reflection.bin");
      writeFileSync(file, body);
      const res = await curl([
        "--http2-prior-knowledge",
        "-X",
        "POST",
        "-H",
        "content-type: application/connect+json",
        "-H",
        "connect-protocol-version: 1",
        "--data-binary",
        `@${file}`,
        `${server.url}${path}`,
      ]);
      expect(res.status).toBe(200);
      const { envelopes, used } = decodeEnvelopes(res.body);
      expect(used).toBe(res.body.length);
      const end = envelopes.pop()!;
      expect(end.flags & CONNECT_END_STREAM).toBe(CONNECT_END_STREAM);
      expect(JSON.parse(new TextDecoder().decode(end.data)).error).toBeUndefined();
      expectReflectionAnswers(envelopes.map((e) => reflectionResponseFromJson(JSON.parse(new TextDecoder().decode(e.data)))));
    });
  }
});

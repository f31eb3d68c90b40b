/**
 * Python grpcio (Debian's python3-grpcio, run with Debian's own /usr/bin/python3: the python3
 * first on PATH may be a separate build that cannot see Debian's modules). One run of
 * test/support/clients/grpcio_client.py makes every call over h2c with generic raw-bytes
 * methods; the tests below check its answers.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  base64Decode,
  Code,
  expectErrorInfo,
  expectOutcome,
  expectReflectionAnswers,
  expectRpcLogged,
  pathOf,
  reflectionRequestBytes,
  reflectionResponseFromBinary,
  REFLECTION_PATHS,
  requestBytes,
  responseJson,
  STREAM_CASES,
  UNARY_CASES,
  type Detail,
  type Outcome,
} from "../../support/clients/expect.js";
import { run } from "../../support/clients/procs.js";
import { ROOT, startTestServer, type TestServer } from "../../support/server.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(ROOT, "test/support/clients/grpcio_client.py");

/** Why Python grpcio cannot run here, or undefined when it can. */
function unavailable(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import grpc"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} cannot be started (${r.error.message}); install Debian's python3 and python3-grpcio`;
  if (r.status !== 0) return `${PYTHON} -c "import grpc" failed (${r.stderr.trim().split("\n").pop()}); install the Debian package python3-grpcio`;
  return undefined;
}
const why = unavailable();

interface PyStatus {
  code: number;
  message: string;
  details: { type: string; value: string }[];
}
interface PyResult {
  grpc_version: string;
  unary: ({ ok: true; response: string } | { ok: false; code: number; message: string; status: PyStatus | null })[];
  stream: { first: string; after_cancel: number }[];
  bidi: { responses: string[]; code: number }[];
  health: { serving: number; nope: { code: number; status: PyStatus | null } };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const detailsOf = (s: PyStatus | null): Detail[] => (s ? s.details.map((d) => ({ type: d.type, value: base64Decode(d.value) })) : []);

describe.skipIf(why !== undefined)(`Python grpcio${why ? ` (skipped: ${why})` : ""}`, () => {
  let server: TestServer;
  let result: PyResult;
  let logStart: number;

  beforeAll(async () => {
    server = await startTestServer();
    logStart = server.logs.length;
    const job = {
      target: `127.0.0.1:${server.ports.api}`,
      unary: UNARY_CASES.map((c) => ({ path: pathOf(c.method), request: b64(requestBytes(c)) })),
      stream: STREAM_CASES.map((c) => ({ path: pathOf(c.method), request: b64(requestBytes(c)) })),
      bidi: REFLECTION_PATHS.map((path) => ({ path, requests: reflectionRequestBytes().map(b64) })),
    };
    const r = await run(PYTHON, [SCRIPT], { input: JSON.stringify(job), timeoutMs: 30_000, env: { ...process.env, no_grpc_proxy: "*", PYTHONDONTWRITEBYTECODE: "1" } });
    if (r.code !== 0) throw new Error(`grpcio_client.py exited with ${r.code}: ${r.stderr}`);
    result = JSON.parse(r.stdout.toString("utf8"));
  });
  afterAll(() => server?.stop());

  it("runs Debian's grpcio", () => {
    expect(result.grpc_version).toMatch(/^\d+\.\d+/);
  });

  UNARY_CASES.forEach((c, i) => {
    it(`unary: ${c.name}`, async () => {
      const r = result.unary[i];
      const outcome: Outcome = r.ok
        ? { ok: true, response: responseJson(c.method, base64Decode(r.response)) }
        : { ok: false, code: r.code as Code, message: r.message, details: detailsOf(r.status) };
      if (!r.ok) expect(r.status?.code).toBe(r.code);
      expectOutcome(c, outcome);
      await expectRpcLogged(server.logs, logStart, { method: c.method.name, protocol: "grpc" });
    });
  });

  STREAM_CASES.forEach((c, i) => {
    it(`server stream: ${c.name}; call.cancel() cancels it on the server`, async () => {
      const r = result.stream[i];
      expect(responseJson(c.method, base64Decode(r.first))).toEqual(c.first);
      expect(r.after_cancel).toBe(Code.Canceled);
      await expectRpcLogged(server.logs, logStart, { method: c.method.name, protocol: "grpc", code: "canceled" });
    });
  });

  REFLECTION_PATHS.forEach((path, i) => {
    it(`reflection ${path}: list services, file_containing_symbol with imports`, () => {
      const r = result.bidi[i];
      expect(r.code).toBe(0);
      expectReflectionAnswers(r.responses.map((b) => reflectionResponseFromBinary(base64Decode(b))));
    });
  });

  it("hand-encoded health messages: SERVING, and NotFound with a readable ErrorInfo", () => {
    expect(result.health.serving).toBe(1); // HealthCheckResponse.ServingStatus.SERVING
    expect(result.health.nope.code).toBe(Code.NotFound);
    expect(result.health.nope.status?.code).toBe(Code.NotFound);
    expectErrorInfo(detailsOf(result.health.nope.status), "UNKNOWN_SERVICE");
  });
});

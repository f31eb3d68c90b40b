/**
 * `buf curl` (this machine's grpcurl) with --protocol grpc, grpcweb and connect, learning the
 * schema only through server reflection (no --schema): list services and methods (v1 and
 * v1alpha), call every unary case, open every server stream and cancel it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  base64Decode,
  codeFromConnectName,
  expectOutcome,
  expectRpcLogged,
  expectServiceList,
  pathOf,
  STREAM_CASES,
  UNARY_CASES,
  type Outcome,
} from "../../support/clients/expect.js";
import { run, spawnUntil } from "../../support/clients/procs.js";
import { SERVICES } from "../../support/clients/services.js";
import { ROOT, startTestServer, type TestServer } from "../../support/server.js";

/** The native binary when its platform package is installed (the .bin entry is a node shim around it). */
const NATIVE = join(ROOT, `node_modules/@bufbuild/buf-${process.platform}-${process.arch === "x64" ? "x64" : process.arch}/bin/buf`);
const BUF = existsSync(NATIVE) ? NATIVE : join(ROOT, "node_modules/.bin/buf");

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const PROTOCOLS = [
  { flag: "grpc", logged: "grpc" },
  { flag: "grpcweb", logged: "grpc-web" },
  { flag: "connect", logged: "connect" },
] as const;

const lines = (b: Buffer) => b.toString("utf8").split("\n").filter(Boolean);

describe.skipIf(!existsSync(BUF))(`buf curl${existsSync(BUF) ? "" : " (skipped: node_modules/.bin/buf is missing; run npm ci)"}`, () => {
  for (const p of PROTOCOLS) {
    const buf = (...args: string[]) => run(BUF, ["curl", "--protocol", p.flag, ...args], { timeoutMs: 15_000 });

    describe(`--protocol ${p.flag}`, () => {
      for (const reflect of ["grpc-v1", "grpc-v1alpha"]) {
        it(`--list-services via ${reflect} reflection`, async () => {
          const r = await buf("--reflect-protocol", reflect, "--list-services", server.url);
          expect(r.stderr).toBe("");
          expect(r.code).toBe(0);
          expectServiceList(lines(r.stdout));
        });
      }

      it("--list-methods lists every contract method (resolved from the downloaded descriptors)", async () => {
        const r = await buf("--list-methods", server.url);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const listed = lines(r.stdout);
        for (const s of SERVICES) for (const m of s.methods) expect(listed).toContain(`${s.typeName}/${m.name}`);
      });

      for (const c of UNARY_CASES) {
        it(c.name, async () => {
          const since = server.logs.length;
          const r = await buf("--data", JSON.stringify(c.request), `${server.url}${pathOf(c.method)}`);
          let outcome: Outcome;
          if (r.code === 0) {
            expect(r.stderr).toBe("");
            outcome = { ok: true, response: JSON.parse(r.stdout.toString("utf8")) };
          } else {
            const err = JSON.parse(r.stderr) as { code: string; message: string; details?: { type: string; value: string; debug?: unknown }[] };
            const code = codeFromConnectName(err.code);
            // buf curl exits with the RPC code times 8.
            expect(r.code).toBe(code * 8);
            outcome = { ok: false, code, message: err.message, details: (err.details ?? []).map((d) => ({ type: d.type, value: base64Decode(d.value) })) };
          }
          expectOutcome(c, outcome);
          await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: p.logged });
        });
      }

      for (const c of STREAM_CASES) {
        it(`${c.name}; killing buf curl cancels it on the server`, async () => {
          const since = server.logs.length;
          const { value, stop } = await spawnUntil(
            BUF,
            ["curl", "--protocol", p.flag, "--data", JSON.stringify(c.request), `${server.url}${pathOf(c.method)}`],
            (out) => {
              try {
                return JSON.parse(out.toString("utf8")) as unknown;
              } catch {
                return undefined; // the first message is not complete yet
              }
            },
            { timeoutMs: 15_000 },
          );
          expect(value).toEqual(c.first);
          await stop();
          await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: p.logged, code: "canceled" });
        });
      }
    });
  }
});

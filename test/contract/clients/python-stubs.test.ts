/**
 * Issue 14.7: the README's Python stubs section runs as shown: Debian's protoc and
 * grpc_python_plugin generate typed stubs of proto/sqlstudio (proto3 `optional` included), grpcio
 * stays importable beside them, and an error's ErrorInfo is decoded from grpc-status-details-bin.
 * Skipped, saying why, only where those Debian packages are missing (as the grpcio test is).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startTestServer, type TestServer } from "../../support/server.js";

const run = promisify(execFile);
const PYTHON = "/usr/bin/python3";

function unavailable(): string | undefined {
  for (const tool of ["/usr/bin/protoc", "/usr/bin/grpc_python_plugin"]) {
    if (spawnSync(tool, ["--version"]).error) return `${tool} is missing: install the Debian packages protobuf-compiler and protobuf-compiler-grpc`;
  }
  const r = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `${PYTHON} cannot import grpc and google.protobuf: install python3-grpcio and python3-protobuf`;
  return undefined;
}
const why = unavailable();

describe.skipIf(why !== undefined)(`the README's Python stubs${why ? ` (skipped: ${why})` : ""}`, () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), "sqlstudio-pystubs-"));
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("generate with protoc + grpc_python_plugin, and the client prints the code and the ErrorInfo", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const blocks = (lang: string) => [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
    const generate = blocks("sh").find((b) => b.includes("grpc_python_plugin"));
    const client = blocks("python").find((b) => b.includes("rpc_status_pb2"));
    expect(generate, "a sh block generating the stubs").toBeDefined();
    expect(client, "a python block decoding ErrorInfo").toBeDefined();
    symlinkSync(join(ROOT, "proto"), join(dir, "proto"));
    await run("sh", ["-ec", generate!], { cwd: dir, timeout: 60_000 });
    // Nothing named grpc/ was generated to hide grpcio.
    expect(spawnSync("ls", [join(dir, "py")], { encoding: "utf8" }).stdout.split("\n")).not.toContain("grpc");
    writeFileSync(join(dir, "client.py"), client!.replace("localhost:8080", `127.0.0.1:${server.ports.api}`));
    const { stdout } = await run(PYTHON, ["client.py"], { cwd: dir, timeout: 30_000 });
    // Exactly what the README shows under the client.
    const shown = /print\(info\.reason[^\n]*\n((?:# [^\n]*\n)+)/.exec(client!)?.[1];
    expect(shown, "the python block ends with its output as # lines").toBeDefined();
    expect(stdout.trim().split("\n")).toEqual(shown!.trim().split("\n").map((l) => l.replace(/^# /, "")));
  }, 120_000);
});

import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../support/server.js";

const run = promisify(execFile);

/** A throwaway copy of everything `npm run proto:check` reads. */
function copyContract(): string {
  const dir = mkdtempSync(join(tmpdir(), "proto-check-"));
  for (const p of ["proto", "gen", "openapi", ".ci", "buf.yaml", "buf.gen.yaml", "package.json"]) {
    cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function check(dir: string): Promise<{ code: number; output: string }> {
  try {
    const r = await run("bash", [join(dir, ".ci/proto-check.sh")], { cwd: dir, timeout: 120_000 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, output: err.stdout + err.stderr };
  }
}

describe("npm run proto:check", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("passes on the committed contract", async () => {
    const dir = copyContract();
    dirs.push(dir);
    const r = await check(dir);
    expect(r.output).toContain("clean");
    expect(r.code).toBe(0);
  }, 120_000);

  it("fails when a field is renamed (a WIRE_JSON break)", async () => {
    const dir = copyContract();
    dirs.push(dir);
    const file = join(dir, "proto/sqlstudio/common/v1/error.proto");
    writeFileSync(file, readFileSync(file, "utf8").replace("string reason = 1;", "string reason_code = 1;"));
    const r = await check(dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/reason_code|json name|changed name/i);
  }, 120_000);

  it("fails when gen/ is edited by hand", async () => {
    const dir = copyContract();
    dirs.push(dir);
    const file = join(dir, "gen/grpc/health/v1/health_pb.ts");
    writeFileSync(file, readFileSync(file, "utf8") + "\nexport const handEdited = true;\n");
    const r = await check(dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("gen/ is not what");
  }, 120_000);
});

/**
 * Issue 14.7: `npm ci` on Node 20 (the README's minimum is 20.19) installs without an EBADENGINE
 * warning: no locked package asks for a newer Node. `npm ci --dry-run` reads the lock file and
 * checks every package's `engines` as the real install does, without fetching anything.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { ROOT } from "../support/server.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "sqlstudio-npm-ci-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it(`npm ci on Node ${process.versions.node} warns about no package's engines (EBADENGINE)`, async () => {
  const engines = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
  expect(engines).toBe(">=20.19");
  for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, f), join(dir, f));
  const { stdout, stderr } = await run("npm", ["ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: dir, timeout: 120_000 });
  const out = `${stdout}\n${stderr}`;
  expect(out).toMatch(/added \d+ packages/);
  expect(out.split("\n").filter((l) => /EBADENGINE/.test(l)).join("\n")).toBe("");
}, 150_000);

// web/dist/ (the built console, committed so `npm ci && npm start` serves it with no build step) must
// be exactly what `npm run web:build` makes from web/ now, like gen/ for proto/.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/server.js";

const run = promisify(execFile);

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full).toString("base64"));
    }
  };
  walk(dir);
  return out;
}

describe("web/dist", () => {
  const out = mkdtempSync(join(tmpdir(), "console-build-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("is what `npm run web:build` makes from web/ (run it and commit web/dist when this fails)", async () => {
    await run(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--config", "web/vite.config.ts", "--logLevel", "warn", "--outDir", out, "--emptyOutDir"], {
      cwd: ROOT,
      timeout: 240_000,
      // As `npm run web:build` does: vitest's NODE_ENV=test would change the minified output.
      env: { ...process.env, NODE_ENV: "production" },
    });
    const built = files(out);
    const committed = files(join(ROOT, "web/dist"));
    expect([...committed.keys()].sort()).toEqual([...built.keys()].sort());
    for (const [name, content] of built) expect(committed.get(name) === content, `web/dist/${name} is stale`).toBe(true);
  }, 240_000);

  it("is not ignored by git (a fresh clone must have it)", async () => {
    // check-ignore exits 1 when nothing is ignored.
    const ignored = await run("git", ["check-ignore", "--no-index", "web/dist/index.html", "web/dist/assets/x.js"], { cwd: ROOT }).then(
      (r) => r.stdout,
      (e: { code: number; stdout: string }) => (e.code === 1 ? "" : e.stdout || `git check-ignore failed: ${e.code}`),
    );
    expect(ignored).toBe("");
  });
});

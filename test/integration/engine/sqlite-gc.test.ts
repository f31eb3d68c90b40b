/**
 * SQLite statements that would stop the server's event loop, each run in a child process (a
 * stopped loop would stop the test runner too):
 * - a garbage collection while an endless statement runs: libsql finalizes a collected statement
 *   on the main thread under its connection's mutex, which the running statement holds (found by
 *   the scale-out test: an instance froze for good mid-test);
 * - a statement slow between two rows: rows after the first are read on the main thread.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs a fixture on a fresh SQLite file; its stdout, or "" when it had to be killed after 15 s. */
async function runChild(name: string): Promise<{ out: string; err: string; ended: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), "sqlite-loop-"));
  try {
    const p = spawn(process.execPath, ["--import", "tsx", fixture(name), join(dir, "t.db")], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const ended = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        p.kill("SIGKILL");
        resolve(false);
      }, 15_000);
      p.on("exit", () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    return { out, err, ended };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it("keeps the event loop running when a collection happens during an endless statement", async () => {
  const { out, err, ended } = await runChild("sqlite-gc-during-endless.ts");
  expect(err).toBe("");
  expect(out, "the child printed nothing: its event loop stopped").toMatch(/"ticks"/);
  expect(ended).toBe(true);
  // About 100 in a second; a loop stopped for most of it would count a handful.
  expect((JSON.parse(out) as { ticks: number }).ticks).toBeGreaterThan(30);
}, 30_000);

it("ends a statement that is slow between two rows at its deadline, though the event loop is held", async () => {
  const { out, err, ended } = await runChild("sqlite-slow-row.ts");
  expect(err).toBe("");
  expect(out, "the child printed nothing: the statement held its event loop for good").toMatch(/"error"/);
  expect(ended).toBe(true);
  const r = JSON.parse(out) as { error: string; ms: number };
  expect(r.error).toBe("SQLITE_INTERRUPT");
  expect(r.ms).toBeGreaterThanOrEqual(1_400);
  expect(r.ms).toBeLessThan(10_000);
}, 30_000);

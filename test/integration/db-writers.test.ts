/**
 * Two processes writing one database file (two instances in a test, or `npm run migrate` beside a
 * server). libSQL leaves a connection whose BEGIN IMMEDIATE lost the race against another
 * process's commit (SQLITE_BUSY_SNAPSHOT) holding its stale snapshot for good: every later write
 * on it fails, and the pool keeps handing it out, so one process could not write at all any more
 * (found by the two-process lockout test, issue 17.7). openDb replaces such connections, and
 * inWriteTransaction runs a transaction again when libSQL refused its COMMIT as busy.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { inWriteTransaction, openDb } from "../../src/db/client.js";
import { ROOT, TSX_LOADER } from "../support/server.js";

const dir = mkdtempSync(join(tmpdir(), "sqlstudio-writers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `n` rows tagged `tag`, 8 at a time, half in batches and half in interactive transactions. */
async function writeRows(url: string, tag: string, n: number): Promise<number> {
  const db = await openDb({ url });
  let done = 0;
  const one = async (i: number) => {
    if (i % 2) {
      await db.batch([{ sql: "INSERT INTO t (tag, i) VALUES (?, ?)", args: [tag, i] }], "write");
    } else {
      await inWriteTransaction(db, async (tx) => {
        await tx.execute({ sql: "SELECT COUNT(*) FROM t WHERE tag = ?", args: [tag] });
        await tx.execute({ sql: "INSERT INTO t (tag, i) VALUES (?, ?)", args: [tag, i] });
      });
    }
    done++;
  };
  for (let i = 0; i < n; i += 8) await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, k) => one(i + k)));
  db.close();
  return done;
}

describe("two processes writing one file", () => {
  it("every write of both lands", async () => {
    const url = `file:${join(dir, "w.db")}`;
    const setup = await openDb({ url });
    await setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, i INTEGER NOT NULL)");
    setup.close();
    const script = join(dir, "child.mts");
    writeFileSync(
      script,
      `import { openDb } from ${JSON.stringify(join(ROOT, "src/db/client.ts"))};
const db = await openDb({ url: ${JSON.stringify(url)} });
const end = Date.now() + 3000;
let n = 0;
while (Date.now() < end) { await Promise.all([0, 1, 2, 3].map((k) => db.batch([{ sql: "INSERT INTO t (tag, i) VALUES ('child', ?)", args: [n * 4 + k] }], "write"))); n++; }
console.log(n * 4);
`,
    );
    const child = spawn(process.execPath, ["--import", TSX_LOADER, script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    await new Promise((r) => setTimeout(r, 300));
    const mine = await writeRows(url, "parent", 400);
    expect(await exited, err).toBe(0);
    expect(mine).toBe(400);
    const check = await openDb({ url });
    const rs = await check.execute("SELECT tag, COUNT(*) AS n FROM t GROUP BY tag ORDER BY tag");
    check.close();
    expect(rs.rows.map((r) => [String(r.tag), Number(r.n)])).toEqual([
      ["child", Number(out.trim())],
      ["parent", 400],
    ]);
  }, 60_000);
});

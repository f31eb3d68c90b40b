/**
 * Chaos (issue 14.11), the app database's file itself: deleted under the running server, and made
 * unwritable (read-only) under it. As in app-database.test.ts: the server answers Unavailable with
 * a reason (never Internal), /ready fails, nothing half-written, and it recovers without a restart
 * when the fault goes.
 *
 * Deleted: SQLite keeps the unlinked file open and would go on writing into the ghost; the file
 * guard of src/db/client.ts sees the path empty and refuses every operation until a file is back at
 * the path (an operator restoring a backup), which it then opens. Needs nothing special.
 *
 * Read-only: a tmpfs with the database open for writing refuses `mount -o remount,ro` (busy), and
 * so does a read-only remount of a bind mount over it (the open file counts as a writer on the
 * mount); chmod does not touch an open descriptor (and root ignores modes); `chattr +i` on tmpfs
 * sets the flag but writes to open descriptors still succeed. On ext4 the immutable flag refuses
 * writes to descriptors already open (EPERM), and `chattr -i` lifts it: so the database lives on a
 * small ext4 image this test makes and loop-mounts (root, mkfs.ext4 and a loop device; skipped
 * otherwise, saying why), and the database file and its WAL are made immutable under the server.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authEnv, call, newUser, registerAndLogin } from "../support/auth.js";
import { startTestServer, type TestServer } from "../support/server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(server: TestServer): Promise<{ status: number; problems?: string[] }> {
  const res = await fetch(`${server.url}/ready`);
  const body = (await res.json()) as { problems?: string[] };
  return { status: res.status, problems: body.problems };
}

/** Polls /ready until it answers `status` (the fault took effect or went). */
async function readyBecomes(server: TestServer, status: number, withinMs = 15_000) {
  const until = Date.now() + withinMs;
  let last = await ready(server);
  while (last.status !== status && Date.now() < until) {
    await sleep(200);
    last = await ready(server);
  }
  return last;
}

function push(server: TestServer, token: string, titles: string[]) {
  const changes = titles.map((title) => ({ mutationId: randomUUID(), recordId: randomUUID(), baseVersion: "0", savedQuery: { title, sql: "SELECT 1" } }));
  return call(server, "sqlstudio.sync.v1.SyncService/Push", { deviceId: "chaos", clientVersion: "test/1", changes }, { token });
}

async function titlesStored(server: TestServer, token: string): Promise<string[]> {
  const r = await call(server, "sqlstudio.sync.v1.SyncService/Pull", { deviceId: "auditor", sinceSeq: "0", pageSize: 500 }, { token });
  expect(r.status).toBe(200);
  return ((r.body.records as { savedQuery?: { title: string } }[] | undefined) ?? []).map((x) => x.savedQuery?.title ?? "");
}

/** The titles in the file at `file`, read by a client of its own (what a restart would see). */
async function titlesInFile(file: string): Promise<string[]> {
  const c = createClient({ url: `file:${file}` });
  try {
    const rs = await c.execute("SELECT payload FROM sync_records WHERE deleted = 0 ORDER BY seq");
    return rs.rows.map((r) => (JSON.parse(String(r.payload)) as { title?: string }).title ?? "");
  } finally {
    c.close();
  }
}

const unavailable = (r: Awaited<ReturnType<typeof call>>) => [r.status, r.code, r.info?.reason];

describe("the app database file is deleted under a running server", () => {
  let dir: string;
  let dbFile: string;
  let server: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "chaos-deleted-"));
    dbFile = join(dir, "app.db");
    server = await startTestServer({ env: authEnv({ DATABASE_URL: `file:${dbFile}` }) });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers Unavailable APP_DATABASE_UNAVAILABLE and fails /ready while the path is empty, writes nothing to the ghost, and goes on with the file restored from a backup", async () => {
    const { session } = await registerAndLogin(server, "deleted");
    const token = session.accessToken;
    expect((await push(server, token, ["before"])).status).toBe(200);
    const backup = join(dir, "backup.db");
    await server.db.execute({ sql: "VACUUM INTO ?", args: [backup] });

    // `rm app.db*`: the file, its WAL and its shared memory.
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(f, { force: true });
    expect(await readyBecomes(server, 503)).toEqual({ status: 503, problems: ["database file gone"] });
    const refused = await push(server, token, ["during"]);
    expect(unavailable(refused), refused.message).toEqual([503, "unavailable", "APP_DATABASE_UNAVAILABLE"]);
    expect(refused.headers.get("retry-after")).toBe("5");
    // Reads too: nothing answers from a file no one else can see.
    expect(unavailable(await call(server, "Register", newUser("ghost")))).toEqual([503, "unavailable", "APP_DATABASE_UNAVAILABLE"]);
    // Still nothing at the path: the server did not create an empty database there.
    await sleep(1_200);
    expect(unavailable(await push(server, token, ["during-2"]))).toEqual([503, "unavailable", "APP_DATABASE_UNAVAILABLE"]);
    expect(existsSync(dbFile)).toBe(false);

    // The operator restores the backup: the server opens it, without a restart.
    copyFileSync(backup, dbFile);
    expect((await readyBecomes(server, 200)).status).toBe(200);
    expect(await titlesStored(server, token)).toEqual(["before"]);
    expect((await push(server, token, ["after"])).status).toBe(200);
    // The writes are in the file at the path, not in a ghost.
    expect(await titlesInFile(dbFile)).toEqual(["before", "after"]);
    expect((await server.db.execute("PRAGMA integrity_check")).rows.map((r) => r[0])).toEqual(["ok"]);
  }, 60_000);
});

// ── read-only: an ext4 image, loop-mounted ─────────────────────────────────

const isRoot = process.getuid?.() === 0;
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
/** Why the read-only test cannot run here, if it cannot. (The image is made and mounted in beforeAll,
 * so a run that filters this test out leaves nothing mounted.) */
const cannot = !isRoot
  ? "needs root (mount)"
  : !existsSync("/dev/loop-control")
    ? "no loop devices"
    : ["mkfs.ext4", "chattr", "mount", "umount"].find((c) => !has(c))?.replace(/^/, "not installed: ");
if (cannot) console.warn(`chaos: read-only app database skipped: ${cannot}`);
const mnt = join(tmpdir(), `chaos-ro-${process.pid}-${randomUUID().slice(0, 8)}`);
const image = `${mnt}.img`;
function mountExt4(): void {
  mkdirSync(mnt, { recursive: true });
  const steps: [string, string[]][] = [
    ["truncate", ["-s", "32M", image]],
    ["mkfs.ext4", ["-q", "-F", image]],
    ["mount", ["-o", "loop", image, mnt]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
}
const chattr = (flag: "+i" | "-i", files: string[]) => {
  const r = spawnSync("chattr", [flag, ...files], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`chattr ${flag}: ${r.stderr}`);
};

describe.skipIf(cannot !== undefined)("the app database turns read-only under a running server (ext4 image loop-mounted by the test; needs root)", () => {
  const dbFile = join(mnt, "app.db");
  const files = [dbFile, `${dbFile}-wal`];
  let server: TestServer;
  beforeAll(async () => {
    mountExt4();
    server = await startTestServer({ env: authEnv({ DATABASE_URL: `file:${dbFile}` }) });
  }, 60_000);
  afterAll(async () => {
    spawnSync("chattr", ["-i", ...files]);
    await server?.stop();
    // Lazy: the stopped server's connections close when they are collected.
    spawnSync("umount", ["-l", mnt]);
    rmSync(mnt, { recursive: true, force: true });
    rmSync(image, { force: true });
  });

  it("writes answer Unavailable APP_DATABASE_UNAVAILABLE, /ready fails, nothing half-written, all is well once it is writable again", async () => {
    const { session } = await registerAndLogin(server, "readonly");
    const token = session.accessToken;
    expect((await push(server, token, ["before"])).status).toBe(200);
    expect((await ready(server)).status).toBe(200);

    chattr("+i", files);
    try {
      const r = await push(server, token, Array.from({ length: 20 }, (_, i) => `ro-${i}`));
      expect(unavailable(r), r.message).toEqual([503, "unavailable", "APP_DATABASE_UNAVAILABLE"]);
      expect(r.headers.get("retry-after")).toBe("5");
      expect(await readyBecomes(server, 503)).toEqual({ status: 503, problems: ["database takes no writes"] });
    } finally {
      chattr("-i", files);
    }
    expect((await readyBecomes(server, 200)).status).toBe(200);
    expect(await titlesStored(server, token)).toEqual(["before"]);
    expect((await push(server, token, ["after"])).status).toBe(200);
    expect(await titlesStored(server, token)).toEqual(["before", "after"]);
    expect((await server.db.execute("PRAGMA integrity_check")).rows.map((r) => r[0])).toEqual(["ok"]);
  }, 60_000);
});

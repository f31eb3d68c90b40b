import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDb, type Db } from "../../src/db/client.js";
import { migrate, MigrationError, migrationsCurrent, migrationStatus, readMigrations, MIGRATIONS_DIR } from "../../src/db/migrator.js";
import { ROOT } from "../support/server.js";

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), "sqlstudio-migrator-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dir: string;
let migrationsDir: string;
let dbUrl: string;
const open: Db[] = [];
let n = 0;

beforeEach(() => {
  dir = join(root, String(n++));
  migrationsDir = join(dir, "migrations");
  mkdirSync(migrationsDir, { recursive: true });
  dbUrl = `file:${join(dir, "app.db")}`;
});
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

async function db(): Promise<Db> {
  const d = await openDb({ url: dbUrl });
  open.push(d);
  return d;
}

function write(file: string, sql: string): void {
  writeFileSync(join(migrationsDir, file), sql);
}

/** Three migrations; not idempotent on purpose (a second application would fail or double-count). */
function writeThree(): void {
  write("0001_create_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE applied_log (n TEXT NOT NULL);\nINSERT INTO applied_log VALUES ('0001');\n");
  write("0002_create_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));\nINSERT INTO applied_log VALUES ('0002');\n");
  write("0003_add_column.sql", "ALTER TABLE a ADD COLUMN name TEXT;\nINSERT INTO applied_log VALUES ('0003');\n");
}

async function tables(d: Db): Promise<string[]> {
  const rs = await d.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  return rs.rows.map((r) => String(r.name));
}

async function log(d: Db): Promise<string[]> {
  return (await d.execute("SELECT n FROM applied_log ORDER BY rowid")).rows.map((r) => String(r.n));
}

describe("readMigrations", () => {
  it("reads NNNN_name.sql in order with a sha256 checksum", () => {
    writeThree();
    writeFileSync(join(migrationsDir, "README.txt"), "not a migration");
    const ms = readMigrations(migrationsDir);
    expect(ms.map((m) => `${m.version}:${m.name}`)).toEqual(["1:create_a", "2:create_b", "3:add_column"]);
    expect(ms[0].checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a number used twice and a malformed name; numbers may skip (reserved by parallel branches)", () => {
    write("0001_a.sql", "SELECT 1;");
    write("0003_c.sql", "SELECT 1;");
    expect(readMigrations(migrationsDir).map((m) => m.version)).toEqual([1, 3]);
    write("0003_d.sql", "SELECT 1;");
    expect(() => readMigrations(migrationsDir)).toThrow(/0003_d\.sql: number 0003 is used twice/);
    rmSync(join(migrationsDir, "0003_c.sql"));
    rmSync(join(migrationsDir, "0003_d.sql"));
    write("0002-Bad Name.sql", "SELECT 1;");
    expect(() => readMigrations(migrationsDir)).toThrow(MigrationError);
  });

  it("finds the repository's migrations/ from src/db", () => {
    expect(MIGRATIONS_DIR.replace(/\/$/, "")).toBe(join(ROOT, "migrations"));
    expect(readMigrations()[0].name).toBe("job_leases");
  });
});

describe("migrate", () => {
  it("applies pending migrations in order and records each with its checksum", async () => {
    writeThree();
    const d = await db();
    const ms = readMigrations(migrationsDir);
    let t = 1_000;
    const ran = await migrate(d, () => t++, ms);
    expect(ran.map((m) => m.version)).toEqual([1, 2, 3]);
    expect(await log(d)).toEqual(["0001", "0002", "0003"]);
    expect(await tables(d)).toEqual(["a", "applied_log", "b", "schema_migrations"]);
    const rows = (await d.execute("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")).rows;
    expect(rows.map((r) => [Number(r.version), r.name, r.checksum, Number(r.applied_at)])).toEqual(ms.map((m, i) => [m.version, m.name, m.checksum, 1_000 + i]));
    expect(await migrationsCurrent(d, ms)).toBe(true);
  });

  it("is idempotent: a second run applies nothing", async () => {
    writeThree();
    const d = await db();
    const ms = readMigrations(migrationsDir);
    await migrate(d, Date.now, ms);
    expect(await migrate(d, Date.now, ms)).toEqual([]);
    expect(await log(d)).toEqual(["0001", "0002", "0003"]);
  });

  it("applies only what is new when a migration is added later", async () => {
    write("0001_create_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE applied_log (n TEXT NOT NULL);\nINSERT INTO applied_log VALUES ('0001');\n");
    const d = await db();
    await migrate(d, Date.now, readMigrations(migrationsDir));
    writeThree();
    const status = await migrationStatus(d, readMigrations(migrationsDir));
    expect(status.map((s) => s.state)).toEqual(["applied", "pending", "pending"]);
    expect(await migrationsCurrent(d, readMigrations(migrationsDir))).toBe(false);
    const ran = await migrate(d, Date.now, readMigrations(migrationsDir));
    expect(ran.map((m) => m.version)).toEqual([2, 3]);
  });

  it("stops with a clear MigrationError when an applied file was edited", async () => {
    writeThree();
    const d = await db();
    await migrate(d, Date.now, readMigrations(migrationsDir));
    write("0002_create_b.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);\n-- edited after release\n");
    write("0004_more.sql", "CREATE TABLE d (id INTEGER PRIMARY KEY);\n");
    const ms = readMigrations(migrationsDir);
    const err = await migrate(d, Date.now, ms).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toBe(
      "applied migration was edited: 0002_create_b.sql. Released migrations are never edited; add a new one instead.",
    );
    expect(await tables(d)).not.toContain("d"); // nothing else ran
    expect((await migrationStatus(d, ms)).map((s) => s.state)).toEqual(["applied", "changed", "applied", "pending"]);
    expect(await migrationsCurrent(d, ms)).toBe(false);
  });

  it("leaves nothing half-applied when a migration fails", async () => {
    write("0001_create_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n");
    write("0002_broken.sql", "CREATE TABLE c (id INTEGER PRIMARY KEY);\nINSERT INTO c VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n");
    const d = await db();
    const err = await migrate(d, Date.now, readMigrations(migrationsDir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(/^migration 0002_broken\.sql failed: .*no_such_table/);
    expect(await tables(d)).toEqual(["a", "schema_migrations"]); // 0001 kept, no table c
    const versions = (await d.execute("SELECT version FROM schema_migrations")).rows.map((r) => Number(r.version));
    expect(versions).toEqual([1]);
    // the client is usable afterwards (no transaction left open), and a fixed file applies
    write("0002_broken.sql", "CREATE TABLE c (id INTEGER PRIMARY KEY);\nINSERT INTO c VALUES (1);\n");
    expect((await migrate(d, Date.now, readMigrations(migrationsDir))).map((m) => m.version)).toEqual([2]);
    expect(Number((await d.execute("SELECT count(*) AS n FROM c")).rows[0].n)).toBe(1);
  });

  it("applies exactly once when two instances migrate one database at the same time", async () => {
    writeThree();
    const ms = readMigrations(migrationsDir);
    const [d1, d2, d3] = [await db(), await db(), await db()];
    const results = await Promise.all([migrate(d1, Date.now, ms), migrate(d2, Date.now, ms), migrate(d3, Date.now, ms)]);
    const applied = results.flat().map((m) => m.version).sort();
    expect(applied).toEqual([1, 2, 3]);
    expect(await log(d1)).toEqual(["0001", "0002", "0003"]);
    expect(await migrationsCurrent(d2, ms)).toBe(true);
  });

  it("does not count a migration recorded by a newer release as a problem", async () => {
    writeThree();
    const d = await db();
    await migrate(d, Date.now, readMigrations(migrationsDir));
    rmSync(join(migrationsDir, "0003_add_column.sql"));
    const ms = readMigrations(migrationsDir);
    expect((await migrationStatus(d, ms)).map((s) => s.state)).toEqual(["applied", "applied", "unknown"]);
    expect(await migrationsCurrent(d, ms)).toBe(true);
  });
});

describe("openDb on a file", () => {
  it("lets a write wait for another connection's open transaction without freezing the process", async () => {
    const d = await db();
    await d.execute("CREATE TABLE t (x INTEGER)");
    const tx = await d.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    const started = Date.now();
    const write = d.execute("INSERT INTO t VALUES (2)"); // another pooled connection: locked out for now
    const second = d.transaction("write");
    write.catch(() => undefined); // (awaited below; no unhandled rejection if the test fails first)
    second.catch(() => undefined);
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 100));
    // The event loop kept running while they waited: a busy handler sleeping inside SQLite would
    // have held this 100 ms timer back for the whole busy timeout (seconds).
    expect(Date.now() - before).toBeLessThan(1_500);
    await tx.commit();
    // whichever of the two gets the lock first, the other follows
    const tx2 = await second;
    await tx2.execute("INSERT INTO t VALUES (3)");
    await tx2.commit();
    await write;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await d.execute("SELECT x FROM t ORDER BY x")).rows.map((r) => Number(r.x))).toEqual([1, 2, 3]);
  });

  it("gives up with SQLITE_BUSY when the lock is never released", async () => {
    const { withBusyRetry } = await import("../../src/db/client.js");
    const { createClient } = await import("@libsql/client");
    const holder = await db();
    await holder.execute("CREATE TABLE t (x INTEGER)");
    const tx = await holder.transaction("write");
    const other = withBusyRetry(createClient({ url: dbUrl }), 200);
    open.push(other);
    const started = Date.now();
    await expect(other.execute("INSERT INTO t VALUES (1)")).rejects.toMatchObject({ code: "SQLITE_BUSY" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await tx.rollback();
  });
});

describe("npm run migrate", () => {
  const cli = (args: string[]) =>
    run("npm", ["run", "--silent", "migrate", "--", ...args], {
      cwd: ROOT,
      env: { ...process.env, ENVIRONMENT: "development", DATABASE_URL: dbUrl, CONFIG_FILE: join(dir, "empty.yaml"), LOG_PRETTY: "false" },
    });

  it("status lists pending migrations, up applies them, status shows them applied", async () => {
    writeFileSync(join(dir, "empty.yaml"), "{}\n");
    const files = readMigrations();
    const before = await cli(["status"]);
    for (const m of files) expect(before.stdout).toMatch(new RegExp(`${String(m.version).padStart(4, "0")}_${m.name}\\s+pending`));

    const up = await cli(["up"]);
    expect(up.stdout.trim().split("\n")).toEqual(files.map((m) => `applied ${String(m.version).padStart(4, "0")}_${m.name}`));

    const after = await cli(["status"]);
    for (const m of files) expect(after.stdout).toMatch(new RegExp(`${String(m.version).padStart(4, "0")}_${m.name}\\s+applied\\s+\\d{4}-\\d\\d-\\d\\dT`));
    expect((await cli(["up"])).stdout.trim()).toBe("nothing to apply");
  });

  it("two instances running up at once apply each migration exactly once", async () => {
    writeFileSync(join(dir, "empty.yaml"), "{}\n");
    const [a, b] = await Promise.all([cli(["up"]), cli(["up"])]);
    const applied = `${a.stdout}\n${b.stdout}`.split("\n").filter((l) => l.startsWith("applied "));
    expect(applied.sort()).toEqual(readMigrations().map((m) => `applied ${String(m.version).padStart(4, "0")}_${m.name}`).sort());
  });

  it("refuses an unknown command with exit code 2", async () => {
    writeFileSync(join(dir, "empty.yaml"), "{}\n");
    const err = (await cli(["sideways"]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('unknown command "sideways": use status or up');
  });

  it("reports a configuration problem and exits 1", async () => {
    const err = (await run("npm", ["run", "--silent", "migrate", "--", "status"], {
      cwd: ROOT,
      env: { ...process.env, ENVIRONMENT: "production", DATABASE_URL: dbUrl, CONFIG_FILE: "", JWT_SECRET: "" },
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain("JWT_SECRET: required in production");
  });
});

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Db } from "./client.js";

/**
 * migrations/ at the package root: two levels up from src/db (tsx), three from dist/src/db
 * (the compiled build, `node dist/src/main.js`); a copy inside dist/ wins when present.
 */
export const MIGRATIONS_DIR = packageDir("migrations");

function packageDir(name: string): string {
  const candidates = [`../../${name}/`, `../../../${name}/`].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  version: number;
  name: string;
  state: "applied" | "pending" | "changed" | "unknown";
  appliedAt?: number;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Reads `NNNN_name.sql` files in order; a malformed name or a number used twice is an error.
 * Numbers may skip: parallel branches reserve theirs ahead (issue 11 got 0011 while 0007-0010
 * were still unmerged), and each file is applied once by its number whatever the order of arrival.
 */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  let previous = 0;
  return files.map((file) => {
    const m = FILE.exec(file);
    if (!m) throw new MigrationError(`migrations/${file}: name must look like 0001_create_users.sql`);
    const version = Number(m[1]);
    if (version <= previous) throw new MigrationError(`migrations/${file}: number ${m[1]} is used twice (or is 0000)`);
    previous = version;
    const sql = readFileSync(join(dir, file), "utf8");
    return { version, name: m[2], sql, checksum: createHash("sha256").update(sql).digest("hex") };
  });
}

async function ensureTable(db: Db): Promise<void> {
  await db.execute(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
}

async function applied(db: Db): Promise<Map<number, { name: string; checksum: string; applied_at: number }>> {
  const rs = await db.execute("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version");
  return new Map(
    rs.rows.map((r) => [Number(r.version), { name: String(r.name), checksum: String(r.checksum), applied_at: Number(r.applied_at) }]),
  );
}

export async function migrationStatus(db: Db, migrations = readMigrations()): Promise<MigrationStatus[]> {
  await ensureTable(db);
  const done = await applied(db);
  const out: MigrationStatus[] = migrations.map((m) => {
    const a = done.get(m.version);
    if (!a) return { version: m.version, name: m.name, state: "pending" };
    return { version: m.version, name: m.name, state: a.checksum === m.checksum ? "applied" : "changed", appliedAt: a.applied_at };
  });
  for (const [version, a] of done) {
    if (!migrations.some((m) => m.version === version)) out.push({ version, name: a.name, state: "unknown", appliedAt: a.applied_at });
  }
  return out;
}

/**
 * Applies pending migrations, each in its own write transaction together with its
 * schema_migrations row, so a migration is either wholly applied and recorded or not at all.
 * Several instances may start at once: the write lock serializes them and each re-checks.
 * Refuses to run when an applied file was edited.
 */
export async function migrate(db: Db, now: () => number = Date.now, migrations = readMigrations()): Promise<Migration[]> {
  await ensureTable(db);
  const changed = (await migrationStatus(db, migrations)).filter((s) => s.state === "changed");
  if (changed.length > 0) {
    throw new MigrationError(
      `applied migration${changed.length > 1 ? "s were" : " was"} edited: ${changed
        .map((c) => `${String(c.version).padStart(4, "0")}_${c.name}.sql`)
        .join(", ")}. Released migrations are never edited; add a new one instead.`,
    );
  }
  const ran: Migration[] = [];
  for (const m of migrations) {
    const tx = await db.transaction("write");
    try {
      const exists = await tx.execute({ sql: "SELECT 1 FROM schema_migrations WHERE version = ?", args: [m.version] });
      if (exists.rows.length > 0) {
        await tx.rollback();
        continue;
      }
      await tx.executeMultiple(m.sql);
      await tx.execute({
        sql: "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
        args: [m.version, m.name, m.checksum, now()],
      });
      await tx.commit();
      ran.push(m);
    } catch (e) {
      throw new MigrationError(`migration ${String(m.version).padStart(4, "0")}_${m.name}.sql failed: ${(e as Error).message}`);
    } finally {
      tx.close();
    }
  }
  return ran;
}

/** True when every migration file is applied unchanged (readiness). */
export async function migrationsCurrent(db: Db, migrations = readMigrations()): Promise<boolean> {
  const status = await migrationStatus(db, migrations);
  return status.every((s) => s.state === "applied" || s.state === "unknown");
}

import { filePath, type Db } from "./client.js";

/**
 * After rows that must leave no trace were deleted (DeleteAccount), makes sure their bytes are
 * gone from a local database file too: deleted records stay in freed pages, in the free space of
 * live pages and in the write-ahead log until overwritten. Checkpoints the WAL, rebuilds the
 * file (VACUUM writes every page afresh and drops the free ones), then checkpoints and truncates
 * the WAL. On a remote database (Turso) page storage is the service's; nothing to do here.
 *
 * VACUUM rewrites the whole file and holds the write lock meanwhile: fine for an occasional
 * account deletion on a local database, and the reason it runs only then.
 */
export async function scrubFreedSpace(db: Db, url: string): Promise<{ scrubbed: boolean; walFramesLeft: number }> {
  const path = filePath(url);
  if (path === undefined || path === ":memory:") return { scrubbed: false, walFramesLeft: 0 };
  await db.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  await db.execute("VACUUM");
  const rs = await db.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  // busy, log frames, checkpointed frames: frames left when a reader kept the WAL from being reset.
  const row = rs.rows[0];
  const left = row ? Number(row[1] ?? 0) - Number(row[2] ?? 0) : 0;
  return { scrubbed: true, walFramesLeft: Math.max(0, left) };
}

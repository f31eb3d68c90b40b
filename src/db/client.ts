import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createClient, type Client } from "@libsql/client";

export type Db = Client;

export interface DbOptions {
  url: string;
  authToken?: string;
}

/**
 * Opens the app database: a local file (WAL, foreign keys, busy timeout), `:memory:`, or a
 * remote libSQL/Turso database (`libsql://` + auth token).
 */
export async function openDb({ url, authToken }: DbOptions): Promise<Db> {
  const path = filePath(url);
  if (path !== undefined && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = createClient({ url, authToken, timeout: 5_000, concurrency: 8 } as Parameters<typeof createClient>[0]);
  if (path !== undefined && path !== ":memory:") {
    // journal_mode is stored in the file; foreign keys are on by default in libSQL, checked here.
    await db.execute("PRAGMA journal_mode=WAL");
    const fk = await db.execute("PRAGMA foreign_keys");
    if (Number(fk.rows[0]?.[0]) !== 1) throw new Error("libSQL opened the database with foreign keys off");
  }
  return db;
}

/** The path of a `file:` URL, or undefined for a remote database. */
export function filePath(url: string): string | undefined {
  if (url === ":memory:") return url;
  if (!url.startsWith("file:")) return undefined;
  return url.slice("file:".length).replace(/^\/\/(?=\/)/, "");
}

/** Whether the database answers: used by readiness. */
export async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute("SELECT 1");
    return true;
  } catch {
    return false;
  }
}

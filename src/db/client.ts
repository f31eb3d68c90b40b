import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createClient, type Client } from "@libsql/client";

export type Db = Client;

export interface DbOptions {
  url: string;
  authToken?: string;
}

/**
 * Opens the app database: a local file (WAL, foreign keys, lock waits retried), `:memory:`, or a
 * remote libSQL/Turso database (`libsql://` + auth token).
 */
export async function openDb({ url, authToken }: DbOptions): Promise<Db> {
  const path = filePath(url);
  if (path !== undefined && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const local = path !== undefined && path !== ":memory:";
  // No busy timeout for files: SQLite's busy handler sleeps on the event loop's thread, so a
  // writer waiting for a lock held by an open transaction of this same process would freeze the
  // process until the timeout and then fail (the holder never gets to commit). Busy errors are
  // retried asynchronously instead (withBusyRetry).
  const client = createClient({ url, authToken, timeout: local ? 0 : 5_000, concurrency: 8 } as Parameters<typeof createClient>[0]);
  const db = local ? withBusyRetry(client) : client;
  if (local) {
    // journal_mode is stored in the file; foreign keys are on by default in libSQL, checked here.
    await db.execute("PRAGMA journal_mode=WAL");
    const fk = await db.execute("PRAGMA foreign_keys");
    if (Number(fk.rows[0]?.[0]) !== 1) throw new Error("libSQL opened the database with foreign keys off");
  }
  return db;
}

/** How long a local write waits for the database lock before SQLITE_BUSY reaches the caller. */
export const BUSY_WAIT_MS = 5_000;

const RETRIED = new Set(["execute", "batch", "executeMultiple", "migrate", "transaction"]);

/**
 * Retries SQLITE_BUSY on the operations where nothing has happened yet when it occurs: a
 * statement or batch in its own transaction, and BEGIN of an interactive transaction. Waits
 * with growing sleeps (event loop free) up to BUSY_WAIT_MS, then gives up with the error.
 */
export function withBusyRetry(client: Client, waitMs = BUSY_WAIT_MS): Client {
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !RETRIED.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        const deadline = Date.now() + waitMs;
        for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (e) {
            if (!isBusy(e) || Date.now() >= deadline) throw e;
            await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
          }
        }
      };
    },
  });
}

function isBusy(e: unknown): boolean {
  const err = e as { code?: unknown; rawCode?: unknown };
  return err?.code === "SQLITE_BUSY" || (typeof err?.rawCode === "number" && (err.rawCode & 0xff) === 5);
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

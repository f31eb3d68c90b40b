import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createClient, LibsqlError, type Client, type Transaction } from "@libsql/client";

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
  const db = local ? withFileGuard(withBusyRetry(client), path) : client;
  if (local) {
    // journal_mode is stored in the file; foreign keys are on by default in libSQL, checked here.
    await db.execute("PRAGMA journal_mode=WAL");
    const fk = await db.execute("PRAGMA foreign_keys");
    if (Number(fk.rows[0]?.[0]) !== 1) throw new Error("libSQL opened the database with foreign keys off");
  }
  return db;
}

/** How long the file guard trusts its last look at the database file (a stat, a few µs). */
export const FILE_CHECK_MS = 1_000;

/** The guards of guarded clients, for readiness (fileProblem). */
const guards = new WeakMap<Client, (force: boolean) => string | undefined>();

/**
 * The database file deleted (or moved away) under the running server: SQLite keeps the unlinked
 * inode open, so reads and writes would go on "succeeding" in a ghost file that nothing will ever
 * see again (and a file put back at the path would be ignored). Before every operation (at most
 * once every FILE_CHECK_MS; readiness looks every time) the guard compares the file at the path
 * with the one opened: gone, every operation fails with SQLITE_CANTOPEN (Unavailable,
 * APP_DATABASE_UNAVAILABLE, in server/errors.ts) and nothing is written to the ghost; a file back
 * at the path (restored from a backup) is opened (the client's connections are reopened, which
 * ends the ghost's) and work goes on without a restart. Writes in the FILE_CHECK_MS before the
 * guard saw the file go went to the ghost: whole transactions, lost with it, never half of one.
 */
export function withFileGuard(client: Client, path: string, checkMs = FILE_CHECK_MS): Client {
  const identity = () => {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? `${st.dev}:${st.ino}` : undefined;
  };
  let opened = identity();
  let checkedAt = Date.now();
  let problem: string | undefined;
  const check = (force: boolean) => {
    const now = Date.now();
    if (!force && now - checkedAt < checkMs) return problem;
    checkedAt = now;
    const seen = identity();
    if (seen === undefined) problem = `the database file ${path} is gone (deleted or moved away while open)`;
    else if (seen !== opened) {
      // A file is back at the path: open it (the connections to the old one end).
      opened = seen;
      problem = undefined;
      void client.reconnect();
    } else problem = undefined;
    return problem;
  };
  const guarded = new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !RETRIED.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        const p = check(false);
        if (p) {
          // libSQL's code for a file it cannot open (a code of SQLite, not a reason of ours).
          const gone = new LibsqlError(p, "SQLITE_CANTOPEN");
          return Promise.reject(gone);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  guards.set(guarded, check);
  return guarded;
}

/** What is wrong with the database file under a guarded client right now (a fresh look), if anything. */
export function fileProblem(db: Db): string | undefined {
  return guards.get(db)?.(true);
}

/** How long a local write waits for the database lock before SQLITE_BUSY reaches the caller. */
export const BUSY_WAIT_MS = 5_000;

const RETRIED = new Set(["execute", "batch", "executeMultiple", "migrate", "transaction"]);

/**
 * A statement that answered SQLITE_BUSY stays active on its connection: SQLite keeps a busy
 * statement resumable, and libsql's binding neither resets nor finalizes it until V8 collects its
 * object. A BEGIN IMMEDIATE that lost the race for the lock to another process thus poisons the
 * pooled connection it ran on: every COMMIT there fails with "cannot commit transaction - SQL
 * statements in progress" until a collection happens to run. This runs one (the statement is
 * finalized on the turn after it); concurrent callers share it. Busy errors arise only where
 * another process writes the same file, so it costs a few milliseconds there and nothing elsewhere.
 */
let collecting: Promise<void> | undefined;
let fullGc: (() => void) | undefined;
export function finalizeAbandonedStatements(): Promise<void> {
  collecting ??= new Promise<void>((resolve) => {
    if (!fullGc) {
      setFlagsFromString("--expose-gc");
      fullGc = runInNewContext("gc") as () => void;
    }
    fullGc();
    setImmediate(() => {
      collecting = undefined;
      resolve();
    });
  });
  return collecting;
}

/**
 * Retries SQLITE_BUSY on the operations where nothing has happened yet when it occurs: a
 * statement or batch in its own transaction, and BEGIN of an interactive transaction. Waits
 * with growing sleeps (event loop free) up to BUSY_WAIT_MS, then gives up with the error.
 *
 * It also replaces poisoned connections: when another process commits between the moment a
 * BEGIN IMMEDIATE takes its snapshot and the moment it takes the write lock, libSQL answers
 * SQLITE_BUSY_SNAPSHOT and leaves that connection holding its stale snapshot for good (every
 * later write on it fails the same way, and the pool keeps handing it out). After such an error
 * the client's connections are reopened as soon as no interactive transaction holds one. The
 * same goes for a busy error that left a statement running on its connection ("cannot commit
 * transaction - SQL statements in progress" on every later COMMIT there).
 */
export function withBusyRetry(client: Client, waitMs = BUSY_WAIT_MS): Client {
  let openTransactions = 0;
  let poisoned = false;
  const heal = async () => {
    if (poisoned && openTransactions === 0) {
      poisoned = false;
      await client.reconnect();
    }
  };
  const settled = () => {
    openTransactions--;
    void heal();
  };
  /** Counts the transaction as open until it commits, rolls back or closes. */
  const tracked = (tx: Transaction): Transaction => {
    let done = false;
    const end = () => {
      if (!done) {
        done = true;
        settled();
      }
    };
    return new Proxy(tx, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "commit" || prop === "rollback") {
          return async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            } catch (e) {
              if (isSnapshotBusy(e)) poisoned = true;
              throw e;
            } finally {
              end();
            }
          };
        }
        if (prop === "close") {
          return (...args: unknown[]) => {
            try {
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            } finally {
              end();
            }
          };
        }
        return (...args: unknown[]) => {
          const r = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (r instanceof Promise) return r.catch((e: unknown) => Promise.reject(isSnapshotBusy(e) ? ((poisoned = true), e) : e));
          return r;
        };
      },
    });
  };
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !RETRIED.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        const deadline = Date.now() + waitMs;
        for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
          await heal();
          try {
            if (prop !== "transaction") return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            openTransactions++;
            let tx: Transaction;
            try {
              tx = (await (value as (...a: unknown[]) => Promise<Transaction>).apply(target, args)) as Transaction;
            } catch (e) {
              settled();
              throw e;
            }
            return tracked(tx);
          } catch (e) {
            if (isSnapshotBusy(e)) poisoned = true;
            if (!isBusy(e)) throw e;
            // The statement that answered busy is still active on the connection it leaves in the
            // pool (see finalizeAbandonedStatements); finalized, that connection works again.
            await finalizeAbandonedStatements();
            if (Date.now() >= deadline) throw e;
            await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
          }
        }
      };
    },
  });
}

/**
 * Runs `fn` in a write transaction and commits; the whole transaction is run again when the
 * database was busy at any step (on a local file libSQL may refuse a statement or the COMMIT of
 * a transaction with SQLITE_BUSY when another process writes; nothing of it was kept). `fn` must
 * only touch the database. Gives up with the error after `waitMs`.
 */
export async function inWriteTransaction<T>(db: Db, fn: (tx: Transaction) => Promise<T>, waitMs = BUSY_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const tx = await db.transaction("write");
    try {
      const result = await fn(tx);
      // `fn` may have committed or rolled back itself (an early answer without a write).
      if (!tx.closed) await tx.commit();
      return result;
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
    } finally {
      tx.close();
    }
    await finalizeAbandonedStatements();
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
  }
}

function isBusy(e: unknown): boolean {
  const err = e as { code?: unknown; rawCode?: unknown };
  return err?.code === "SQLITE_BUSY" || (typeof err?.rawCode === "number" && (err.rawCode & 0xff) === 5);
}

/**
 * A busy error that leaves its connection unusable: a stale snapshot (SQLITE_BUSY_SNAPSHOT), or a
 * statement left running on it so that no transaction on it can commit any more.
 */
function isSnapshotBusy(e: unknown): boolean {
  const err = e as { extendedCode?: unknown; rawCode?: unknown; message?: unknown };
  return err?.extendedCode === "SQLITE_BUSY_SNAPSHOT" || err?.rawCode === 517 || (isBusy(e) && /statements in progress/.test(String(err?.message)));
}

/** The path of a `file:` URL, or undefined for a remote database. */
export function filePath(url: string): string | undefined {
  if (url === ":memory:") return url;
  if (!url.startsWith("file:")) return undefined;
  return url.slice("file:".length).replace(/^\/\/(?=\/)/, "");
}

/**
 * Whether the database takes a write within `ms` (readiness): rewrites the one row of
 * ready_probe. A write that waits longer (a lock held elsewhere) counts as refused.
 */
export async function takesWrites(db: Db, ms = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const write = db
    .execute("INSERT INTO ready_probe (id, writes) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET writes = writes + 1")
    .then(
      () => true,
      () => false,
    );
  try {
    return await Promise.race([write, late]);
  } finally {
    clearTimeout(timer);
  }
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

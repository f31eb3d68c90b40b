import { ConnectError } from "@connectrpc/connect";
import type { Connections } from "./connections.js";
import { DatabaseError, type Session } from "./driver.js";
import { refusal } from "./guard.js";
import { splitStatements } from "./split.js";
import type { ConnectionRow } from "./store.js";

/** The result of checking SQL on a connection without running it. */
export interface ExplainCheck {
  /** The database accepted every statement. */
  ok: boolean;
  /** Whether the database was asked (false: `note` says why not). */
  checked: boolean;
  /** The database's error when it rejected a statement. */
  error: string;
  /** Why a statement was not checked. */
  note: string;
}

const TRANSACTION_CONTROL = new Set(["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"]);
const notChecked = (note: string): ExplainCheck => ({ ok: false, checked: false, error: "", note });

/**
 * Checks SQL the way the database would plan it, never running it: each statement under plain
 * EXPLAIN (SQLite: EXPLAIN QUERY PLAN) inside a read-only transaction that is rolled back, on a
 * session of the user's profile, after the same statement guard as read-only queries. Statements
 * EXPLAIN cannot take (DDL on PostgreSQL and MySQL) end the check with a note, since the ones
 * after them may depend on them. `timeoutMs` and `signal` stop the EXPLAIN in the database.
 */
export async function explainCheck(
  connections: Connections,
  req: { userId: string; row: ConnectionRow; sql: string; timeoutMs: number; signal?: AbortSignal },
): Promise<ExplainCheck> {
  const { row } = req;
  const dialect = connections.dialectOf(row.engine);
  const statements = splitStatements(req.sql, row.engine);
  if (statements.length === 0) return notChecked("there is no SQL to check");
  let acquired: { session: Session; done: (broken?: boolean) => void };
  try {
    acquired = await connections.session(req.userId, row);
  } catch (err) {
    return notChecked(`the connection is not available: ${messageOf(err)}`);
  }
  const { session, done } = acquired;
  let broken = false;
  let stopped: string | undefined;
  const stop = (why: string) => {
    if (stopped) return;
    stopped = why;
    session.cancel().catch(() => undefined);
  };
  const timer = setTimeout(() => stop(`the check took longer than ${req.timeoutMs} ms`), req.timeoutMs);
  const onAbort = () => stop("the request ended");
  req.signal?.addEventListener("abort", onAbort);
  if (req.signal?.aborted) onAbort();
  let checked = 0;
  try {
    await session.begin(true);
    for (const stmt of statements) {
      const first = stmt.words[0] ?? "";
      if (TRANSACTION_CONTROL.has(first)) continue; // the rest is checked inside one read-only transaction
      if (first === "EXPLAIN" && stmt.words.includes("ANALYZE")) return notChecked("EXPLAIN ANALYZE runs the statement: not checked");
      const allowed = dialect.explainable;
      if (allowed && !allowed.has(first)) {
        return notChecked(`${first} statements cannot be checked with EXPLAIN on this database${checked > 0 ? " (the statements before it were accepted)" : ""}`);
      }
      const why = refusal(stmt, row.engine, true);
      if (why) return notChecked(`${why}: not checked`);
      if (stopped) return notChecked(stopped);
      await session.all(first === "EXPLAIN" ? stmt.sql : dialect.explainOnly(stmt.sql));
      checked++;
    }
    if (checked === 0) return notChecked("only transaction control: nothing to check");
    return { ok: true, checked: true, error: "", note: "" };
  } catch (err) {
    broken = true;
    if (stopped) return notChecked(stopped);
    if (err instanceof DatabaseError) {
      if (err.kind === "sql" || err.kind === "constraint") return { ok: false, checked: true, error: err.message, note: "" };
      if (err.kind === "readonly") return notChecked(`the database does not EXPLAIN this statement in a read-only transaction (${err.message})`);
      return notChecked(`the database could not be asked: ${err.message}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener("abort", onAbort);
    await session.rollback().catch(() => {
      broken = true;
    });
    done(broken);
  }
}

function messageOf(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage;
  if (err instanceof DatabaseError) return err.message;
  return "unknown error";
}

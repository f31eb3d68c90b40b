import type { Connections } from "./connections.js";
import type { Session } from "./driver.js";
import type { ConnectionRow } from "./store.js";

/** How a session is held: what happens between acquiring it and giving it back. */
export interface SessionOptions {
  /** Runs in a read-only transaction (begun before the work, rolled back after it). */
  readOnly?: boolean;
  /**
   * Told the session as soon as it is acquired, before any transaction begins (whoever may stop
   * the work needs it); throwing gives the session back as broken.
   */
  acquired?: (session: Session) => void;
  /** Asked once the work ended well: false closes the session instead of pooling it (a stopped query). */
  reusable?: () => boolean;
}

/**
 * Runs `fn` on a pooled session of the user's profile and gives the session back: pooled when
 * `fn` (and the rollback of a read-only transaction) succeeded, else closed as broken.
 */
export async function withSession<T>(connections: Connections, userId: string, row: ConnectionRow, fn: (s: Session) => Promise<T>, opts: SessionOptions = {}): Promise<T> {
  const { session, done } = await connections.session(userId, row);
  let broken = true;
  try {
    opts.acquired?.(session);
    if (opts.readOnly) await session.begin(true);
    const out = await fn(session);
    if (opts.readOnly) await session.rollback();
    broken = opts.reusable ? !opts.reusable() : false;
    return out;
  } finally {
    done(broken);
  }
}

/**
 * `withSession` for a stream: yields what `body` yields. A stream its reader left early (or that
 * failed) gives its session back as broken: a cursor may still be open on it.
 */
export async function* streamWithSession<T>(
  connections: Connections,
  userId: string,
  row: ConnectionRow,
  body: (s: Session) => AsyncIterable<T>,
  opts: SessionOptions = {},
): AsyncGenerator<T> {
  const { session, done } = await connections.session(userId, row);
  let broken = true;
  try {
    opts.acquired?.(session);
    if (opts.readOnly) await session.begin(true);
    yield* body(session);
    if (opts.readOnly) await session.rollback();
    broken = opts.reusable ? !opts.reusable() : false;
  } finally {
    done(broken);
  }
}

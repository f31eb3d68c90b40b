import { EngineError } from "./driver.js";
import { R } from "../common/reasons.js";

/** One connection as a pool holds it. */
export interface PooledConn {
  /** False once the connection is closed, killed or lost. */
  readonly alive: boolean;
  /** Clears what the last request left on the session; rejects when it cannot (the connection is then closed). */
  reset(): Promise<void>;
  /** Closes an idle connection politely (the server is told). */
  close(): void;
  /** Ends the connection now; pending reads on it fail with `reason`. */
  destroy(reason: Error): void;
}

/**
 * Opens a connection admitted against the caps: `admit` takes a place (undefined: no caps), and
 * the `onClosed` handed to `open` gives it back once, when the connection is gone; a connection
 * that never opened gives it back at once.
 */
export async function openAdmitted<C>(admit: () => (() => void) | undefined, open: (onClosed: () => void) => Promise<C>): Promise<C> {
  const admitted = admit() ?? (() => undefined);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    admitted();
  };
  try {
    return await open(release);
  } catch (err) {
    release();
    throw err;
  }
}

export const poolClosed = () => new EngineError("the connection was closed: its profile was changed or deleted, or the server is shutting down", R.CONNECTION_CLOSED);

/**
 * The pool of the PostgreSQL and MySQL drivers: at most `max` connections, idle ones closed after
 * `idleMs`, every returned connection reset before anyone else gets it, and an end that does not
 * wait for anyone (busy connections are killed, so a statement a database never finishes cannot
 * hold a DeleteConnection or a shutdown).
 */
export class ConnPool<C extends PooledConn> {
  private readonly idle: { conn: C; since: number }[] = [];
  private readonly busy = new Set<C>();
  private opening = 0;
  private readonly waiters: { resolve: (c: C) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly open: () => Promise<C>,
    private readonly limits: { max: number; idleMs: number },
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.evict(), Math.max(1_000, Math.min(limits.idleMs, 30_000)));
    this.timer.unref();
  }

  async acquire(): Promise<C> {
    if (this.ended) throw poolClosed();
    const ready = this.takeIdle();
    if (ready) return ready;
    if (this.busy.size + this.opening < this.limits.max) return this.create();
    return new Promise<C>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Gives a connection back: reset, then to a waiter or the idle list; `broken` closes it. */
  release(conn: C, broken = false): void {
    if (!this.busy.has(conn)) return;
    if (broken || !conn.alive || this.ended) {
      this.drop(conn, poolClosed());
      return;
    }
    conn.reset().then(
      () => this.handOff(conn),
      (err: unknown) => this.drop(conn, err instanceof Error ? err : poolClosed()),
    );
  }

  /** Closes up to `n` idle connections now; how many. */
  closeIdle(n: number): number {
    let closed = 0;
    while (closed < n && this.idle.length > 0) {
      this.idle.shift()!.conn.close();
      closed++;
    }
    return closed;
  }

  stats() {
    return { total: this.busy.size + this.idle.length + this.opening, idle: this.idle.length, waiting: this.waiters.length, max: this.limits.max };
  }

  /** Idle connections closed, busy ones killed, waiters refused; nothing is waited for. */
  end(reason: Error = poolClosed()): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    for (const { conn } of this.idle.splice(0)) conn.close();
    for (const conn of [...this.busy]) conn.destroy(reason);
    this.busy.clear();
    for (const w of this.waiters.splice(0)) w.reject(reason);
  }

  private takeIdle(): C | undefined {
    while (this.idle.length > 0) {
      const { conn } = this.idle.pop()!;
      if (conn.alive) {
        this.busy.add(conn);
        return conn;
      }
    }
    return undefined;
  }

  private async create(): Promise<C> {
    this.opening++;
    try {
      const conn = await this.open();
      if (this.ended) {
        conn.close();
        throw poolClosed();
      }
      this.busy.add(conn);
      return conn;
    } finally {
      this.opening--;
    }
  }

  private handOff(conn: C): void {
    if (!conn.alive || this.ended) return this.drop(conn, poolClosed());
    const w = this.waiters.shift();
    if (w) return w.resolve(conn);
    this.busy.delete(conn);
    this.idle.push({ conn, since: this.now() });
  }

  /** A connection is gone: a waiter gets a new one in its place. */
  private drop(conn: C, reason: Error): void {
    this.busy.delete(conn);
    conn.destroy(reason);
    const w = this.waiters.shift();
    if (!w) return;
    if (this.ended) return w.reject(poolClosed());
    const ready = this.takeIdle();
    if (ready) w.resolve(ready);
    else this.create().then(w.resolve, w.reject);
  }

  private evict(): void {
    const cutoff = this.now() - this.limits.idleMs;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const { conn, since } = this.idle[i];
      if (since < cutoff || !conn.alive) {
        this.idle.splice(i, 1);
        conn.close();
      }
    }
  }
}

import { fail, R, type Reason } from "../common/errors.js";

/** The engine's per-user and per-host caps in one instance (issue 18 items 4 and 7). */
export interface BudgetLimits {
  /** ExecuteQuery and ExportRows streams one user may run at once (ENGINE_MAX_STREAMS_PER_USER). */
  streamsPerUser: number;
  /** Open database connections one user may hold across all their pools (ENGINE_MAX_OPEN_CONNECTIONS_PER_USER). */
  connectionsPerUser: number;
  /** Open connections to one database host, all users together (ENGINE_MAX_CONNECTIONS_PER_HOST). */
  connectionsPerHost: number;
}

export type BudgetLimit = "ENGINE_MAX_STREAMS_PER_USER" | "ENGINE_MAX_OPEN_CONNECTIONS_PER_USER" | "ENGINE_MAX_CONNECTIONS_PER_HOST";

const REASONS: Record<BudgetLimit, Reason> = {
  ENGINE_MAX_STREAMS_PER_USER: R.TOO_MANY_STREAMS,
  ENGINE_MAX_OPEN_CONNECTIONS_PER_USER: R.TOO_MANY_DATABASE_CONNECTIONS,
  ENGINE_MAX_CONNECTIONS_PER_HOST: R.TOO_MANY_HOST_CONNECTIONS,
};

export function budgetExceeded(limit: BudgetLimit, max: number, what: string): Error {
  return fail(REASONS[limit], `${what}: at most ${max} (${limit}); wait for one to finish`, {
    retryAfterMs: 1_000,
    metadata: { limit, max: String(max) },
  });
}

class Counter {
  private readonly counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  add(key: string, n: number): void {
    const v = this.get(key) + n;
    if (v <= 0) this.counts.delete(key);
    else this.counts.set(key, v);
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

/**
 * Counts streams and open database connections in this instance. A stream or connection over a
 * cap is refused with ResourceExhausted naming the limit (`onHit` counts it in metrics); each
 * grant returns its release, which is safe to call more than once.
 */
export class Budget {
  private readonly streams = new Counter();
  private readonly userConns = new Counter();
  private readonly hostConns = new Counter();

  constructor(
    private readonly limits: BudgetLimits,
    private readonly onHit: (limit: BudgetLimit) => void = () => undefined,
    /** Told the number of open connections whenever it changes (a metrics gauge). */
    private readonly onConnections: (open: number) => void = () => undefined,
  ) {}

  /** A stream slot of the user, or ResourceExhausted. */
  stream(userId: string): () => void {
    if (this.streams.get(userId) >= this.limits.streamsPerUser) {
      this.onHit("ENGINE_MAX_STREAMS_PER_USER");
      throw budgetExceeded("ENGINE_MAX_STREAMS_PER_USER", this.limits.streamsPerUser, "too many queries and exports running at once for this user");
    }
    this.streams.add(userId, 1);
    return once(() => this.streams.add(userId, -1));
  }

  /** Which cap a new connection of the user to `host` would break, if any. */
  full(userId: string, host: string): BudgetLimit | undefined {
    if (this.userConns.get(userId) >= this.limits.connectionsPerUser) return "ENGINE_MAX_OPEN_CONNECTIONS_PER_USER";
    if (this.hostConns.get(host) >= this.limits.connectionsPerHost) return "ENGINE_MAX_CONNECTIONS_PER_HOST";
    return undefined;
  }

  /** Counts a new connection, or throws ResourceExhausted naming the cap. */
  connection(userId: string, host: string): () => void {
    const full = this.full(userId, host);
    if (full) {
      this.onHit(full);
      const max = full === "ENGINE_MAX_CONNECTIONS_PER_HOST" ? this.limits.connectionsPerHost : this.limits.connectionsPerUser;
      throw budgetExceeded(full, max, full === "ENGINE_MAX_CONNECTIONS_PER_HOST" ? "too many open connections to this database host" : "too many open database connections for this user");
    }
    this.userConns.add(userId, 1);
    this.hostConns.add(host, 1);
    this.onConnections(this.userConns.total());
    return once(() => {
      this.userConns.add(userId, -1);
      this.hostConns.add(host, -1);
      this.onConnections(this.userConns.total());
    });
  }

  openConnections(userId?: string): number {
    return userId === undefined ? this.userConns.total() : this.userConns.get(userId);
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

import { R } from "../../common/reasons.js";
import { ConnPool, openAdmitted, type PooledConn } from "../conn-pool.js";
import { EngineError, type EnginePool, type PoolLimits, type Session, type Target } from "../driver.js";
import { DEFAULT_WIRE_LIMITS, protocolViolation, type WireLimits } from "../limits.js";
import type { Lifeline } from "./lifeline.js";

/** A connection of a network engine, as its pool holds it. */
export type NetConn = Session & PooledConn & { readonly lifeline: Lifeline };

/**
 * The connections of one (user, profile) to a network database (PostgreSQL, MySQL): opened as the
 * caps admit them, counted when a limit kills one, asked their version (bounded) by the health check.
 */
export abstract class NetPool<C extends NetConn> implements EnginePool {
  readonly limits: WireLimits;
  protected readonly conns: ConnPool<C>;

  constructor(
    protected readonly target: Target,
    private readonly poolLimits: PoolLimits,
    /** The statement that answers the server's version. */
    private readonly versionSql: string,
  ) {
    this.limits = poolLimits.wire ?? DEFAULT_WIRE_LIMITS;
    this.conns = new ConnPool(() => openAdmitted(() => this.poolLimits.admit?.(), (onClosed) => this.open(onClosed)), poolLimits, poolLimits.now);
  }

  /** Opens one connection (already admitted); `onClosed` runs once it is closed or lost. */
  protected abstract open(onClosed: () => void): Promise<C>;

  /** Hears every kill of a connection: a limit that killed one is counted. */
  observe(reason: Error): void {
    if (reason instanceof EngineError && reason.reason !== R.CONNECTION_CLOSED) this.poolLimits.onLimit?.(reason.reason);
  }

  acquire(): Promise<Session> {
    return this.conns.acquire();
  }

  release(conn: C, broken: boolean): void {
    this.conns.release(conn, broken);
  }

  stats() {
    return this.conns.stats();
  }

  closeIdle(n: number): number {
    return this.conns.closeIdle(n);
  }

  async version(): Promise<string> {
    const s = await this.conns.acquire();
    let broken = true;
    try {
      // Bounded: the health check job asks this of every open pool.
      const r = await s.lifeline.within(s.all(this.versionSql), this.target.connectTimeoutMs, () => protocolViolation(`no answer to ${this.versionSql}`));
      broken = false;
      const k = r.rows[0]?.[0]?.kind;
      return k?.case === "textValue" ? k.value : "";
    } finally {
      s.release(broken);
    }
  }

  async end(): Promise<void> {
    this.conns.end();
  }
}

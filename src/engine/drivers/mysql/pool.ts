import { R } from "../../../common/reasons.js";
import { ConnPool, openAdmitted, type PooledConn } from "../../conn-pool.js";
import { EngineError, type EnginePool, type PoolLimits, type Session, type Target } from "../../driver.js";
import { DEFAULT_WIRE_LIMITS, protocolViolation, type WireLimits } from "../../limits.js";
import type { Lifeline } from "../lifeline.js";

/** What the pool uses of a connection (mysql.ts's MysqlSession). */
export interface MysqlConn extends Session, PooledConn {
  readonly lifeline: Lifeline;
  kill(reason: Error): void;
}

/** What a connection needs from its pool. */
export interface MysqlOwner {
  limits: WireLimits;
  observe(reason: Error): void;
  release(conn: MysqlConn, broken: boolean): void;
  kill(threadId: number): Promise<void>;
}

type Open = (target: Target, owner: MysqlOwner, onClosed: () => void) => Promise<MysqlConn>;

/** The connections of one (user, profile) to a MySQL or MariaDB server. */
export class MysqlPool implements EnginePool, MysqlOwner {
  readonly limits: WireLimits;
  private readonly conns: ConnPool<MysqlConn>;

  constructor(
    private readonly target: Target,
    private readonly poolLimits: PoolLimits,
    private readonly openSession: Open,
  ) {
    this.limits = poolLimits.wire ?? DEFAULT_WIRE_LIMITS;
    this.conns = new ConnPool(() => this.connect(), poolLimits, poolLimits.now);
  }

  private connect(): Promise<MysqlConn> {
    return openAdmitted(() => this.poolLimits.admit?.(), (release) => this.openSession(this.target, this, release));
  }

  observe(reason: Error): void {
    if (reason instanceof EngineError && reason.reason !== R.CONNECTION_CLOSED) this.poolLimits.onLimit?.(reason.reason);
  }

  acquire(): Promise<Session> {
    return this.conns.acquire();
  }

  release(conn: MysqlConn, broken: boolean): void {
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
      const r = await s.lifeline.within(s.all("SELECT VERSION()"), this.target.connectTimeoutMs, () => protocolViolation("no answer to SELECT VERSION()"));
      broken = false;
      const k = r.rows[0]?.[0]?.kind;
      return k?.case === "textValue" ? k.value : "";
    } finally {
      s.release(broken);
    }
  }

  /**
   * KILL QUERY from a connection of its own (the pool may be full), watched like any other and
   * bounded by the cancel timeout: a server that never answers it cannot hold the caller.
   */
  async kill(threadId: number): Promise<void> {
    const timeout = () => protocolViolation("KILL QUERY was not answered in time");
    let s: MysqlConn | undefined;
    const work = (async () => {
      // Its own owner: nothing counted, never pooled.
      const owner: MysqlOwner = { limits: this.limits, observe: () => undefined, release: () => undefined, kill: async () => undefined };
      s = await this.openSession({ ...this.target, connectTimeoutMs: this.limits.cancelTimeoutMs }, owner, () => undefined);
      await s.all(`KILL QUERY ${Number(threadId)}`);
    })();
    const timer = setTimeout(() => s?.kill(timeout()), this.limits.cancelTimeoutMs);
    timer.unref();
    try {
      await Promise.race([work, new Promise<void>((_, reject) => setTimeout(() => reject(timeout()), this.limits.cancelTimeoutMs).unref())]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined).finally(() => s?.destroy(new EngineError("done", R.CONNECTION_CLOSED)));
    }
  }

  async end(): Promise<void> {
    this.conns.end();
  }
}

import { R } from "../../../common/reasons.js";
import type { PooledConn } from "../../conn-pool.js";
import { EngineError, type PoolLimits, type Session, type Target } from "../../driver.js";
import { protocolViolation, type WireLimits } from "../../limits.js";
import type { Lifeline } from "../lifeline.js";
import { NetPool } from "../net-pool.js";

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
export class MysqlPool extends NetPool<MysqlConn> implements MysqlOwner {
  constructor(
    target: Target,
    poolLimits: PoolLimits,
    private readonly openSession: Open,
  ) {
    super(target, poolLimits, "SELECT VERSION()");
  }

  protected open(onClosed: () => void): Promise<MysqlConn> {
    return this.openSession(this.target, this, onClosed);
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
}

import type { Logger } from "../observability/logger.js";
import { resourceExhausted, R } from "../common/errors.js";
import type { Budget } from "./budget.js";
import type { Driver, Drivers, EngineName, EnginePool, EngineReason, PoolStats, Session, Target } from "./driver.js";
import type { WireLimits } from "./limits.js";

interface Entry {
  pool: EnginePool;
  driver: Driver;
  /** The address it connects to (the per-host cap). */
  host: string;
  /** The profile version the pool was opened for; an updated profile gets a new pool. */
  version: number;
  lastUsed: number;
  inUse: number;
  health: { healthy: boolean; checkedAt: number; error: string };
}

export interface PoolHealth extends PoolStats {
  open: boolean;
  healthy: boolean;
  checkedAt: number;
  error: string;
}

/** One pool per (user, connection profile) in this process, closed when idle. */
export class Pools {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly logger: Logger;
  /** Told the number of open pools whenever it changes (a metrics gauge). */
  private readonly onCount: (pools: number) => void;
  /** Per-user and per-host caps on open connections (network engines). */
  private readonly budget?: Budget;

  constructor(
    /** The driver of each engine. */
    private readonly drivers: Drivers,
    private readonly limits: { max: number; idleMs: number; perUser: number; wire?: WireLimits; onLimit?: (reason: EngineReason) => void },
    deps: { now: () => number; logger: Logger; onCount?: (pools: number) => void; budget?: Budget },
  ) {
    this.now = deps.now;
    this.logger = deps.logger;
    this.onCount = deps.onCount ?? (() => undefined);
    this.budget = deps.budget;
  }

  /** The driver of an engine. */
  driver(engine: EngineName): Driver {
    return this.drivers[engine];
  }

  private key(userId: string, connectionId: string) {
    return `${userId}\n${connectionId}`;
  }

  /** A session on the profile's pool, opening the pool (with `target()`) when needed. */
  async session(userId: string, connectionId: string, version: number, engine: EngineName, target: () => Promise<Target>): Promise<{ session: Session; driver: Driver; done: (broken?: boolean) => void }> {
    const key = this.key(userId, connectionId);
    let e = this.entries.get(key);
    if (e && e.version !== version) {
      this.entries.delete(key);
      void e.pool.end();
      e = undefined;
    }
    if (!e) {
      this.makeRoom(userId);
      const driver = this.drivers[engine];
      const t = await target();
      const admit = engine === "sqlite" || !this.budget ? undefined : () => this.admit(userId, t.host);
      const pool = driver.pool(t, { max: this.limits.max, idleMs: this.limits.idleMs, wire: this.limits.wire, onLimit: this.limits.onLimit, admit, now: this.now });
      e = this.entries.get(key) ?? { pool, driver, host: t.host, version, lastUsed: this.now(), inUse: 0, health: { healthy: true, checkedAt: 0, error: "" } };
      if (e.pool !== pool) void pool.end();
      this.entries.set(key, e);
      this.onCount(this.entries.size);
    }
    const entry = e;
    entry.inUse++;
    entry.lastUsed = this.now();
    try {
      const session = await entry.pool.acquire();
      let released = false;
      return {
        session,
        driver: entry.driver,
        done: (broken = false) => {
          if (released) return;
          released = true;
          entry.inUse--;
          entry.lastUsed = this.now();
          session.release(broken);
        },
      };
    } catch (err) {
      entry.inUse--;
      entry.health = { healthy: false, checkedAt: this.now(), error: (err as Error).message };
      throw err;
    }
  }

  /**
   * Counts a new connection of the user to `host` against the caps; when one is full, an idle
   * connection that counts against it (the user's, or any to that host) is closed to make room.
   */
  private admit(userId: string, host: string): () => void {
    const budget = this.budget!;
    const full = budget.full(userId, host);
    if (full) {
      const prefix = `${userId}\n`;
      for (const [key, e] of this.entries) {
        const counts = full === "ENGINE_MAX_CONNECTIONS_PER_HOST" ? e.host === host : key.startsWith(prefix);
        if (counts && (e.pool.closeIdle?.(1) ?? 0) > 0 && !budget.full(userId, host)) break;
      }
    }
    return budget.connection(userId, host);
  }

  /**
   * A user holds at most `perUser` pools here: the least recently used idle one is closed to
   * open another; when all are busy the user is told to wait.
   */
  private makeRoom(userId: string) {
    const prefix = `${userId}\n`;
    const mine = [...this.entries].filter(([k]) => k.startsWith(prefix));
    if (mine.length < this.limits.perUser) return;
    const idle = mine.filter(([, e]) => e.inUse === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
    if (!idle) throw resourceExhausted(`at most ${this.limits.perUser} connections may be in use at once; wait for one to finish`, 1_000, R.TOO_MANY_POOLS);
    this.entries.delete(idle[0]);
    this.onCount(this.entries.size);
    void idle[1].pool.end();
  }

  health(userId: string, connectionId: string): PoolHealth {
    const e = this.entries.get(this.key(userId, connectionId));
    if (!e) return { open: false, total: 0, idle: 0, waiting: 0, max: this.limits.max, healthy: true, checkedAt: 0, error: "" };
    return { open: true, ...e.pool.stats(), ...e.health };
  }

  async close(userId: string, connectionId: string): Promise<void> {
    const key = this.key(userId, connectionId);
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.onCount(this.entries.size);
    await e.pool.end();
  }

  /** The health check job: idle pools are closed, the others asked for their version. */
  async check(): Promise<Record<string, number>> {
    const now = this.now();
    let closed = 0;
    let healthy = 0;
    let failing = 0;
    for (const [key, e] of [...this.entries]) {
      if (e.inUse === 0 && now - e.lastUsed >= this.limits.idleMs) {
        this.entries.delete(key);
        await e.pool.end();
        closed++;
        continue;
      }
      try {
        await e.pool.version();
        e.health = { healthy: true, checkedAt: this.now(), error: "" };
        healthy++;
      } catch (err) {
        e.health = { healthy: false, checkedAt: this.now(), error: (err as Error).message };
        failing++;
      }
    }
    this.onCount(this.entries.size);
    return { pools: this.entries.size, closed, healthy, failing };
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.onCount(0);
    await Promise.allSettled(all.map((e) => e.pool.end()));
    this.logger.debug({ pools: all.length }, "engine pools closed");
  }
}

/**
 * Small counters behind the realtime limits (pure: the clock is passed in). The hub counts each
 * user's subscriptions itself; these count what it cannot see: sockets that have not
 * authenticated yet, per client address, and messages per socket.
 */

/** At most `max` holders per key (e.g. unauthenticated sockets per address). */
export class KeyedSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a slot for `key`; false when the key holds `max` already. */
  take(key: string): boolean {
    const n = this.held.get(key) ?? 0;
    if (n >= this.max) return false;
    this.held.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.held.get(key) ?? 0;
    if (n <= 1) this.held.delete(key);
    else this.held.set(key, n - 1);
  }

  /** Keys holding at least one slot (the map never keeps empty keys). */
  get keys(): number {
    return this.held.size;
  }
}

/** A token bucket: a burst of `perMinute`, refilled at `perMinute` per minute. */
export class RateBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {
    this.tokens = perMinute;
    this.at = now();
  }

  /** Spends one token; false when none is left. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perMinute, this.tokens + (Math.max(0, t - this.at) * this.perMinute) / 60_000);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

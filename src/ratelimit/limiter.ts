/**
 * Fixed-window rate limits shared by every instance through the database, with a token bucket per
 * key in this process so the common case costs no round trip (issue 14 item 8).
 *
 * For each key and window the database holds how many tokens instances have taken. An instance
 * takes a chunk at a time (one atomic upsert that grants at most what is left under the limit),
 * spends it locally, and asks again only when it is empty. A grant smaller than asked means the
 * window is used up: once the local tokens are spent every call is refused, without a round trip,
 * until the window ends. The instances together never admit more than the limit per window; a user
 * may be refused a little early while other instances still hold unspent tokens of their chunks.
 *
 * Pure: the clock and the database's grant are injected.
 */

/** Asks the database for up to `want` tokens of `bucket` in the window; resolves to the tokens granted (0..want). */
export type GrantFn = (bucket: string, windowStart: number, want: number, limit: number, now: number) => Promise<number>;

/** One bucket's ask in a round trip that asks for several (GrantBatchFn). */
export interface GrantAsk {
  bucket: string;
  windowStart: number;
  want: number;
  limit: number;
  now: number;
}

/** Asks for several buckets in one round trip (one transaction); resolves to each one's grant, in order. */
export type GrantBatchFn = (asks: GrantAsk[]) => Promise<number[]>;

export interface LimiterOptions {
  /** Length of a fixed window, ms. */
  windowMs: number;
  /** Most tokens an instance takes from the database at once. */
  maxChunk: number;
  /** Most keys kept in this process; beyond it idle keys are dropped (their unspent tokens are lost). */
  maxKeys: number;
  now: () => number;
  grant: GrantFn;
  /**
   * When given, the asks that start in the same turn of the event loop (a call whose user and
   * address buckets run empty together, see prefetch) go to the database in one round trip.
   */
  grantBatch?: GrantBatchFn;
  /** The database could not be asked: the call is admitted (fail open) and this is told. */
  onStoreError?: (err: unknown) => void;
}

export type Decision = { ok: true } | { ok: false; retryAfterMs: number };

const OK: Decision = { ok: true };

interface Entry {
  windowStart: number;
  /** Unspent tokens of this instance's chunks. */
  tokens: number;
  /** The database granted less than asked (or nothing): nothing is left in this window. */
  exhausted: boolean;
  /** The chunk being asked for (calls arriving meanwhile wait for it, not ask again). */
  pending?: Promise<void>;
}

/** Tokens asked for at once for a limit: a twentieth of it, at least 1, at most `maxChunk`. */
export function chunkFor(limit: number, maxChunk: number): number {
  return Math.max(1, Math.min(maxChunk, Math.floor(limit / 20)));
}

export class ChunkedLimiter {
  /** What the limiter did (tests and benchmarks count round trips with it). */
  readonly stats = { takes: 0, storeRequests: 0, storeErrors: 0, evicted: 0 };
  private readonly entries = new Map<string, Entry>();
  /** Asks waiting for the end of this turn, to go to the database together. */
  private queue: { ask: GrantAsk; resolve: (granted: number) => void; reject: (err: unknown) => void }[] = [];

  constructor(private readonly opts: LimiterOptions) {}

  /** Keys held in this process. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Spends one token of `bucket` (limit per window; 0 is unlimited). Synchronous while the local
   * chunk lasts or the window is known to be used up; a promise when the database is asked.
   */
  take(bucket: string, limit: number): Decision | Promise<Decision> {
    this.stats.takes++;
    if (limit <= 0) return OK;
    const now = this.opts.now();
    const windowStart = now - (now % this.opts.windowMs);
    const e = this.entry(bucket, windowStart);
    if (e.tokens > 0) {
      e.tokens--;
      return OK;
    }
    if (e.exhausted) return { ok: false, retryAfterMs: windowStart + this.opts.windowMs - now };
    return this.refill(bucket, e, windowStart, limit);
  }

  /**
   * Starts refilling `bucket` if its local tokens are spent (and its window is not used up),
   * without taking one: a call about to take from it after another bucket's refill asks for both
   * in one round trip.
   */
  prefetch(bucket: string, limit: number): void {
    if (limit <= 0) return;
    const now = this.opts.now();
    const windowStart = now - (now % this.opts.windowMs);
    const e = this.entry(bucket, windowStart);
    if (e.tokens > 0 || e.exhausted || e.pending) return;
    e.pending = this.fetch(bucket, e, windowStart, limit).finally(() => (e.pending = undefined));
  }

  private entry(bucket: string, windowStart: number): Entry {
    let e = this.entries.get(bucket);
    if (e && e.windowStart === windowStart) return e;
    if (e) {
      // A new window: the old one's tokens are gone; re-inserted so idle keys stay at the front.
      this.entries.delete(bucket);
      e.windowStart = windowStart;
      e.tokens = 0;
      e.exhausted = false;
    } else {
      if (this.entries.size >= this.opts.maxKeys) this.evict(windowStart);
      e = { windowStart, tokens: 0, exhausted: false };
    }
    this.entries.set(bucket, e);
    return e;
  }

  /** Drops keys of ended windows, then the least recently renewed ones, down to 90% of maxKeys. */
  private evict(windowStart: number): void {
    const target = Math.floor(this.opts.maxKeys * 0.9);
    for (const [k, e] of this.entries) {
      if (e.windowStart < windowStart) {
        this.entries.delete(k);
        this.stats.evicted++;
      }
    }
    for (const k of this.entries.keys()) {
      if (this.entries.size <= target) break;
      this.entries.delete(k);
      this.stats.evicted++;
    }
  }

  private async refill(bucket: string, e: Entry, windowStart: number, limit: number): Promise<Decision> {
    for (;;) {
      e.pending ??= this.fetch(bucket, e, windowStart, limit).finally(() => (e.pending = undefined));
      await e.pending;
      const now = this.opts.now();
      if (now - (now % this.opts.windowMs) !== windowStart || e.windowStart !== windowStart) return this.take(bucket, limit);
      if (e.tokens > 0) {
        e.tokens--;
        return OK;
      }
      if (e.exhausted) return { ok: false, retryAfterMs: windowStart + this.opts.windowMs - now };
    }
  }

  private async fetch(bucket: string, e: Entry, windowStart: number, limit: number): Promise<void> {
    const want = chunkFor(limit, this.opts.maxChunk);
    let granted: number;
    try {
      granted = Math.max(0, Math.min(want, await this.ask({ bucket, windowStart, want, limit, now: this.opts.now() })));
    } catch (err) {
      // The database is unreachable or busy: admit (the call's own work meets the same database).
      this.stats.storeErrors++;
      this.opts.onStoreError?.(err);
      granted = want;
    }
    // A grant for a window that has ended meanwhile is dropped.
    if (e.windowStart !== windowStart) return;
    e.tokens += granted;
    if (granted < want) e.exhausted = true;
  }

  /** One bucket's ask: alone, or (with grantBatch) with the others of this turn. */
  private ask(a: GrantAsk): Promise<number> {
    if (!this.opts.grantBatch) {
      this.stats.storeRequests++;
      return this.opts.grant(a.bucket, a.windowStart, a.want, a.limit, a.now);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ask: a, resolve, reject });
      if (this.queue.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.stats.storeRequests++;
    const answer =
      batch.length === 1
        ? this.opts.grant(batch[0]!.ask.bucket, batch[0]!.ask.windowStart, batch[0]!.ask.want, batch[0]!.ask.limit, batch[0]!.ask.now).then((n) => [n])
        : this.opts.grantBatch!(batch.map((b) => b.ask));
    answer.then(
      (granted) => batch.forEach((b, i) => b.resolve(granted[i] ?? 0)),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  }
}

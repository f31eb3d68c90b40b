import type { Logger } from "../observability/logger.js";
import type { RunningQueryStore } from "./store.js";

/**
 * CancelQuery across instances. Each running query is recorded in the shared database with the
 * instance that runs it; a CancelQuery that reaches another instance marks the row, and the
 * running instance, which polls for marks while it has queries running, stops the query.
 * Recording is not awaited by the query (a cancel that arrives before it lands is NotFound).
 */
export interface CancelRelayDeps {
  store: RunningQueryStore;
  /** This instance's id (its rows in running_queries). */
  instance: string;
  pollMs: number;
  now: () => number;
  logger: Logger;
  /** Stops a query of this instance, if it still runs. */
  stop: (userId: string, queryId: string) => void;
}

export class CancelRelay {
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly writes = new Set<Promise<void>>();

  private readonly store: RunningQueryStore;
  private readonly instance: string;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly stop: CancelRelayDeps["stop"];

  constructor(d: CancelRelayDeps) {
    ({ store: this.store, instance: this.instance, pollMs: this.pollMs, now: this.now, logger: this.logger, stop: this.stop } = d);
  }

  private track(p: Promise<void>) {
    const w = p.catch((err: unknown) => this.logger.warn({ err }, "running-query record not written"));
    this.writes.add(w);
    void w.finally(() => this.writes.delete(w));
  }

  started(userId: string, queryId: string) {
    this.track(this.store.started(userId, queryId, this.instance, this.now()));
    if (++this.running === 1) this.timer = setInterval(() => void this.poll(), this.pollMs).unref();
  }

  ended(userId: string, queryId: string) {
    this.track(this.store.ended(userId, queryId, this.instance));
    if (--this.running === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Marks another instance's query; false when the user has no running query with that id. */
  request(userId: string, queryId: string): Promise<boolean> {
    return this.store.requestCancel(userId, queryId, this.now());
  }

  private polling = false;
  private async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const r of await this.store.cancelRequests(this.instance)) this.stop(r.userId, r.queryId);
    } catch (err) {
      this.logger.warn({ err }, "cancel requests not read");
    } finally {
      this.polling = false;
    }
  }

  /** Waits for records being written (shutdown, before the database closes). */
  async flush(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.writes]);
  }
}

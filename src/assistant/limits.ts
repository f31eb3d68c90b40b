import type { Runtime } from "../common/runtime.js";
import { rateLimited, tokenQuota } from "./errors.js";
import type { AssistantStore, UsageTotals } from "./store.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

export const dayOf = (ms: number) => Math.floor(ms / DAY);

/**
 * Per-user limits in the app database, so every instance counts the same requests and tokens:
 * requests per minute (fixed one-minute windows) and tokens per UTC day (input + output). The
 * daily check happens before a request; a request already running may end a little over it.
 */
export class Limits {
  constructor(
    private readonly store: AssistantStore,
    private readonly runtime: Runtime,
    private readonly cfg: { requestsPerMinute: number; tokensPerDay: number },
  ) {}

  /** Admits one request of the user or throws ResourceExhausted with when to retry. */
  async admit(userId: string): Promise<void> {
    const now = this.runtime.now();
    if (this.cfg.tokensPerDay > 0) {
      const used = await this.store.dayUsage(userId, dayOf(now));
      if (used.input + used.output >= this.cfg.tokensPerDay) throw tokenQuota(this.cfg.tokensPerDay, (dayOf(now) + 1) * DAY - now);
    }
    if (this.cfg.requestsPerMinute > 0) {
      const window = now - (now % MINUTE);
      const count = await this.store.hit(userId, window, now);
      if (count > this.cfg.requestsPerMinute) throw rateLimited(this.cfg.requestsPerMinute, window + MINUTE - now);
    }
  }

  /** Adds a request's tokens to the user's day. */
  record(userId: string, provider: string, model: string, usage: UsageTotals): Promise<void> {
    const now = this.runtime.now();
    return this.store.addUsage({ userId, day: dayOf(now), provider, model, input: usage.input, output: usage.output, now });
  }

  today(userId: string): Promise<UsageTotals> {
    return this.store.dayUsage(userId, dayOf(this.runtime.now()));
  }
}

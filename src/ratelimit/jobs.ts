import type { Job } from "../jobs/runner.js";
import type { RateLimitStore } from "./store.js";

/** Deletes the rows of ended windows (a window that started two windows ago has ended). */
export function rateLimitJobs(store: RateLimitStore, windowMs: number): Job[] {
  return [
    {
      name: "ratelimit.windows",
      intervalMs: Math.max(60_000, Math.min(10 * 60_000, windowMs)),
      run: async (now) => ({ deleted: await store.deleteWindowsBefore(now - 2 * windowMs) }),
    },
  ];
}

import type { Job } from "../jobs/runner.js";
import type { RealtimeStore } from "./store.js";

/** Events are pokes, useful for seconds: an hour of them is kept, for instances catching up. */
export function realtimeJobs(store: RealtimeStore): Job[] {
  return [{ name: "realtime.events", intervalMs: 600_000, run: async (now) => ({ deleted: await store.deleteBefore(now - 3_600_000) }) }];
}

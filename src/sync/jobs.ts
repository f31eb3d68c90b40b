import type { Job } from "../jobs/runner.js";
import type { SyncStore } from "./store.js";

const DAY = 24 * 3_600_000;

/** Retention of the sync tables, run by the job runner: what it deletes also leaves each user's usage. */
export function syncJobs(store: SyncStore, opts: { tombstoneRetentionDays: number; historyRetentionDays: number }): Job[] {
  return [
    {
      name: "sync.retention",
      intervalMs: 3_600_000,
      run: async (now) => {
        const purged = await store.purge(now - opts.tombstoneRetentionDays * DAY, now - opts.historyRetentionDays * DAY, now);
        return {
          purged: purged.records,
          conflictsPurged: purged.conflicts,
          // A device retrying a push after this long gets its changes re-evaluated, not duplicates.
          mutationsDeleted: await store.deleteMutationsBefore(now - Math.max(opts.tombstoneRetentionDays, 30) * DAY, now),
        };
      },
    },
  ];
}

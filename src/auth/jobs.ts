import type { Job } from "../jobs/runner.js";
import { lockoutPolicy } from "./lockout.js";
import type { AuthStore } from "./store.js";

const HOUR = 3_600_000;

/** Cleanup of the auth tables, run by the job runner. */
export function authJobs(store: AuthStore, opts: { refreshGraceMs: number }): Job[] {
  return [
    {
      name: "auth.sessions",
      intervalMs: HOUR,
      // Revoked sessions are kept a week so a reused refresh token is still recognised.
      run: async (now) => ({
        deleted: await store.deleteDeadSessions(now, 7 * 24 * HOUR),
        graceCleared: await store.clearExpiredGrace(now - opts.refreshGraceMs),
      }),
    },
    {
      name: "auth.login_attempts",
      intervalMs: HOUR,
      run: async (now) => ({ deleted: await store.deleteOldAbuseRecords(now - lockoutPolicy.horizonMs, now) }),
    },
    {
      name: "auth.email_tokens",
      intervalMs: HOUR,
      run: async (now) => ({ deleted: await store.deleteSpentEmailTokens(now) }),
    },
  ];
}

/** Login abuse policy: pure numbers, no I/O. */
export const lockoutPolicy = {
  /** Failures of one identifier that lock it. */
  threshold: 5,
  /** First lock lasts this long; each further failure doubles it, up to the cap. */
  baseLockMs: 60_000,
  maxLockMs: 15 * 60_000,
  /** Failures older than this no longer count (and are deleted by the cleanup job). */
  horizonMs: 24 * 3_600_000,
  /** Failed logins from one IP within the window before it is throttled (password spraying). */
  ipThreshold: 20,
  ipWindowMs: 15 * 60_000,
};

/** How long to lock after `failures` consecutive failures of one identifier; 0 = no lock. */
export function lockDurationMs(failures: number, policy = lockoutPolicy): number {
  if (failures < policy.threshold) return 0;
  const level = failures - policy.threshold;
  return Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** Math.min(level, 20));
}

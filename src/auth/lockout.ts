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

/** What the database knows of an identifier and an address when a login attempt arrives. */
export interface AttemptState {
  /** Failures of the identifier within the horizon (attempts still being judged included). */
  failures: number;
  lockedUntil: number;
  /** Failures from the address within the IP window, and the oldest of them. */
  ipFailures: number;
  ipOldest: number;
}

export type AttemptDecision =
  | { admit: false; why: "throttled" | "locked"; retryAfterMs: number }
  /** Judge the password; the attempt already counts as failure number `failures`, with `lockUntil` (0: none) set at once. */
  | { admit: true; failures: number; lockUntil: number; level: number };

/**
 * Whether an attempt may be judged. It is decided and counted in one transaction before the
 * password is checked, so concurrent attempts (on any instance) see each other: the attempt
 * that reaches the threshold sets the lock before its own password is known, and a success
 * lifts it again.
 */
export function judgeAttempt(s: AttemptState, now: number, policy = lockoutPolicy): AttemptDecision {
  if (s.ipFailures >= policy.ipThreshold) return { admit: false, why: "throttled", retryAfterMs: Math.max(1000, s.ipOldest + policy.ipWindowMs - now) };
  if (s.lockedUntil > now) return { admit: false, why: "locked", retryAfterMs: s.lockedUntil - now };
  const failures = s.failures + 1;
  const lockMs = lockDurationMs(failures, policy);
  return { admit: true, failures, lockUntil: lockMs > 0 ? now + lockMs : 0, level: failures - policy.threshold + 1 };
}

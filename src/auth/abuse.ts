import type { Runtime } from "../common/runtime.js";
import type { RequestInfo } from "../common/caller.js";
import { fail, R, resourceExhausted } from "../common/errors.js";
import { judgeAttempt, lockoutPolicy, type AttemptDecision } from "./lockout.js";
import { securityEvent } from "./shared.js";
import type { AuthStore, UserRow } from "./store.js";

/** Rate limits (fixed windows shared by all instances through the database). */
export const rateLimits = {
  registerPerIp: { max: 10, windowMs: 3_600_000 },
  resendPerUser: { max: 3, windowMs: 3_600_000 },
  resetPerIp: { max: 10, windowMs: 3_600_000 },
  resetPerEmail: { max: 3, windowMs: 3_600_000 },
};

export type LoginResult = "ok" | "invalid" | "locked" | "throttled";

export interface AbuseGuardDeps {
  store: AuthStore;
  runtime: Runtime;
  /** Every login attempt's outcome (metrics). */
  onLogin?: (result: LoginResult) => void;
}

/** An admitted login attempt: its lockout key (cleared on success) and what the policy decided. */
export interface AdmittedAttempt {
  key: string;
  /** When the attempt was counted. */
  at: number;
  decision: Extract<AttemptDecision, { admit: true }>;
}

const invalidCredentials = () => fail(R.INVALID_CREDENTIALS, "invalid username/email or password");

/**
 * Abuse protection of the account flows: failed logins counted per identifier and per address
 * (lockout.ts decides), and the fixed-window limits of registration, resend and reset requests.
 */
export class AbuseGuard {
  constructor(private readonly d: AbuseGuardDeps) {}

  /** Refuses with ResourceExhausted when `bucket` went over `rule` in its current window. */
  async enforce(bucket: string, rule: { max: number; windowMs: number }, what: string): Promise<void> {
    const now = this.d.runtime.now();
    const windowStart = now - (now % rule.windowMs);
    const count = await this.d.store.hit(bucket, windowStart, now);
    if (count > rule.max) {
      const later = this.d.runtime.now();
      throw resourceExhausted(`too many ${what}; try again later`, rule.windowMs - (later % rule.windowMs));
    }
  }

  /**
   * Counts a login attempt before its password is judged (so concurrent attempts cannot all be
   * judged) and refuses a locked identifier or a throttled address. Unknown identifiers are
   * counted and locked exactly like real accounts.
   */
  async admitLogin(identifier: string, user: UserRow | undefined, ip: string): Promise<AdmittedAttempt> {
    const now = this.d.runtime.now();
    const p = lockoutPolicy;
    const key = user ? `user:${user.id}` : `id:${identifier}`;
    const decision = await this.d.store.countLoginAttempt(key, ip, now, { key: now - p.horizonMs, ip: now - p.ipWindowMs }, (s) => judgeAttempt(s, now));
    if (!decision.admit) {
      this.d.onLogin?.(decision.why);
      if (decision.why === "throttled") throw resourceExhausted("too many failed logins from this address; try again later", decision.retryAfterMs, R.LOGIN_THROTTLED);
      throw resourceExhausted("too many failed logins; try again later", decision.retryAfterMs, R.LOGIN_LOCKED);
    }
    return { key, at: now, decision };
  }

  /** A wrong password (or no such account): audited for a real account; the generic error to throw. */
  async loginFailed(user: UserRow | undefined, attempt: AdmittedAttempt, info: RequestInfo): Promise<Error> {
    if (user) {
      const { runtime } = this.d;
      const now = attempt.at;
      const lockUntil = attempt.decision.lockUntil;
      const events = [securityEvent(runtime, { userId: user.id, type: "login_failed", info })];
      if (lockUntil > now) {
        events.push(securityEvent(runtime, { userId: user.id, type: "login_locked", info, details: { seconds: String(Math.round((lockUntil - now) / 1000)) } }));
      }
      await this.d.store.recordLoginFailure(events);
    }
    this.d.onLogin?.("invalid");
    return invalidCredentials();
  }

  loginSucceeded(): void {
    this.d.onLogin?.("ok");
  }
}

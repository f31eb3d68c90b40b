import type { Interceptor } from "@connectrpc/connect";
import { authKey, requestInfoKey } from "../common/caller.js";
import { fail, R } from "../common/errors.js";
import { costOf, type LimitedClass } from "./classes.js";
import type { ChunkedLimiter, Decision } from "./limiter.js";

/** Calls per window by class (0: unlimited), and the ceiling of every call from one address. */
export type RateLimits = Record<LimitedClass, number> & { perAddress: number; windowMs: number };

/** The variable that sets each budget (ErrorInfo metadata.limit, limit_hits_total). */
export const LIMIT_VARIABLES: Record<LimitedClass | "address", string> = {
  read: "RATE_LIMIT_READ_PER_USER",
  write: "RATE_LIMIT_WRITE_PER_USER",
  engine: "RATE_LIMIT_ENGINE_PER_USER",
  public: "RATE_LIMIT_PUBLIC_PER_ADDRESS",
  address: "RATE_LIMIT_PER_ADDRESS",
};

/** The user a bucket belongs to (stored beside it, so DeleteAccount removes it), if any. */
export function userOfBucket(bucket: string): string | null {
  return bucket.startsWith("user:") ? bucket.slice(5, bucket.lastIndexOf(":")) : null;
}

/**
 * Rate limits of every RPC, after authentication (the caller is known), by the method's cost
 * class (classes.ts):
 *
 * - an authenticated call spends a token of its user's budget of its class (read, write, engine;
 *   the assistant's requests are limited by the assistant itself);
 * - a call without a caller (the public AuthService methods) spends one of its client address's
 *   `public` budget;
 * - every call, authenticated or not, also spends one of its address's ceiling (perAddress), so
 *   many accounts from one address cannot multiply the per-user budgets without bound;
 * - health checks and reflection are exempt. Calls refused by authentication never reach here
 *   (a malformed or invalid token is refused in-process, without the database).
 *
 * Over a budget: ResourceExhausted `RATE_LIMITED`, with `retryAfter` (and a `retry-after` header)
 * until the window ends, and the class and variable in ErrorInfo metadata.
 */
export function rateLimitInterceptor(limiter: ChunkedLimiter, limits: RateLimits, onRefused: (cls: LimitedClass | "address") => void): Interceptor {
  const refuse = (cls: LimitedClass | "address", d: Decision & { ok: false }) => {
    onRefused(cls);
    const max = cls === "address" ? limits.perAddress : limits[cls];
    const per = limits.windowMs % 1000 === 0 ? `${limits.windowMs / 1000} s` : `${limits.windowMs} ms`;
    const what = cls === "address" ? "calls from this address" : cls === "public" ? "calls without an account from this address" : `${cls} calls`;
    return fail(R.RATE_LIMITED, `too many ${what}: at most ${max} per ${per} (${LIMIT_VARIABLES[cls]}); try again later`, {
      retryAfterMs: d.retryAfterMs,
      metadata: { class: cls, limit: LIMIT_VARIABLES[cls], max: String(max) },
    });
  };
  /** Spends a token: undefined when admitted at once (the common case), else the database's verdict. */
  const check = (bucket: string, limit: number, cls: LimitedClass | "address"): Promise<void> | undefined => {
    const t = limiter.take(bucket, limit);
    if (t instanceof Promise) {
      return t.then((d) => {
        if (!d.ok) throw refuse(cls, d);
      });
    }
    if (!t.ok) throw refuse(cls, t);
    return undefined;
  };
  return (next) => (req) => {
    const cost = costOf(req.service.typeName, req.method.name);
    if (cost?.class === "exempt") return next(req);
    const auth = req.contextValues.get(authKey);
    const ip = req.contextValues.get(requestInfoKey).ip;
    let first: Promise<void> | undefined;
    try {
      if (auth) {
        // A method missing from the table (a test-only service) counts as a read.
        const cls = cost?.class ?? "read";
        if (cls === "read" || cls === "write" || cls === "engine") first = check(`user:${auth.userId}:${cls}`, limits[cls], cls);
        // The user's tokens are being refilled: the address's too if they are spent (one round trip).
        if (first !== undefined) limiter.prefetch(`ip:${ip}:all`, limits.perAddress);
      } else {
        first = check(`ip:${ip}:public`, limits.public, "public");
      }
      // Without a wait, the call goes on with no promise of ours in between.
      if (first === undefined) {
        const second = check(`ip:${ip}:all`, limits.perAddress, "address");
        return second === undefined ? next(req) : second.then(() => next(req));
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return first.then(() => check(`ip:${ip}:all`, limits.perAddress, "address")).then(() => next(req));
  };
}

import type { Interceptor } from "@connectrpc/connect";
import type { Runtime } from "../common/runtime.js";
import type { Config } from "../config/schema.js";
import type { Db } from "../db/client.js";
import type { Job } from "../jobs/runner.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { LIMIT_VARIABLES, rateLimitInterceptor, userOfBucket } from "./interceptor.js";
import { rateLimitJobs } from "./jobs.js";
import { ChunkedLimiter } from "./limiter.js";
import { RateLimitStore } from "./store.js";

export interface RateLimitFeatureDeps {
  config: Config;
  db: Db;
  logger: Logger;
  runtime: Runtime;
  metrics: Metrics;
}

export interface RateLimitFeature {
  interceptors: Interceptor[];
  jobs: Job[];
  /** The in-process buckets (its stats count database round trips). */
  limiter: ChunkedLimiter;
}

/** The per-user and per-address RPC rate limits: an interceptor over buckets every instance shares. */
export function rateLimitFeature(deps: RateLimitFeatureDeps): RateLimitFeature {
  const { runtime, logger, metrics } = deps;
  const rl = deps.config.rateLimit;
  const store = new RateLimitStore(deps.db);
  let storeWarned = 0;
  const limiter = new ChunkedLimiter({
    windowMs: rl.windowMs,
    maxChunk: rl.chunk,
    maxKeys: rl.maxKeys,
    now: () => runtime.now(),
    grant: async (bucket, windowStart, want, limit, now) => {
      const granted = await store.grant(bucket, windowStart, { want, limit }, now, userOfBucket(bucket));
      metrics.rateLimitRequests.inc({ result: granted < want ? "short" : "granted" });
      return granted;
    },
    grantBatch: async (asks) => {
      const granted = await store.grantMany(asks.map((a) => ({ ...a, userId: userOfBucket(a.bucket) })));
      asks.forEach((a, i) => metrics.rateLimitRequests.inc({ result: granted[i]! < a.want ? "short" : "granted" }));
      return granted;
    },
    onStoreError: (err) => {
      metrics.rateLimitRequests.inc({ result: "error" });
      // At most one line every 10 s while the database cannot be asked (calls are admitted meanwhile).
      if (Date.now() - storeWarned < 10_000) return;
      storeWarned = Date.now();
      logger.warn({ err }, "rate limits: the database could not be asked; calls admitted");
    },
  });
  const interceptor = rateLimitInterceptor(
    limiter,
    { read: rl.readPerUser, write: rl.writePerUser, engine: rl.enginePerUser, public: rl.publicPerAddress, perAddress: rl.perAddress, windowMs: rl.windowMs },
    (cls) => {
      metrics.rateLimited.inc({ class: cls });
      metrics.limitHits.inc({ limit: LIMIT_VARIABLES[cls] });
    },
  );
  return { interceptors: [interceptor], jobs: rateLimitJobs(store, rl.windowMs), limiter };
}

/**
 * Rate limit budgets for benchmarks that drive one user or one address far beyond normal use. The
 * limiter still runs (its cost is part of what they measure), with budgets no benchmark reaches.
 */
export const LOAD_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_READ_PER_USER: "1000000000",
  RATE_LIMIT_WRITE_PER_USER: "1000000000",
  RATE_LIMIT_ENGINE_PER_USER: "1000000000",
  RATE_LIMIT_PUBLIC_PER_ADDRESS: "1000000000",
  RATE_LIMIT_PER_ADDRESS: "1000000000",
};

/**
 * Rate limit budgets for tests and benchmarks that drive one user or one address far beyond normal
 * use (testEnv sets them for every test server). The limiter still runs (its cost is part of what
 * benchmarks measure), with budgets nothing here reaches; the limiter's own tests set theirs.
 */
export const LOAD_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_READ_PER_USER: "1000000000",
  RATE_LIMIT_WRITE_PER_USER: "1000000000",
  RATE_LIMIT_ENGINE_PER_USER: "1000000000",
  RATE_LIMIT_PUBLIC_PER_ADDRESS: "1000000000",
  RATE_LIMIT_PER_ADDRESS: "1000000000",
};

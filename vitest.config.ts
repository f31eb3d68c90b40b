import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "test/.tmp/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: contract files start servers and child processes; keep the machine responsive.
    maxWorkers: 2,
    reporters: ["default"],
  },
});

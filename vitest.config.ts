import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The web console's import aliases (web/vite.config.ts), for unit tests of its pure modules.
  resolve: {
    alias: {
      "@gen": fileURLToPath(new URL("./gen", import.meta.url)),
      "@client": fileURLToPath(new URL("./src/client", import.meta.url)),
    },
  },
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

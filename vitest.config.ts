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
    // (No `include` here: a project that extends this config would add its own to it, not replace it.)
    exclude: ["test/bench/**", "test/.tmp/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: contract files start servers and child processes; keep the machine responsive.
    maxWorkers: 2,
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "all", include: ["test/**/*.test.ts"] } },
      // The contract tests again with the unary fast path off (issue 13): connect-node's handlers for
      // every RPC must keep passing them (testEnv passes RPC_FAST_PATH to every test server). The
      // conformance file runs both paths itself.
      {
        extends: true,
        test: {
          name: "contract-slow-path",
          include: ["test/contract/**/*.test.ts"],
          exclude: ["test/contract/fast-path-conformance.test.ts"],
          env: { RPC_FAST_PATH: "false" },
        },
      },
    ],
  },
});

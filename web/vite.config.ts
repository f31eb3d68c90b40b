/**
 * The web console's build (`npm run web:build`): web/ → web/dist/, served by the API server at `/`
 * (src/server/console.ts). web/dist/ is committed, like gen/, so `npm ci && npm start` serves the
 * console with no build step; test/integration/console-build.test.ts fails when it is stale.
 *
 * `npm run web:dev` serves web/ with hot reload and forwards the API to a server on :8080.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const API = process.env.API_URL ?? "http://localhost:8080";

export default defineConfig({
  root: here("."),
  base: "/",
  publicDir: here("public"),
  resolve: {
    alias: {
      // The clients generated from proto/ by the same `buf generate` as the server's (gen/ is one tree).
      "@gen": here("../gen"),
      // Client code shared with Node clients (the row-batch decoder, typed query helpers).
      "@client": here("../src/client"),
    },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
    // Hashed names under /assets/ (served with a year-long immutable cache); no inline scripts (strict CSP).
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
  worker: { format: "es" },
  server: {
    proxy: Object.fromEntries(
      ["/sqlstudio.", "/grpc.", "/docs", "/openapi.json", "/health", "/ready"].map((p) => [p, { target: API, changeOrigin: false }]).concat([["/v1/stream", { target: API, ws: true } as never]]),
    ),
  },
});

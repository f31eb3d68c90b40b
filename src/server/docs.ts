import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

/** openapi/openapi.json at the package root: from src/server (tsx) or dist/src/server (the build). */
export const OPENAPI_FILE =
  ["../../openapi/openapi.json", "../../../openapi/openapi.json"]
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((p) => existsSync(p)) ?? fileURLToPath(new URL("../../openapi/openapi.json", import.meta.url));

/** GET /openapi.json (the generated contract) and GET /docs (a page that renders it). */
export function registerDocs(fastify: FastifyInstance): void {
  const doc = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, "utf8") : undefined;
  fastify.get("/openapi.json", async (_req, reply) => {
    if (!doc) return reply.code(404).send({ error: "openapi document not generated" });
    return reply.type("application/json").send(doc);
  });
}

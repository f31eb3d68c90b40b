import { existsSync, readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";

export const OPENAPI_FILE = new URL("../../openapi/openapi.json", import.meta.url).pathname;

/** GET /openapi.json (the generated contract) and GET /docs (a page that renders it). */
export function registerDocs(fastify: FastifyInstance): void {
  const doc = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, "utf8") : undefined;
  fastify.get("/openapi.json", async (_req, reply) => {
    if (!doc) return reply.code(404).send({ error: "openapi document not generated" });
    return reply.type("application/json").send(doc);
  });
}

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The web console (web/, built into web/dist/ and committed) served at `/` on the API port.
 *
 * - `/assets/*`: Vite's hashed files, cached for a year (`immutable`); a missing one is 404.
 * - `/` and every history-API route (a GET or HEAD that asks for HTML, on a path that is not the
 *   API's): `index.html`, revalidated on every load (`no-cache` with an ETag), so a deploy reaches
 *   every browser on its next load.
 * - Other files of web/dist (the icon, robots.txt): revalidated.
 * Every console response carries the console's Content-Security-Policy: scripts, styles, workers and
 * fetches from this origin only (the WebSocket included), no inline script, no frames.
 */

/** web/dist at the package root: from src/server (tsx) or dist/src/server (the build). */
export const CONSOLE_DIR =
  ["../../web/dist", "../../../web/dist"].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(join(p, "index.html"))) ??
  fileURLToPath(new URL("../../web/dist", import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Paths the console never answers: the API and the server's own pages keep theirs. */
function reserved(path: string): boolean {
  if (/^\/[^/]*\.[^/]*\//.test(path)) return true; // /package.Service/Method (Connect, gRPC, gRPC-Web)
  return /^\/(v1|docs|openapi\.json|health|ready|metrics|assets)(\/|$)/.test(path);
}

interface File {
  body: Buffer;
  type: string;
  etag: string;
}

function load(dir: string): Map<string, File> {
  const files = new Map<string, File>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const body = readFileSync(full);
        const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
        files.set(`/${relative(dir, full).split("\\").join("/")}`, { body, type: TYPES[extname(name)] ?? "application/octet-stream", etag });
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/** Registers the console's routes; a server without a built console (web/dist missing) serves none. */
export function registerConsole(fastify: FastifyInstance, dir = CONSOLE_DIR): void {
  const files = load(dir);
  const index = files.get("/index.html");
  if (!index) return;

  const send = (req: FastifyRequest, reply: FastifyReply, file: File, cache: string) => {
    reply.raw.setHeader("content-security-policy", CONSOLE_CSP);
    reply.raw.setHeader("cache-control", cache);
    reply.raw.setHeader("etag", file.etag);
    if (req.headers["if-none-match"] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  fastify.get("/assets/*", async (req, reply) => {
    const file = files.get(req.url.split("?")[0]);
    if (!file) return reply.code(404).type("text/plain; charset=utf-8").send("not found");
    return send(req, reply, file, "public, max-age=31536000, immutable");
  });

  fastify.get("/*", async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split("?")[0]);
    } catch {
      return reply.code(400).type("text/plain; charset=utf-8").send("bad path");
    }
    const file = path !== "/index.html" ? files.get(path) : undefined;
    if (file) return send(req, reply, file, "no-cache");
    const wantsHtml = String(req.headers.accept ?? "").includes("text/html");
    if (path === "/" || (wantsHtml && !reserved(path))) return send(req, reply, index, "no-cache");
    return reply.code(404).type("text/plain; charset=utf-8").send("not found");
  });
}

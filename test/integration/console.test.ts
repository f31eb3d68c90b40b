// The web console served at / (src/server/console.ts): a strict CSP with no inline script, hashed
// assets cached for a year, index.html revalidated, history-API routes falling back to it, and the
// API, /docs, /openapi.json, /health, /ready and /v1/stream keeping their paths.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_CSP, CONSOLE_DIR } from "../../src/server/console.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
const HTML = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const get = (path: string, headers: Record<string, string> = {}, method = "GET") => fetch(`${server.url}${path}`, { headers, method });
const index = readFileSync(join(CONSOLE_DIR, "index.html"), "utf8");
const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);

describe("the console's pages", () => {
  it("GET / is index.html with the console's CSP (no inline script or style), revalidated on every load", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("etag")).toBeTruthy();
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const body = await res.text();
    expect(body).toBe(index);
    // Every script is an external file; no inline code, no inline handlers.
    expect([...body.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].every((m) => m[1].trim() === "" && /\bsrc="\/assets\//.test(m[0]))).toBe(true);
    expect(body).not.toMatch(/\son[a-z]+=/i);
  });

  it("history-API routes answer index.html to a browser navigation; a revalidation with the ETag is 304", async () => {
    for (const path of ["/connections/4b1c/edit", "/verify-email?token=abc", "/reset-password?token=x", "/library"]) {
      const res = await get(path, HTML);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(index);
    }
    const etag = (await get("/")).headers.get("etag")!;
    const again = await get("/account", { ...HTML, "if-none-match": etag });
    expect(again.status).toBe(304);
    expect((await get("/", {}, "HEAD")).status).toBe(200);
  });

  it("hashed assets are cached for a year; a missing one is 404, never index.html", async () => {
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) {
      expect(a).toMatch(/-[A-Za-z0-9_-]{8}\.(js|css)$/);
      const res = await get(a);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(res.headers.get("content-type")).toMatch(a.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
      await res.arrayBuffer();
    }
    const missing = await get("/assets/index-00000000.js", HTML);
    expect(missing.status).toBe(404);
    await missing.text();
  });

  it("a request that is not a page navigation gets 404 on an unknown path", async () => {
    const res = await get("/no/such/route");
    expect(res.status).toBe(404);
    await res.text();
  });
});

describe("the server's own paths are unchanged", () => {
  it("/health, /ready, /openapi.json and /docs keep their answers and their own CSP", async () => {
    expect(await (await get("/health", HTML)).json()).toEqual({ status: "ok" });
    expect((await (await get("/ready", HTML)).json()).status).toBe("ready");
    expect((await (await get("/openapi.json", HTML)).json()).openapi).toMatch(/^3\.1/);
    const docs = await get("/docs", HTML);
    expect(await docs.text()).toContain("SQL Studio Server API");
    expect(docs.headers.get("content-security-policy")).not.toBe(CONSOLE_CSP);
  });

  it("API paths and /v1/stream are never answered with the console, even when a browser asks for HTML", async () => {
    const api = await get("/sqlstudio.auth.v1.AuthService/GetCurrentUser?connect=v1&encoding=json&message=%7B%7D", HTML);
    expect(api.status).toBe(401);
    expect((await api.json()).code).toBe("unauthenticated");
    for (const path of ["/sqlstudio.nope.v1.Nope/Call", "/v1/stream", "/v1/other", "/docs/nope"]) {
      const res = await get(path, HTML);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.text()).not.toBe(index);
    }
  });
});

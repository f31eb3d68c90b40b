/**
 * Issue 17.3: a web page must not drive a developer's local server. Development used to reflect
 * any Origin (`null` included), so any site a developer visited could register an account on
 * their `npm start` and use it. Development admits loopback origins (http://localhost:*,
 * http://127.0.0.1:*, http://[::1]:*) plus CORS_ORIGINS; `null` never; nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, freshIp, newUser } from "../support/auth.js";
import { startTestServer, type TestServer } from "../support/server.js";

let dev: TestServer;
let configured: TestServer;

beforeAll(async () => {
  [dev, configured] = await Promise.all([
    startTestServer({ env: { BCRYPT_COST: "4" } }),
    startTestServer({ env: { BCRYPT_COST: "4", CORS_ORIGINS: "https://studio.example.com" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([dev?.stop(), configured?.stop()]);
});

/** A browser's preflight for a Connect JSON POST with a bearer token. */
function preflight(server: TestServer, origin: string) {
  return fetch(`${server.url}/${AUTH}/Register`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
  });
}

/** The cross-origin POST itself (what a page would send if the preflight let it). */
function register(server: TestServer, origin: string) {
  return fetch(`${server.url}/${AUTH}/Register`, {
    method: "POST",
    headers: { origin, "content-type": "application/json", "x-forwarded-for": freshIp() },
    body: JSON.stringify(newUser("cors")),
  });
}

const HOSTILE = ["https://evil.example", "http://attacker.test:8080", "null", "http://localhost.evil.example", "http://127.0.0.1.nip.io:8080", "http://[::2]:80"];
const LOOPBACK = ["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080", "http://localhost"];

describe("development CORS", () => {
  for (const origin of HOSTILE) {
    it(`refuses ${origin}: no allow-origin on the preflight or the answer`, async () => {
      const p = await preflight(dev, origin);
      expect(p.headers.get("access-control-allow-origin")).toBeNull();
      expect(p.headers.get("access-control-allow-headers")).toBeNull();
      const r = await register(dev, origin);
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
    });
  }

  for (const origin of LOOPBACK) {
    it(`admits the loopback origin ${origin}`, async () => {
      const p = await preflight(dev, origin);
      expect(p.status).toBe(204);
      expect(p.headers.get("access-control-allow-origin")).toBe(origin);
      expect(p.headers.get("access-control-allow-headers")).toMatch(/authorization/);
      expect(p.headers.get("vary")).toMatch(/origin/i);
    });
  }

  it("never answers with credentials or a literal *", async () => {
    for (const origin of [...LOOPBACK, ...HOSTILE]) {
      const p = await preflight(dev, origin);
      expect(p.headers.get("access-control-allow-credentials")).toBeNull();
      expect(p.headers.get("access-control-allow-origin")).not.toBe("*");
    }
  });

  it("admits CORS_ORIGINS beside the loopback origins, and still nothing else", async () => {
    expect((await preflight(configured, "https://studio.example.com")).headers.get("access-control-allow-origin")).toBe("https://studio.example.com");
    expect((await preflight(configured, "http://localhost:5173")).headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect((await preflight(configured, "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    expect((await preflight(configured, "null")).headers.get("access-control-allow-origin")).toBeNull();
  });
});

/**
 * Issue 17.6: client addresses were forgeable. TRUST_PROXY defaulted to on outside development,
 * so with the port reached directly a client wrote its own address in X-Forwarded-For: failed
 * logins were never throttled, per-IP registration limits never bit, and session lists and
 * security events showed an address the attacker chose. TRUST_PROXY is now off by default in
 * every environment; when on it names the number of proxies in front of the server (or their
 * address ranges), and the address is taken that many hops from the right.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { call, freshIp, newUser, ok, register, startAuthServer, type AuthTestServer, type LoginReply } from "../support/auth.js";

const servers: AuthTestServer[] = [];
async function server(env: Record<string, string>): Promise<AuthTestServer> {
  const s = await startAuthServer({ env });
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** Logs in sending `xff` as X-Forwarded-For; returns what the server recorded as the session's address. */
async function sessionAddress(s: AuthTestServer, xff: string | undefined): Promise<{ session: string; event: string }> {
  const u = newUser("addr");
  await register(s, u);
  const headers: Record<string, string> = xff === undefined ? {} : { "x-forwarded-for": xff };
  const login = await ok<LoginReply>(s, "Login", { identifier: u.username, password: u.password, deviceName: "t" }, { headers });
  const list = await ok<{ sessions: { ipAddress: string }[] }>(s, "ListSessions", {}, { token: login.accessToken });
  const events = await ok<{ events: { type: string; ipAddress: string }[] }>(s, "ListSecurityEvents", {}, { token: login.accessToken });
  return { session: list.sessions[0].ipAddress, event: events.events.find((e) => e.type === "SECURITY_EVENT_TYPE_LOGIN_SUCCEEDED")!.ipAddress };
}

describe("TRUST_PROXY defaults", () => {
  it("is off in every environment", () => {
    expect(loadConfig({}, "/nonexistent.yaml").auth.trustProxy).toBe(0);
    expect(loadConfig({ ENVIRONMENT: "staging" }, "/nonexistent.yaml").auth.trustProxy).toBe(0);
    const prod = loadConfig(
      {
        ENVIRONMENT: "production",
        JWT_SECRET: "x".repeat(40),
        DATABASE_URL: "libsql://db-org.turso.io",
        TURSO_AUTH_TOKEN: "t",
        ENGINE_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
        PUBLIC_URL: "https://studio.example.com",
        RESEND_API_KEY: "re_x",
      },
      "/nonexistent.yaml",
    );
    expect(prod.auth.trustProxy).toBe(0);
  });
});

describe("the port reached directly (staging defaults: no proxy trusted)", () => {
  let s: AuthTestServer;
  beforeAll(async () => {
    // The auth test env trusts one proxy hop; this server runs with the staging default instead.
    s = await server({ ENVIRONMENT: "staging", TRUST_PROXY: "" });
  });

  it("25 failed logins with a new X-Forwarded-For each are throttled after 20 (one address: the socket's)", async () => {
    const reasons: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await call(s, "Login", { identifier: `nobody${i}`, password: "Wrong-password-123456", deviceName: "t" }, { headers: { "x-forwarded-for": freshIp() } });
      reasons.push(r.info?.reason ?? "OK");
    }
    expect(reasons.slice(0, 20)).toEqual(Array(20).fill("INVALID_CREDENTIALS"));
    expect(reasons.slice(20)).toEqual(Array(5).fill("LOGIN_THROTTLED"));
  });

  it("12 registrations from one host with forged addresses: the 11th is refused (10 per address per hour)", async () => {
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await call(s, "Register", newUser(`fx${i}`), { headers: { "x-forwarded-for": freshIp() } });
      codes.push(r.status === 200 ? "ok" : `${r.code}:${r.info?.reason}`);
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill("ok"));
    expect(codes.slice(10)).toEqual(Array(2).fill("resource_exhausted:RATE_LIMITED"));
  });

  it("sessions and security events show the socket's address, not the one the client wrote", async () => {
    // The registrations above used up this address's hour; a new server, same defaults.
    const t = await server({ ENVIRONMENT: "staging", TRUST_PROXY: "" });
    expect(await sessionAddress(t, "203.0.113.66")).toEqual({ session: "127.0.0.1", event: "127.0.0.1" });
  });
});

describe("TRUST_PROXY=<hops>", () => {
  it("1 (Cloud Run): the address the one proxy appended, whatever the client wrote before it", async () => {
    const s = await server({ TRUST_PROXY: "1" });
    expect(await sessionAddress(s, "6.6.6.6, 203.0.113.7")).toEqual({ session: "203.0.113.7", event: "203.0.113.7" });
  });

  it("2 (a load balancer in front of Cloud Run): the second address from the right", async () => {
    const s = await server({ TRUST_PROXY: "2" });
    expect(await sessionAddress(s, "6.6.6.6, 198.51.100.9, 203.0.113.7")).toEqual({ session: "198.51.100.9", event: "198.51.100.9" });
  });
});

describe("TRUST_PROXY=<ranges>", () => {
  it("trusts X-Forwarded-For only from a proxy in the ranges, and skips every trusted hop", async () => {
    const s = await server({ TRUST_PROXY: "127.0.0.0/8, 10.20.0.0/16" });
    expect(await sessionAddress(s, "6.6.6.6, 203.0.113.8, 10.20.3.4")).toEqual({ session: "203.0.113.8", event: "203.0.113.8" });
  });

  it("ignores X-Forwarded-For from a socket outside the ranges", async () => {
    const s = await server({ TRUST_PROXY: "10.0.0.0/8" });
    expect(await sessionAddress(s, "203.0.113.9")).toEqual({ session: "127.0.0.1", event: "127.0.0.1" });
  });
});

describe("TRUST_PROXY values", () => {
  const problems = (v: string) => {
    try {
      loadConfig({ TRUST_PROXY: v }, "/nonexistent.yaml");
      return [];
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
  };
  it("reads off, a hop count, or addresses and CIDR ranges", () => {
    for (const v of ["false", "off", "0"]) expect(loadConfig({ TRUST_PROXY: v }, "/nonexistent.yaml").auth.trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: "2" }, "/nonexistent.yaml").auth.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8,::1, loopback" }, "/nonexistent.yaml").auth.trustProxy).toEqual(["10.0.0.0/8", "::1", "loopback"]);
  });

  it("refuses true (it says nothing about how many proxies there are) and anything that is not an address", () => {
    for (const v of ["true", "yes", "-1", "11", "10.0.0.0/33", "proxy.internal", "1.2.3"]) {
      const p = problems(v);
      expect(p, v).toHaveLength(1);
      expect(p[0], v).toMatch(/^TRUST_PROXY: /);
    }
  });
});


// The browser's refresh token (src/auth/refresh-cookie.ts): with `x-sqlstudio-refresh: cookie`, Login
// and RefreshToken put the refresh token in an HttpOnly, Secure, SameSite=Strict cookie scoped to the
// RefreshToken path instead of the body; RefreshToken reads it; Logout and a refused token clear it.
// Without the header nothing changes, and no other origin may send the header (CORS).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, freshIp, newUser, ok, register, startAuthServer, type AuthTestServer, type NewUser } from "../../support/auth.js";

const WEB = { "x-sqlstudio-refresh": "cookie" };
const PATH = "/sqlstudio.auth.v1.AuthService/RefreshToken";

let server: AuthTestServer;
let user: NewUser;

beforeAll(async () => {
  server = await startAuthServer({ env: { CORS_ORIGINS: "https://studio.example.test" } });
  user = newUser("cookie");
  await register(server, user);
});
afterAll(async () => {
  await server?.stop();
});

/** The Set-Cookie of a reply as name, value and attributes. */
function setCookie(headers: Headers) {
  const all = headers.getSetCookie();
  expect(all).toHaveLength(1);
  const [pair, ...attrs] = all[0].split(";").map((s) => s.trim());
  const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
  return { name, value, attrs: attrs.map((a) => a.toLowerCase()) };
}

async function webLogin(ip = freshIp()) {
  const r = await call(server, "Login", { identifier: user.username, password: user.password, deviceName: "web" }, { ip, headers: WEB });
  expect(r.status).toBe(200);
  return r;
}

describe("with x-sqlstudio-refresh: cookie", () => {
  it("Login answers the refresh token in an HttpOnly, Secure, SameSite=Strict cookie for the RefreshToken path only, not in the body", async () => {
    const r = await webLogin();
    expect(r.body.accessToken).toBeTruthy();
    expect(r.body.refreshToken ?? "").toBe("");
    const c = setCookie(r.headers);
    expect(c.name).toBe("sqlstudio_refresh");
    expect(c.value.length).toBeGreaterThan(20);
    expect(c.attrs).toEqual(expect.arrayContaining(["httponly", "secure", "samesite=strict", `path=${PATH.toLowerCase()}`]));
    const maxAge = Number(c.attrs.find((a) => a.startsWith("max-age="))!.split("=")[1]);
    expect(maxAge).toBeGreaterThan(24 * 3600);
  });

  it("RefreshToken with an empty body reads the cookie, rotates it, and answers a new access token", async () => {
    const first = setCookie((await webLogin()).headers).value;
    const r = await call(server, "RefreshToken", {}, { headers: { ...WEB, cookie: `other=1; sqlstudio_refresh=${first}` } });
    expect(r.status).toBe(200);
    expect(r.body.accessToken).toBeTruthy();
    expect(r.body.refreshToken ?? "").toBe("");
    const next = setCookie(r.headers).value;
    expect(next).not.toBe(first);
    const me = await ok<{ user: { username: string } }>(server, "GetCurrentUser", {}, { token: String(r.body.accessToken) });
    expect(me.user.username).toBe(user.username);
  });

  it("without a cookie: Unauthenticated NOT_SIGNED_IN", async () => {
    const r = await call(server, "RefreshToken", {}, { headers: WEB });
    expect(r.code).toBe("unauthenticated");
    expect(r.info?.reason).toBe("NOT_SIGNED_IN");
  });

  it("a refused refresh token clears the cookie", async () => {
    const r = await call(server, "RefreshToken", {}, { headers: { ...WEB, cookie: "sqlstudio_refresh=not-a-real-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" } });
    expect(r.code).toBe("unauthenticated");
    const c = setCookie(r.headers);
    expect(c.value).toBe("");
    expect(c.attrs).toContain("max-age=0");
  });

  it("Logout clears the cookie, and the session's cookie no longer refreshes", async () => {
    const login = await webLogin();
    const value = setCookie(login.headers).value;
    const out = await call(server, "Logout", {}, { token: String(login.body.accessToken), headers: WEB });
    expect(out.status).toBe(200);
    expect(setCookie(out.headers)).toMatchObject({ value: "", attrs: expect.arrayContaining(["max-age=0", `path=${PATH.toLowerCase()}`]) });
    const again = await call(server, "RefreshToken", {}, { headers: { ...WEB, cookie: `sqlstudio_refresh=${value}` } });
    expect(again.code).toBe("unauthenticated");
  });
});

describe("without the header (CSRF, other clients)", () => {
  it("the cookie alone is ignored: a cross-site request cannot spend it", async () => {
    const value = setCookie((await webLogin()).headers).value;
    const r = await call(server, "RefreshToken", {}, { headers: { cookie: `sqlstudio_refresh=${value}` } });
    expect(r.code).toBe("invalid_argument");
    expect(r.headers.getSetCookie()).toEqual([]);
    // …and it still works for the console.
    expect((await call(server, "RefreshToken", {}, { headers: { ...WEB, cookie: `sqlstudio_refresh=${value}` } })).status).toBe(200);
  });

  it("Login and RefreshToken answer the token in the body and set no cookie", async () => {
    const r = await call(server, "Login", { identifier: user.username, password: user.password, deviceName: "desktop" }, { ip: freshIp() });
    expect(String(r.body.refreshToken).length).toBeGreaterThan(20);
    expect(r.headers.getSetCookie()).toEqual([]);
    const next = await call(server, "RefreshToken", { refreshToken: r.body.refreshToken });
    expect(String(next.body.refreshToken).length).toBeGreaterThan(20);
    expect(next.headers.getSetCookie()).toEqual([]);
  });

  it("an allowed CORS origin is still not allowed to send the header (the preflight does not list it)", async () => {
    const res = await fetch(`${server.url}${PATH}`, {
      method: "OPTIONS",
      headers: { origin: "https://studio.example.test", "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-sqlstudio-refresh" },
    });
    expect(res.status).toBe(204);
    const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
    expect(allowed).toContain("content-type");
    expect(allowed).not.toContain("x-sqlstudio-refresh");
  });
});

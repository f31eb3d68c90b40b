/**
 * Issue 17.9 (sessions): ListSessions showed when a session was last refreshed, not last used.
 * Now every authenticated call counts as use, written at most once a minute per session (a
 * throttled write, shared by instances through the row itself).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manualRuntime, ok, registerAndLogin, startAuthServer, type AuthTestServer } from "../../support/auth.js";

const clock = manualRuntime();
let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer({ runtime: clock, env: { SESSION_CACHE_MS: "0" } });
});
afterAll(async () => {
  await server?.stop();
});

const lastSeen = async (token: string, ip?: string) => {
  const r = await ok<{ sessions: { current?: boolean; lastSeenAt: string; ipAddress: string }[] }>(server, "ListSessions", {}, { token, ip });
  const s = r.sessions.find((x) => x.current)!;
  return { at: Date.parse(s.lastSeenAt), ip: s.ipAddress };
};

describe("a session's last use", () => {
  it("follows the calls made with its tokens, at most once a minute", async () => {
    const { session } = await registerAndLogin(server, "use");
    const loginAt = clock.now();
    clock.advance(10 * 60_000);
    const used = clock.now();
    await ok(server, "GetCurrentUser", {}, { token: session.accessToken, ip: "203.0.113.50" });
    // (ListSessions is a call too: it sees the use recorded by the call before.)
    const first = await lastSeen(session.accessToken, "203.0.113.50");
    expect(first.at).toBe(used);
    expect(first.at).toBeGreaterThan(loginAt);
    expect(first.ip).toBe("203.0.113.50");
    // 30 s later: not written again.
    clock.advance(30_000);
    await ok(server, "GetCurrentUser", {}, { token: session.accessToken });
    expect((await lastSeen(session.accessToken)).at).toBe(used);
    // A minute after the last write: written.
    clock.advance(30_000);
    await ok(server, "GetCurrentUser", {}, { token: session.accessToken });
    expect((await lastSeen(session.accessToken)).at).toBe(clock.now());
  });
});

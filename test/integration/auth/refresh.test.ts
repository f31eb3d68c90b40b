/**
 * Rotating refresh tokens (DESIGN.md §5): every use rotates; the previous token used again
 * inside the grace window returns the current pair (lost response, two tabs); used after it,
 * it revokes the whole session and writes a REFRESH_TOKEN_REUSED security event; two
 * concurrent refreshes with one token rotate exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, freshIp, manualRuntime, ok, registerAndLogin, sha256hex, sleep, startAuthServer, type LoginReply } from "../../support/auth.js";
import type { TestServer } from "../../support/server.js";

const GRACE_MS = 300;
const clock = manualRuntime();
/** Time moves only when the test says so: the grace window is exact. */
let manual: TestServer;
/** Real time, a 300 ms grace window that the test sleeps past. */
let realtime: TestServer;

beforeAll(async () => {
  [manual, realtime] = await Promise.all([
    startAuthServer({ runtime: clock, env: { REFRESH_GRACE_MS: String(GRACE_MS), SESSION_CACHE_MS: "0" } }),
    startAuthServer({ env: { REFRESH_GRACE_MS: String(GRACE_MS), SESSION_CACHE_MS: "0" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([manual?.stop(), realtime?.stop()]);
});

const refresh = (server: TestServer, refreshToken: string, ip = freshIp()) => call(server, "RefreshToken", { refreshToken }, { ip });

async function sessionRow(server: TestServer, id: string) {
  const rs = await server.db.execute({ sql: "SELECT refresh_hash, previous_hash, revoked_at, revoked_reason FROM sessions WHERE id = ?", args: [id] });
  return rs.rows[0];
}

describe("refresh token rotation", () => {
  it("rotates on every use; the refreshed pair works", async () => {
    const { session } = await registerAndLogin(manual, "rot");
    const a = await ok<LoginReply>(manual, "RefreshToken", { refreshToken: session.refreshToken }, { ip: freshIp() });
    clock.advance(GRACE_MS + 1);
    const b = await ok<LoginReply>(manual, "RefreshToken", { refreshToken: a.refreshToken }, { ip: freshIp() });
    expect(new Set([session.refreshToken, a.refreshToken, b.refreshToken]).size).toBe(3);
    expect(b.sessionId).toBe(session.sessionId);
    const row = await sessionRow(manual, session.sessionId);
    expect(row.refresh_hash).toBe(sha256hex(b.refreshToken));
    expect(row.previous_hash).toBe(sha256hex(a.refreshToken));
    // The stored values are hashes, never the tokens.
    expect(JSON.stringify(row)).not.toContain(b.refreshToken);
    expect((await call(manual, "GetCurrentUser", {}, { token: b.accessToken })).status).toBe(200);
  });

  it("the old token inside the grace window returns the current pair (same refresh token as the first rotation)", async () => {
    const { session } = await registerAndLogin(manual, "grace");
    const first = await ok<LoginReply>(manual, "RefreshToken", { refreshToken: session.refreshToken }, { ip: freshIp() });

    clock.advance(GRACE_MS - 50);
    const retry = await refresh(manual, session.refreshToken);
    expect(retry.status).toBe(200);
    const again = retry.body as unknown as LoginReply;
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(again.sessionId).toBe(session.sessionId);
    expect((await call(manual, "GetCurrentUser", {}, { token: again.accessToken })).status).toBe(200);

    // Nothing was revoked and the current token still rotates normally.
    const row = await sessionRow(manual, session.sessionId);
    expect(row.revoked_at).toBeNull();
    expect(row.refresh_hash).toBe(sha256hex(first.refreshToken));
    const next = await refresh(manual, first.refreshToken);
    expect(next.status).toBe(200);
  });

  it("the old token after the grace window revokes the session and writes REFRESH_TOKEN_REUSED", async () => {
    const { id, user, session } = await registerAndLogin(manual, "reuse");
    const current = await ok<LoginReply>(manual, "RefreshToken", { refreshToken: session.refreshToken }, { ip: freshIp() });

    clock.advance(GRACE_MS + 1);
    const reuse = await refresh(manual, session.refreshToken);
    expect(reuse.code).toBe("unauthenticated");
    expect(reuse.info?.reason).toBe("REFRESH_TOKEN_REUSED");

    const row = await sessionRow(manual, session.sessionId);
    expect(row.revoked_at).not.toBeNull();
    expect(row.revoked_reason).toBe("refresh_token_reused");
    const ev = await manual.db.execute({ sql: "SELECT session_id FROM security_events WHERE user_id = ? AND type = 'refresh_token_reused'", args: [id] });
    expect(ev.rows.map((r) => r.session_id)).toEqual([session.sessionId]);

    // The whole session is gone: its current refresh token and its access tokens too.
    expect((await refresh(manual, current.refreshToken)).code).toBe("unauthenticated");
    for (const t of [session.accessToken, current.accessToken]) {
      expect((await call(manual, "GetCurrentUser", {}, { token: t })).code).toBe("unauthenticated");
    }

    // The owner sees the event in their own security log (from a new session).
    const fresh = await ok<LoginReply>(manual, "Login", { identifier: user.username, password: user.password, deviceName: "x" }, { ip: freshIp() });
    const events = await ok<{ events: { type: string; sessionId: string }[] }>(manual, "ListSecurityEvents", {}, { token: fresh.accessToken });
    expect(events.events.find((e) => e.type === "SECURITY_EVENT_TYPE_REFRESH_TOKEN_REUSED")?.sessionId).toBe(session.sessionId);
  });

  it("in real time: a reuse after sleeping past a 300 ms window revokes the session", async () => {
    const { id, session } = await registerAndLogin(realtime, "sleep");
    const current = await ok<LoginReply>(realtime, "RefreshToken", { refreshToken: session.refreshToken }, { ip: freshIp() });
    await sleep(GRACE_MS + 150);
    const reuse = await refresh(realtime, session.refreshToken);
    expect(reuse.info?.reason).toBe("REFRESH_TOKEN_REUSED");
    expect((await refresh(realtime, current.refreshToken)).code).toBe("unauthenticated");
    const ev = await realtime.db.execute({ sql: "SELECT COUNT(*) AS n FROM security_events WHERE user_id = ? AND type = 'refresh_token_reused'", args: [id] });
    expect(Number(ev.rows[0].n)).toBe(1);
  });

  it("two concurrent refreshes with one token rotate exactly once", async () => {
    for (let round = 0; round < 5; round++) {
      const { id, session } = await registerAndLogin(realtime, `race${round}`);
      const answers = await Promise.all([refresh(realtime, session.refreshToken), refresh(realtime, session.refreshToken)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      const [a, b] = answers.map((x) => x.body as unknown as LoginReply);
      expect(a.refreshToken).toBe(b.refreshToken);
      expect(a.refreshToken).not.toBe(session.refreshToken);
      // The row changed once: from the login's token straight to the one both answers carry.
      const row = await sessionRow(realtime, session.sessionId);
      expect(row.previous_hash).toBe(sha256hex(session.refreshToken));
      expect(row.refresh_hash).toBe(sha256hex(a.refreshToken));
      expect(row.revoked_at).toBeNull();
      // The loser got the grace answer, not a reuse verdict.
      const ev = await realtime.db.execute({ sql: "SELECT COUNT(*) AS n FROM security_events WHERE user_id = ? AND type = 'refresh_token_reused'", args: [id] });
      expect(Number(ev.rows[0].n)).toBe(0);
    }
  });

  it("a burst of eight concurrent refreshes with one token still rotates once", async () => {
    const { session } = await registerAndLogin(realtime, "burst");
    const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(realtime, session.refreshToken)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const tokens = new Set(answers.map((a) => (a.body as unknown as LoginReply).refreshToken));
    expect(tokens.size).toBe(1);
    const row = await sessionRow(realtime, session.sessionId);
    expect(row.previous_hash).toBe(sha256hex(session.refreshToken));
    expect(row.refresh_hash).toBe(sha256hex([...tokens][0]));
  });

  it("a token this server never issued is refused without touching any session", async () => {
    const r = await refresh(realtime, "A".repeat(43));
    expect(r.code).toBe("unauthenticated");
    expect(r.info?.reason).toBe("INVALID_REFRESH_TOKEN");
  });

  it("a token replaced two rotations ago, used again, still revokes the session (stolen-token case)", async () => {
    const { session } = await registerAndLogin(manual, "deep");
    const stolen = session.refreshToken;
    // The thief rotates first, then keeps rotating; the victim comes back with the old token.
    const a = await ok<LoginReply>(manual, "RefreshToken", { refreshToken: stolen }, { ip: freshIp() });
    clock.advance(GRACE_MS + 1);
    const b = await ok<LoginReply>(manual, "RefreshToken", { refreshToken: a.refreshToken }, { ip: freshIp() });
    clock.advance(GRACE_MS + 1);
    const victim = await refresh(manual, stolen);
    expect(victim.code).toBe("unauthenticated");
    expect(victim.info?.reason).toBe("REFRESH_TOKEN_REUSED");
    expect((await sessionRow(manual, session.sessionId)).revoked_reason).toBe("refresh_token_reused");
    // The thief's newest token is dead too.
    expect((await refresh(manual, b.refreshToken)).code).toBe("unauthenticated");
  });

  it("a forged token naming a real session cannot revoke it (the MAC does not verify)", async () => {
    const { session } = await registerAndLogin(realtime, "forge");
    const [sid, rand] = session.refreshToken.split(".");
    const forged = `${sid}.${rand.split("").reverse().join("")}.${"A".repeat(22)}`;
    const r = await refresh(realtime, forged);
    expect(r.code).toBe("unauthenticated");
    expect(r.info?.reason).toBe("INVALID_REFRESH_TOKEN");
    expect((await sessionRow(realtime, session.sessionId)).revoked_at).toBeNull();
    expect((await refresh(realtime, session.refreshToken)).status).toBe(200);
  });
});

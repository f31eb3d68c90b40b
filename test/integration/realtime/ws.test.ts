/**
 * The realtime WebSocket /v1/stream (issue 4, item 7), with the `ws` package as the client, against
 * the real server in this process:
 * - a push on device A reaches device B's socket (same user, another session) within 1 s, on both
 *   listeners, as JSON text frames by default and as protobuf binary frames with the subprotocol;
 * - the token travels only in the first message: none in time, an invalid, forged or expired one,
 *   or one in the URL → 4401; a malformed first message → 4400;
 * - RevokeSession / Logout of the socket's session → 4403 at once; a conflict → conflictCreated;
 * - another user's socket hears nothing of it; a slow consumer → 4408; shutdown → 1001.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { decodeProtectedHeader, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ClientMessageSchema } from "../../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { AccessTokens } from "../../../src/auth/tokens.js";
import { systemRuntime } from "../../../src/common/runtime.js";
import { call, login, manualRuntime, ok, registerAndLogin, startAuthServer, type AuthTestServer, type LoginReply } from "../../support/auth.js";
import { editQuery, newQuery, push, PROTO, sleep, StreamClient, streamUrl, until, type Closed } from "../../support/realtime.js";

const AUTH_TIMEOUT_MS = 1_000;
let server: AuthTestServer;
const sockets: StreamClient[] = [];
const track = (c: StreamClient) => (sockets.push(c), c);

beforeAll(async () => {
  server = await startAuthServer({ env: { REALTIME_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS) } });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

/** One user with two sessions: A pushes (device "dev-a"), B listens. */
async function twoSessions(prefix: string) {
  const { user, id, session: a } = await registerAndLogin(server, prefix);
  const b = await login(server, user, { device: "laptop" });
  return { user, id, a, b };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

describe("/v1/stream: events", () => {
  it("a push on device A reaches device B's socket within 1 s (JSON frames; ready first; both listeners)", async () => {
    const { a, b } = await twoSessions("rtjson");
    const onApi = track(await StreamClient.connect(streamUrl(server.ports, "api"), b.accessToken));
    const onWs = track(await StreamClient.connect(streamUrl(server.ports, "ws"), b.accessToken));
    for (const c of [onApi, onWs]) {
      expect(c.ws.protocol).toBe(""); // no subprotocol offered: JSON by default
      expect(c.events[0].binary).toBe(false);
      expect(c.events[0].event.event).toEqual({ case: "ready", value: expect.objectContaining({ sessionId: b.sessionId }) });
      expect(JSON.parse(c.events[0].text!)).toEqual({ id: "0", ready: { sessionId: b.sessionId } });
    }

    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const reply = await push(server, a.accessToken, "dev-a", [newQuery(`q${i}`)]);
      expect(reply.results[0].status).toBe("CHANGE_STATUS_APPLIED");
      for (const c of [onApi, onWs]) {
        const got = await c.next("syncChanged", 1_000);
        latencies.push(got.at - started);
        expect(got.event.event.value).toEqual(expect.objectContaining({ headSeq: BigInt(reply.headSeq!), deviceId: "dev-a" }));
        expect(got.binary).toBe(false);
        const json = JSON.parse(got.text!);
        expect(json).toEqual({ id: expect.stringMatching(/^[1-9]\d*$/), time: expect.any(String), syncChanged: { headSeq: reply.headSeq, deviceId: "dev-a" } });
        expect(Date.parse(json.time)).toBeGreaterThan(Date.now() - 60_000);
      }
    }
    // Push → B's socket, same instance: the bound is 1 s.
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    console.log(`push → socket (same instance): median ${median(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length}`);
    // Event ids increase.
    const ids = onApi.of("syncChanged").map((e) => BigInt(e.event.id));
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
    expect(onApi.garbage).toEqual([]);
  });

  it("speaks protobuf binary frames with the sqlstudio.v1+proto subprotocol (and accepts a binary Authenticate)", async () => {
    const { a, b } = await twoSessions("rtproto");
    const c = track(StreamClient.open(streamUrl(server.ports, "ws"), { protocol: PROTO }));
    await c.opened;
    expect(c.ws.protocol).toBe(PROTO);
    c.ws.send(toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "authenticate", value: { accessToken: b.accessToken } } })));
    const ready = await c.next("ready", 2_000);
    expect(ready.binary).toBe(true);
    expect(ready.event.event.value).toEqual(expect.objectContaining({ sessionId: b.sessionId }));

    const started = performance.now();
    const reply = await push(server, a.accessToken, "dev-a", [newQuery("proto")]);
    const got = await c.next("syncChanged", 1_000);
    expect(got.at - started).toBeLessThan(1_000);
    expect(got.binary).toBe(true);
    expect(got.event.event.value).toEqual(expect.objectContaining({ headSeq: BigInt(reply.headSeq!), deviceId: "dev-a" }));
    expect(got.event.time).toBeDefined();

    // A JSON Authenticate works on a proto socket too (the frame type says which it is).
    const d = track(StreamClient.open(streamUrl(server.ports, "api"), { protocol: PROTO }));
    await d.opened;
    d.authenticate(b.accessToken);
    expect((await d.next("ready", 2_000)).binary).toBe(true);
    expect(c.garbage).toEqual([]);
  });

  it("a push that conflicts sends conflictCreated with the conflict and the record", async () => {
    const { a, b } = await twoSessions("rtconf");
    const c = track(await StreamClient.connect(streamUrl(server.ports), b.accessToken));
    const created = newQuery("base");
    const first = await push(server, a.accessToken, "dev-a", [created]);
    await c.next("syncChanged", 1_000);
    // Device B edits from version 1 first, then device A edits from the same (now stale) version.
    await push(server, b.accessToken, "dev-b", [editQuery(created.recordId, 1, "b's edit")]);
    await c.next("syncChanged", 1_000);
    const started = performance.now();
    const stale = await push(server, a.accessToken, "dev-a", [editQuery(created.recordId, 1, "a's edit")]);
    expect(stale.results[0].status).toBe("CHANGE_STATUS_CONFLICT");
    const got = await c.next("conflictCreated", 1_000);
    expect(got.at - started).toBeLessThan(1_000);
    expect(got.event.event.value).toEqual(expect.objectContaining({ conflictId: stale.results[0].conflictId, recordId: created.recordId }));
    expect(JSON.parse(got.text!).conflictCreated).toEqual({ conflictId: stale.results[0].conflictId, recordId: created.recordId });
    // A conflict leaves the head where it was: no syncChanged for it.
    await sleep(150);
    expect(c.of("syncChanged").map((e) => (e.event.event.value as { headSeq: bigint }).headSeq)).toEqual([BigInt(first.headSeq!), 2n]);
  });

  it("isolation: user C's socket hears nothing of user A's pushes, conflicts or revocations", async () => {
    const { user, a, b } = await twoSessions("rtiso");
    const other = await registerAndLogin(server, "rtisoc");
    const onB = track(await StreamClient.connect(streamUrl(server.ports), b.accessToken));
    const onC = track(await StreamClient.connect(streamUrl(server.ports), other.session.accessToken));
    const onC2 = track(await StreamClient.connect(streamUrl(server.ports, "ws"), other.session.accessToken, { protocol: PROTO }));

    const q = newQuery("private");
    await push(server, a.accessToken, "dev-a", [q]);
    await onB.next("syncChanged", 1_000);
    await push(server, b.accessToken, "dev-b", [editQuery(q.recordId, 1, "b")]);
    await onB.next("syncChanged", 1_000);
    await push(server, a.accessToken, "dev-a", [editQuery(q.recordId, 1, "a")]);
    await onB.next("conflictCreated", 1_000);
    // A third session of A's user is revoked: B hears sessionRevoked (not its own, so it stays open).
    const third = await login(server, user, { device: "third" });
    expect((await call(server, "RevokeSession", { sessionId: third.sessionId }, { token: a.accessToken })).status).toBe(200);
    await onB.next("sessionRevoked", 1_000, (e) => e.event.case === "sessionRevoked" && e.event.value.sessionId === third.sessionId);
    expect(onB.closeInfo).toBeUndefined();

    // Everything of A's user reached B's socket before C's events are looked at; C's sockets
    // are served in the same dispatch, so a little slack is plenty.
    await sleep(200);
    for (const c of [onC, onC2]) {
      expect(c.events.map((e) => e.event.event.case)).toEqual(["ready"]);
      expect(c.closeInfo).toBeUndefined();
    }
    // C's own push reaches C.
    await push(server, other.session.accessToken, "dev-c", [newQuery("mine")]);
    expect((await onC.next("syncChanged", 1_000)).event.event.value).toEqual(expect.objectContaining({ headSeq: 1n, deviceId: "dev-c" }));
    await onC2.next("syncChanged", 1_000);
  });
});

describe("/v1/stream: authentication", () => {
  it("a client that sends no token within REALTIME_AUTH_TIMEOUT_MS is closed with 4401", async () => {
    const started = performance.now();
    const c = track(StreamClient.open(streamUrl(server.ports)));
    await c.opened;
    const closed = await c.closedWithin(AUTH_TIMEOUT_MS + 2_000);
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 50);
    expect(c.events).toEqual([]);
  });

  it("the token is never accepted in the URL", async () => {
    const { session } = await registerAndLogin(server, "rturl");
    // Each waits for the auth timeout: all at once.
    const queries = [`?token=${session.accessToken}`, `?access_token=${session.accessToken}`, `?authorization=Bearer%20${session.accessToken}`];
    const clients = queries.map((q) => track(StreamClient.open(streamUrl(server.ports, "api", q))));
    // Nor in an Authorization header on the upgrade.
    clients.push(track(new StreamClient(new WebSocket(streamUrl(server.ports), { headers: { authorization: `Bearer ${session.accessToken}` } }), false)));
    await Promise.all(clients.map((c) => c.opened));
    for (const [i, c] of clients.entries()) {
      const what = queries[i]?.split("=")[0] ?? "authorization header";
      expect((await c.closedWithin(AUTH_TIMEOUT_MS + 2_000)).code, what).toBe(4401);
      expect(c.events, what).toEqual([]);
    }
  });

  it("an invalid, forged or revoked token is closed with 4401", async () => {
    const { id, session } = await registerAndLogin(server, "rtbad");
    const [head, payload, sig] = session.accessToken.split(".");
    const flipped = sig.slice(0, -2) + (sig.endsWith("AA") ? "BB" : "AA");
    const otherSecret = await new AccessTokens(
      { secret: "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz", issuer: server.config.auth.jwtIssuer, audience: server.config.auth.jwtAudience, ttlMs: 60_000 },
      systemRuntime,
    ).sign({ sub: id, sid: session.sessionId, role: "user", email_verified: true });
    // Same key id as the server's, another secret: only the signature is wrong.
    const { kid } = decodeProtectedHeader(session.accessToken);
    const sameKid = await new SignJWT({ sid: session.sessionId, role: "user", email_verified: true })
      .setProtectedHeader({ alg: "HS256", kid, typ: "JWT" })
      .setSubject(id)
      .setIssuer(server.config.auth.jwtIssuer)
      .setAudience(server.config.auth.jwtAudience)
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"));
    const revokedSession = await registerAndLogin(server, "rtrev");
    expect((await call(server, "Logout", {}, { token: revokedSession.session.accessToken })).status).toBe(200);
    const cases: [string, string][] = [
      ["garbage", "not-a-token-at-all"],
      ["empty", ""],
      ["tampered signature", `${head}.${payload}.${flipped}`],
      ["signed with another secret", otherSecret.token],
      ["another secret under the server's key id", sameKid],
      ["session logged out", revokedSession.session.accessToken],
    ];
    for (const [name, token] of cases) {
      const c = track(StreamClient.open(streamUrl(server.ports)));
      await c.opened;
      const started = performance.now();
      c.authenticate(token);
      const closed = await c.closedWithin(2_000);
      expect(closed.code, name).toBe(4401);
      expect(closed.at - started, name).toBeLessThan(AUTH_TIMEOUT_MS); // answered, not timed out
      expect(c.events, name).toEqual([]);
    }
  });

  it("a malformed first message is closed with 4400; so is anything but a renewal after authentication", async () => {
    const { user, session } = await registerAndLogin(server, "rtmal");
    const bad: [string, string | Buffer][] = [
      ["not JSON", "hello"],
      ["JSON of another shape", JSON.stringify({ token: session.accessToken })],
      ["no message", "{}"],
      ["wrong type", JSON.stringify({ authenticate: { accessToken: 42 } })],
      ["binary garbage", Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02])],
    ];
    for (const [name, data] of bad) {
      const c = track(StreamClient.open(streamUrl(server.ports)));
      await c.opened;
      c.ws.send(data);
      const closed = await c.closedWithin(2_000);
      expect(closed.code, name).toBe(4400);
      expect(c.events, name).toEqual([]);
    }
    const c = track(await StreamClient.connect(streamUrl(server.ports), session.accessToken));
    c.ws.send(JSON.stringify({ hello: 1 }));
    expect((await c.closedWithin(2_000)).code).toBe(4400);
    // A token of another session is no renewal.
    const d = track(await StreamClient.connect(streamUrl(server.ports), session.accessToken));
    const second = await login(server, user);
    d.authenticate(second.accessToken);
    expect((await d.closedWithin(2_000)).code).toBe(4400);
  });

  it("an open socket closes with 4401 when its access token expires, unless the client renews it", async () => {
    const own = await startAuthServer({ env: { ACCESS_TOKEN_TTL_MS: "3000" } });
    try {
      const { session } = await registerAndLogin(own, "rtttl");
      const lapsing = track(await StreamClient.connect(streamUrl(own.ports), session.accessToken));
      const renewed = track(await StreamClient.connect(streamUrl(own.ports), session.accessToken));
      // Renew the second socket with a fresh token of the same session before the first expires
      // (exp has one-second resolution: wait a little so the new token outlives the old one).
      await sleep(1_100);
      const fresh = await ok<LoginReply>(own, "RefreshToken", { refreshToken: session.refreshToken });
      renewed.authenticate(fresh.accessToken);
      const closed = await lapsing.closedWithin(5_000);
      expect(closed.code).toBe(4401);
      expect(closed.reason).toContain("expired");
      expect(renewed.closeInfo).toBeUndefined();
    } finally {
      await own.stop();
    }
  });

  it("an expired access token is closed with 4401 (injected clock)", async () => {
    const clock = manualRuntime();
    const own = await startAuthServer({ runtime: clock });
    try {
      const { session } = await registerAndLogin(own, "rtexp");
      const live = track(await StreamClient.connect(streamUrl(own.ports), session.accessToken));
      expect(live.closeInfo).toBeUndefined();
      clock.advance(own.config.auth.accessTokenTtlMs + 1_000);
      const c = track(StreamClient.open(streamUrl(own.ports)));
      await c.opened;
      c.authenticate(session.accessToken);
      expect((await c.closedWithin(2_000)).code).toBe(4401);
      expect(c.events).toEqual([]);
    } finally {
      await own.stop();
    }
  });
});

describe("/v1/stream: ending", () => {
  for (const how of ["RevokeSession", "Logout"] as const) {
    it(`${how} of the socket's session closes it with 4403 at once; the user's other sockets hear sessionRevoked`, async () => {
      const { a, b } = await twoSessions(`rt${how.toLowerCase()}`);
      const onB = track(await StreamClient.connect(streamUrl(server.ports), b.accessToken));
      const onB2 = track(await StreamClient.connect(streamUrl(server.ports, "ws"), b.accessToken, { protocol: PROTO }));
      const onA = track(await StreamClient.connect(streamUrl(server.ports), a.accessToken));
      const started = performance.now();
      if (how === "RevokeSession") expect((await call(server, "RevokeSession", { sessionId: b.sessionId }, { token: a.accessToken })).status).toBe(200);
      else expect((await call(server, "Logout", {}, { token: b.accessToken })).status).toBe(200);
      for (const c of [onB, onB2]) {
        const closed: Closed = await c.closedWithin(1_000);
        expect(closed.code).toBe(4403);
        expect(closed.at - started).toBeLessThan(1_000);
        // The revocation itself is the last event the socket got.
        expect(c.events.at(-1)?.event.event).toEqual({ case: "sessionRevoked", value: expect.objectContaining({ sessionId: b.sessionId }) });
      }
      const heard = await onA.next("sessionRevoked", 1_000);
      expect(heard.event.event.value).toEqual(expect.objectContaining({ sessionId: b.sessionId }));
      expect(onA.closeInfo).toBeUndefined();
      console.log(`${how} → 4403: ${(onB.closeInfo!.at - started).toFixed(1)} ms`);
      // The revoked token cannot open a new socket.
      const again = track(StreamClient.open(streamUrl(server.ports)));
      await again.opened;
      again.authenticate(b.accessToken);
      expect((await again.closedWithin(2_000)).code).toBe(4401);
    });
  }

  it("a slow consumer is closed with 4408 (pull, then reconnect), and the server keeps no queue for it", async () => {
    // A socket whose unsent bytes exceed REALTIME_MAX_BUFFERED_BYTES is a slow consumer. The
    // client stops reading; every conflict of a push is one event, so a few pushes of 500
    // stale changes fill the loopback buffers between the two.
    // Every stale change must become a conflict (an event): lift the open-conflict caps and the quota.
    const own = await startAuthServer({
      env: {
        REALTIME_MAX_BUFFERED_BYTES: "1",
        SYNC_MAX_OPEN_CONFLICTS_PER_RECORD: "100000",
        SYNC_MAX_OPEN_CONFLICTS_PER_USER: "1000000",
        SYNC_QUOTA_BYTES: String(2 ** 40),
      },
    });
    try {
      const { user, session: a } = await registerAndLogin(own, "rtslow");
      const b = await login(own, user, { device: "slow" });
      const slow = track(await StreamClient.connect(streamUrl(own.ports), b.accessToken));
      const fine = track(await StreamClient.connect(streamUrl(own.ports, "ws"), a.accessToken));
      const records = Array.from({ length: 500 }, (_, i) => newQuery(`r${i}`));
      await push(own, a.accessToken, "dev-a", records);
      await slow.next("syncChanged", 1_000);
      (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const before = slow.events.length;
      let pushes = 0;
      while (own.features.hub.subscriberCount > 1 && pushes < 200) {
        await push(own, a.accessToken, "dev-a", records.map((r) => editQuery(r.recordId, 0, "stale")));
        pushes++;
      }
      // The hub dropped the slow socket (nothing is queued for it any more); the other one lives.
      expect(own.features.hub.subscriberCount).toBe(1);
      expect(slow.events.length).toBe(before); // it has not read anything meanwhile
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      const closed = await slow.closedWithin(10_000);
      expect(closed.code).toBe(4408);
      expect(closed.reason).toMatch(/pull/);
      console.log(`slow consumer: closed with 4408 after ${pushes} pushes of 500 conflicts; it had read ${slow.events.length - before} queued events`);
      // It may reconnect (after pulling) with the same token.
      track(await StreamClient.connect(streamUrl(own.ports), b.accessToken));
      // The reader that kept up got every event and is still open.
      await until(() => fine.of("conflictCreated").length === pushes * 500, 10_000, "every conflict at the fast socket");
      expect(fine.closeInfo).toBeUndefined();
    } finally {
      await own.stop();
    }
  });

  it("shutdown closes every socket with 1001", async () => {
    const own = await startAuthServer();
    let stopped = false;
    try {
      expect(own.config.realtime.authTimeoutMs).toBe(5_000); // the default: authenticate within 5 s
      const { user, session } = await registerAndLogin(own, "rtstop");
      const other = await login(own, user, { device: "other" });
      const cs = [
        track(await StreamClient.connect(streamUrl(own.ports, "api"), session.accessToken)),
        track(await StreamClient.connect(streamUrl(own.ports, "ws"), other.accessToken, { protocol: PROTO })),
      ];
      expect(own.features.hub.subscriberCount).toBe(2);
      await own.stop();
      stopped = true;
      for (const c of cs) expect((await c.closedWithin(2_000)).code).toBe(1001);
    } finally {
      if (!stopped) await own.stop();
    }
  });
});


/**
 * Issue 18, item 5: WebSockets without limits. Real `ws` clients against the real server, on both
 * listeners (/v1/stream on the API port and on WS_PORT):
 * - 300 sockets from one address that never authenticate: WS_MAX_UNAUTHENTICATED_PER_ADDRESS stay,
 *   the rest are closed at once with 4429 and a reason naming the limit; another address is served;
 * - 300 authenticated sockets of one user: REALTIME_MAX_SUBSCRIPTIONS_PER_USER get `ready`, the rest
 *   are closed with 4429; Subscribe streams count in the same budget; closing one frees a slot;
 * - 2,000 `authenticate` messages on one socket: the socket is closed with 4429 after
 *   WS_AUTH_MESSAGES_PER_MINUTE, and the server verified no more tokens than that;
 * - every refusal is counted in limit_hits_total{limit}.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RealtimeService } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { freshIp, registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";
import { StreamClient, streamUrl, until } from "../support/realtime.js";
import { clientFor, expectRpcError } from "../support/rpc.js";

const UNAUTH_PER_ADDRESS = 10;
const PER_USER = 12;
const AUTH_PER_MINUTE = 10;
const LIMIT_CLOSE = 4429;

let server: AuthTestServer;
const sockets: StreamClient[] = [];
beforeAll(async () => {
  server = await startAuthServer({
    env: {
      WS_MAX_UNAUTHENTICATED_PER_ADDRESS: String(UNAUTH_PER_ADDRESS),
      REALTIME_MAX_SUBSCRIPTIONS_PER_USER: String(PER_USER),
      WS_AUTH_MESSAGES_PER_MINUTE: String(AUTH_PER_MINUTE),
      // Long enough that an unauthenticated socket is not closed by the auth deadline during a test.
      REALTIME_AUTH_TIMEOUT_MS: "30000",
    },
  });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

/** A /v1/stream socket from `ip` (the server trusts X-Forwarded-For in these tests, as behind Cloud Run). */
function openFrom(ip: string, which: "api" | "ws" = "api"): StreamClient {
  const c = new StreamClient(new WebSocket(streamUrl(server.ports, which), { headers: { "x-forwarded-for": ip } }), false);
  sockets.push(c);
  return c;
}

async function limitHits(limit: string): Promise<number> {
  const m = await server.metrics.registry.getSingleMetric("limit_hits_total")?.get();
  return m?.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

describe("/v1/stream limits", () => {
  it("300 unauthenticated sockets from one address: the limit stays open, the rest close with 4429 naming WS_MAX_UNAUTHENTICATED_PER_ADDRESS", async () => {
    const ip = freshIp();
    const hitsBefore = await limitHits("WS_MAX_UNAUTHENTICATED_PER_ADDRESS");
    const all = Array.from({ length: 300 }, (_, i) => openFrom(ip, i % 2 === 0 ? "api" : "ws"));
    await until(() => all.filter((c) => c.closeInfo).length >= 300 - UNAUTH_PER_ADDRESS, 15_000, "the sockets above the limit to close");
    await new Promise((r) => setTimeout(r, 200));
    const closed = all.filter((c) => c.closeInfo);
    expect(closed.length).toBe(300 - UNAUTH_PER_ADDRESS);
    expect(new Set(closed.map((c) => c.closeInfo!.code))).toEqual(new Set([LIMIT_CLOSE]));
    expect(closed[0].closeInfo!.reason).toContain("WS_MAX_UNAUTHENTICATED_PER_ADDRESS");
    expect(await limitHits("WS_MAX_UNAUTHENTICATED_PER_ADDRESS")).toBe(hitsBefore + 300 - UNAUTH_PER_ADDRESS);

    // Another address is not affected; and a socket of the full address that authenticates frees its slot.
    const { session } = await registerAndLogin(server, "wsaddr");
    const other = openFrom(freshIp());
    await other.opened;
    other.authenticate(session.accessToken);
    await other.next("ready", 5_000);
    const open = all.filter((c) => !c.closeInfo);
    open[0].authenticate(session.accessToken);
    await open[0].next("ready", 5_000);
    const again = openFrom(ip);
    await again.opened;
    await new Promise((r) => setTimeout(r, 200));
    expect(again.closeInfo).toBeUndefined();
    const oneMore = openFrom(ip);
    expect((await oneMore.closedWithin(5_000)).code).toBe(LIMIT_CLOSE);
    for (const c of all) c.close();
  });

  it("300 authenticated sockets of one user: REALTIME_MAX_SUBSCRIPTIONS_PER_USER get ready, the rest close with 4429; Subscribe streams share the budget", async () => {
    const { session, id: userId } = await registerAndLogin(server, "wsuser");
    const hitsBefore = await limitHits("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
    const all: StreamClient[] = [];
    // Each from its own address, so the per-address limit on unauthenticated sockets plays no part.
    for (let i = 0; i < 300; i++) {
      const c = openFrom(freshIp(), i % 2 === 0 ? "api" : "ws");
      all.push(c);
      void c.opened.then(() => c.authenticate(session.accessToken), () => undefined);
    }
    await until(() => all.every((c) => c.closeInfo || c.of("ready").length > 0), 20_000, "every socket to be ready or closed");
    await new Promise((r) => setTimeout(r, 200));
    const ready = all.filter((c) => !c.closeInfo);
    const closed = all.filter((c) => c.closeInfo);
    expect(ready.length).toBe(PER_USER);
    expect(ready.every((c) => c.of("ready").length === 1)).toBe(true);
    expect(closed.length).toBe(300 - PER_USER);
    expect(new Set(closed.map((c) => c.closeInfo!.code))).toEqual(new Set([LIMIT_CLOSE]));
    expect(closed[0].closeInfo!.reason).toContain("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
    expect(await limitHits("REALTIME_MAX_SUBSCRIPTIONS_PER_USER")).toBe(hitsBefore + 300 - PER_USER);

    // A Subscribe stream of the same user is refused while the sockets hold the budget...
    const client = clientFor(RealtimeService, server, undefined, "grpc");
    const headers = { authorization: `Bearer ${session.accessToken}` };
    const first = client.subscribe({}, { headers })[Symbol.asyncIterator]();
    const { info } = await expectRpcError(first.next(), Code.ResourceExhausted);
    expect(info?.metadata.limit).toBe("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
    // ...and accepted once a socket has closed.
    ready[0].close();
    await until(() => server.features.hub.subscriptionsOf(userId) < PER_USER, 5_000, "the closed socket to leave the hub");
    const abort = new AbortController();
    const stream = (async () => {
      try {
        for await (const _ of client.subscribe({}, { headers, signal: abort.signal }));
      } catch (e) {
        return ConnectError.from(e);
      }
    })();
    await until(() => server.features.hub.subscriptionsOf(userId) === PER_USER, 5_000, "the Subscribe stream to be accepted");
    // The stream took the last slot: one more socket is refused.
    const late = openFrom(freshIp());
    await late.opened;
    late.authenticate(session.accessToken);
    expect((await late.closedWithin(5_000)).code).toBe(LIMIT_CLOSE);
    abort.abort();
    expect((await stream)?.code).toBe(Code.Canceled);
    for (const c of all) c.close();
  });

  it("2,000 authenticate messages on one socket: closed with 4429 naming WS_AUTH_MESSAGES_PER_MINUTE; at most that many tokens verified", async () => {
    const { session } = await registerAndLogin(server, "wsauth");
    const sessions = server.features.accounts.sessions;
    const verify = sessions.authenticate.bind(sessions);
    let verified = 0;
    sessions.authenticate = (header) => {
      if (header === `Bearer ${session.accessToken}`) verified++;
      return verify(header);
    };
    try {
      const c = openFrom(freshIp());
      await c.opened;
      c.authenticate(session.accessToken);
      await c.next("ready", 5_000);
      const hitsBefore = await limitHits("WS_AUTH_MESSAGES_PER_MINUTE");
      for (let i = 0; i < 2_000 && c.ws.readyState === WebSocket.OPEN; i++) c.authenticate(session.accessToken);
      const closed = await c.closedWithin(10_000);
      expect(closed.code).toBe(LIMIT_CLOSE);
      expect(closed.reason).toContain("WS_AUTH_MESSAGES_PER_MINUTE");
      await new Promise((r) => setTimeout(r, 300));
      expect(verified).toBeLessThanOrEqual(AUTH_PER_MINUTE);
      expect(await limitHits("WS_AUTH_MESSAGES_PER_MINUTE")).toBe(hitsBefore + 1);
    } finally {
      sessions.authenticate = verify;
    }
  });

  it("a renewal now and then is fine: a few authenticate messages on an open socket keep it open", async () => {
    const { session } = await registerAndLogin(server, "wsrenew");
    const c = openFrom(freshIp());
    await c.opened;
    c.authenticate(session.accessToken);
    await c.next("ready", 5_000);
    for (let i = 0; i < AUTH_PER_MINUTE - 2; i++) c.authenticate(session.accessToken);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.closeInfo).toBeUndefined();
    c.close();
  });
});

/**
 * RealtimeService.Subscribe (issue 4, item 7): the WebSocket's events as a server stream, for
 * Connect (HTTP/1.1 and HTTP/2) and gRPC (HTTP/2) clients with an Authorization header:
 * - a push on another device arrives as syncChanged;
 * - revoking the session ends the stream with Unauthenticated / SESSION_REVOKED;
 * - an unauthenticated Subscribe is refused with Unauthenticated;
 * - another user's events never arrive;
 * - server shutdown ends every stream with Unavailable.
 */
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RealtimeService, type ServerEvent } from "../../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { call, errorInfoOf, login, registerAndLogin, startAuthServer, type AuthTestServer } from "../../support/auth.js";
import { newQuery, push, sleep, until } from "../../support/realtime.js";

const TRANSPORTS: { name: string; make: (baseUrl: string) => Transport }[] = [
  { name: "Connect, HTTP/1.1", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "Connect, HTTP/2", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }) },
  // gRPC is HTTP/2 only: createGrpcTransport has no httpVersion option.
  { name: "gRPC, HTTP/2", make: (baseUrl) => createGrpcTransport({ baseUrl }) },
];

/** A Subscribe call read in the background: its events, and how it ended. */
class Subscription {
  readonly events: { event: ServerEvent; at: number }[] = [];
  error?: ConnectError;
  ended = false;
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private taken = 0;

  constructor(client: Client<typeof RealtimeService>, token: string | undefined) {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    this.done = (async () => {
      try {
        for await (const res of client.subscribe({}, { headers, signal: this.abort.signal })) {
          if (res.event) this.events.push({ event: res.event, at: performance.now() });
        }
      } catch (err) {
        this.error = ConnectError.from(err);
      } finally {
        this.ended = true;
      }
    })();
  }

  /** The next event not returned before, of the given kind; throws on timeout or when the stream ended. */
  async next(kind: NonNullable<ServerEvent["event"]["case"]>, timeoutMs: number): Promise<{ event: ServerEvent; at: number }> {
    await until(() => this.events.length > this.taken || this.ended, timeoutMs, `a ${kind} event`);
    if (this.events.length <= this.taken) throw new Error(`stream ended (${this.error?.code} ${this.error?.rawMessage}) before a ${kind} event`);
    const e = this.events[this.taken++];
    expect(e.event.event.case).toBe(kind);
    return e;
  }

  cancel(): void {
    this.abort.abort();
  }
}

let server: AuthTestServer;
const open: Subscription[] = [];
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  for (const s of open) s.cancel();
  await Promise.all(open.map((s) => s.done));
  await server?.stop();
});

/** Per server: how many subscriptions the hub has accepted, by session (hub.add is wrapped to count). */
const added = new WeakMap<AuthTestServer, Map<string, number>>();
function addedFor(target: AuthTestServer): Map<string, number> {
  let m = added.get(target);
  if (!m) {
    const counts = (m = new Map<string, number>());
    added.set(target, m);
    const hub = target.features.hub;
    const add = hub.add.bind(hub);
    hub.add = (sub) => {
      counts.set(sub.sessionId, (counts.get(sub.sessionId) ?? 0) + 1);
      return add(sub);
    };
  }
  return m;
}

/** Subscribes and waits until the hub has the subscription (so nothing published after it is missed). */
async function subscribe(target: AuthTestServer, client: Client<typeof RealtimeService>, session: { accessToken: string; sessionId: string }): Promise<Subscription> {
  const counts = addedFor(target);
  const before = counts.get(session.sessionId) ?? 0;
  const s = new Subscription(client, session.accessToken);
  open.push(s);
  await until(() => (counts.get(session.sessionId) ?? 0) > before || s.ended, 5_000, "the subscription to reach the hub");
  if (s.ended) throw new Error(`Subscribe failed: ${s.error?.code} ${s.error?.rawMessage}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

describe.each(TRANSPORTS)("RealtimeService.Subscribe over $name", ({ make }) => {
  let client: Client<typeof RealtimeService>;
  beforeAll(() => {
    client = createClient(RealtimeService, make(server.url));
  });

  it("delivers syncChanged and conflictCreated after pushes on another device", async () => {
    const { user, session: a } = await registerAndLogin(server, "subpush");
    const b = await login(server, user, { device: "sub" });
    const sub = await subscribe(server, client, b);
    const latencies: number[] = [];
    const q = newQuery("one");
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const reply = await push(server, a.accessToken, "dev-a", [i === 0 ? q : newQuery(`n${i}`)]);
      const got = await sub.next("syncChanged", 1_000);
      latencies.push(got.at - started);
      expect(got.event.event.value).toEqual(expect.objectContaining({ headSeq: BigInt(reply.headSeq!), deviceId: "dev-a" }));
      expect(got.event.id).toMatch(/^[1-9]\d*$/);
      expect(got.event.time).toBeDefined();
    }
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    console.log(`push → Subscribe: median ${median(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);

    // A stale edit is a conflict.
    await push(server, b.accessToken, "dev-b", [{ ...newQuery("b"), recordId: q.recordId, baseVersion: "1" }]);
    await sub.next("syncChanged", 1_000);
    const stale = await push(server, a.accessToken, "dev-a", [{ ...newQuery("a"), recordId: q.recordId, baseVersion: "1" }]);
    expect(stale.results[0].status).toBe("CHANGE_STATUS_CONFLICT");
    const conflict = await sub.next("conflictCreated", 1_000);
    expect(conflict.event.event.value).toEqual(expect.objectContaining({ conflictId: stale.results[0].conflictId, recordId: q.recordId }));
    expect(sub.ended).toBe(false);
    sub.cancel();
    await sub.done;
    await until(() => server.features.hub.subscriberCount === 0, 2_000, "the cancelled subscription to leave the hub");
  });

  it("revoking the session ends the stream with Unauthenticated (SESSION_REVOKED); the user's other streams hear sessionRevoked", async () => {
    for (const how of ["RevokeSession", "Logout"] as const) {
      const { user, session: a } = await registerAndLogin(server, "subrev");
      const b = await login(server, user, { device: "sub" });
      const onB = await subscribe(server, client, b);
      const onA = await subscribe(server, client, a);
      const started = performance.now();
      if (how === "RevokeSession") expect((await call(server, "RevokeSession", { sessionId: b.sessionId }, { token: a.accessToken })).status).toBe(200);
      else expect((await call(server, "Logout", {}, { token: b.accessToken })).status).toBe(200);
      await until(() => onB.ended, 1_000, `the revoked stream to end (${how})`);
      const ms = performance.now() - started;
      expect(onB.error?.code, how).toBe(Code.Unauthenticated);
      expect(errorInfoOf(onB.error)?.reason, how).toBe("SESSION_REVOKED");
      // The revocation itself came first.
      expect(onB.events.at(-1)?.event.event).toEqual({ case: "sessionRevoked", value: expect.objectContaining({ sessionId: b.sessionId }) });
      expect((await onA.next("sessionRevoked", 1_000)).event.event.value).toEqual(expect.objectContaining({ sessionId: b.sessionId }));
      expect(onA.ended).toBe(false);
      console.log(`${how} → Subscribe ended: ${ms.toFixed(1)} ms`);
      onA.cancel();
      await onA.done;
    }
  });

  it("ends the stream with Unauthenticated (TOKEN_EXPIRED) when its access token expires", async () => {
    const own = await startAuthServer({ env: { ACCESS_TOKEN_TTL_MS: "2000" } });
    try {
      const ownClient = createClient(RealtimeService, make(own.url));
      const { session } = await registerAndLogin(own, "subttl");
      const s = await subscribe(own, ownClient, session);
      await until(() => s.ended, 5_000, "the stream to end at token expiry");
      expect(s.error?.code).toBe(Code.Unauthenticated);
      expect(errorInfoOf(s.error)?.reason).toBe("TOKEN_EXPIRED");
    } finally {
      await own.stop();
    }
  });

  it("refuses an unauthenticated Subscribe with Unauthenticated", async () => {
    const { session } = await registerAndLogin(server, "subanon");
    expect((await call(server, "Logout", {}, { token: session.accessToken })).status).toBe(200);
    for (const [name, token] of [
      ["no header", undefined],
      ["garbage", "not-a-token-at-all"],
      ["logged out", session.accessToken],
    ] as const) {
      const s = new Subscription(client, token);
      await s.done;
      expect(s.error?.code, name).toBe(Code.Unauthenticated);
      expect(s.events, name).toEqual([]);
    }
    expect(addedFor(server).get(session.sessionId)).toBeUndefined();
  });

  it("never delivers another user's events", async () => {
    const { user, session: a } = await registerAndLogin(server, "subiso");
    const b = await login(server, user, { device: "sub" });
    const other = await registerAndLogin(server, "subisoc");
    const onB = await subscribe(server, client, b);
    const onC = await subscribe(server, client, other.session);
    const q = newQuery("private");
    await push(server, a.accessToken, "dev-a", [q]);
    await onB.next("syncChanged", 1_000);
    await push(server, b.accessToken, "dev-b", [{ ...newQuery("b"), recordId: q.recordId, baseVersion: "1" }]);
    await onB.next("syncChanged", 1_000);
    await push(server, a.accessToken, "dev-a", [{ ...newQuery("a"), recordId: q.recordId, baseVersion: "1" }]);
    await onB.next("conflictCreated", 1_000);
    const third = await login(server, user, { device: "third" });
    expect((await call(server, "RevokeSession", { sessionId: third.sessionId }, { token: a.accessToken })).status).toBe(200);
    await onB.next("sessionRevoked", 1_000);
    await sleep(200);
    expect(onC.events).toEqual([]);
    expect(onC.ended).toBe(false);
    // C hears its own.
    await push(server, other.session.accessToken, "dev-c", [newQuery("mine")]);
    expect((await onC.next("syncChanged", 1_000)).event.event.value).toEqual(expect.objectContaining({ headSeq: 1n, deviceId: "dev-c" }));
    for (const s of [onB, onC]) {
      s.cancel();
      await s.done;
    }
  });
});

describe("RealtimeService.Subscribe at shutdown", () => {
  it("ends every stream, on every transport, with Unavailable", async () => {
    const own = await startAuthServer();
    let stopped = false;
    try {
      const { session } = await registerAndLogin(own, "substop");
      const subs: Subscription[] = [];
      for (const t of TRANSPORTS) subs.push(await subscribe(own, createClient(RealtimeService, t.make(own.url)), session));
      expect(own.features.hub.subscriberCount).toBe(TRANSPORTS.length);
      const started = performance.now();
      await own.stop();
      stopped = true;
      await Promise.all(subs.map((s) => s.done));
      for (const [i, s] of subs.entries()) {
        expect(s.error?.code, TRANSPORTS[i].name).toBe(Code.Unavailable);
        expect(errorInfoOf(s.error)?.reason, TRANSPORTS[i].name).toBe("SHUTTING_DOWN");
      }
      console.log(`shutdown with ${subs.length} streams: ${(performance.now() - started).toFixed(0)} ms`);
    } finally {
      if (!stopped) await own.stop();
    }
  });
});

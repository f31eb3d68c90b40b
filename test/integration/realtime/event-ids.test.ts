/**
 * Issue 17, item 11: realtime event ids are per user. A user's events are numbered 1, 2, 3 … of
 * their own, whatever other users do (a shared sequence told anyone how busy the service is); the
 * ids keep increasing after the retention job deleted old events; a WebSocket and a Subscribe
 * stream of the same user see the same ids.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RealtimeService, type ServerEvent } from "../../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { RealtimeStore } from "../../../src/realtime/store.js";
import { registerAndLogin, startAuthServer, type AuthTestServer } from "../../support/auth.js";
import { editQuery, newQuery, push, StreamClient, streamUrl, until } from "../../support/realtime.js";
import { clientFor } from "../../support/rpc.js";

let server: AuthTestServer;
const sockets: StreamClient[] = [];
beforeAll(async () => {
  server = await startAuthServer();
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

describe("realtime event ids", () => {
  it("are 1, 2, 3 … per user, unaffected by other users' events, the same on a socket and a Subscribe stream, and keep increasing after old events are deleted", async () => {
    // Another user makes the service busy first.
    const other = await registerAndLogin(server, "idsother");
    for (let i = 0; i < 5; i++) await push(server, other.session.accessToken, "dev-o", [newQuery(`o${i}`)]);

    const me = await registerAndLogin(server, "idsme");
    const socket = await StreamClient.connect(streamUrl(server.ports), me.session.accessToken);
    sockets.push(socket);
    const client = clientFor(RealtimeService, server, undefined, "grpc");
    const abort = new AbortController();
    const streamed: ServerEvent[] = [];
    const stream = (async () => {
      try {
        for await (const res of client.subscribe({}, { headers: { authorization: `Bearer ${me.session.accessToken}` }, signal: abort.signal })) {
          if (res.event) streamed.push(res.event);
        }
      } catch {
        /* aborted at the end */
      }
    })();
    await until(() => server.features.hub.subscriptionsOf(me.id) === 2, 5_000, "both subscriptions");

    for (let i = 0; i < 3; i++) {
      await push(server, me.session.accessToken, "dev-a", [newQuery(`m${i}`)]);
      await socket.next("syncChanged", 2_000);
    }
    expect(socket.of("syncChanged").map((e) => e.event.id)).toEqual(["1", "2", "3"]);
    await until(() => streamed.length === 3, 2_000, "the stream's events");
    expect(streamed.map((e) => e.id)).toEqual(["1", "2", "3"]);

    // The retention job deletes every event; the next one is 4, not 1 again.
    await new RealtimeStore(server.db).deleteBefore(Date.now() + 60_000);
    await push(server, me.session.accessToken, "dev-a", [newQuery("after")]);
    expect((await socket.next("syncChanged", 2_000)).event.id).toBe("4");

    // Several events of one publish (a push with conflicts) take consecutive ids in order.
    const a = newQuery("base");
    await push(server, me.session.accessToken, "dev-a", [a]);
    await push(server, me.session.accessToken, "dev-a", [editQuery(a.recordId, 1, "v2")]);
    await push(server, me.session.accessToken, "dev-b", [editQuery(a.recordId, 1, "stale 1"), editQuery(a.recordId, 1, "stale 2")]);
    await socket.next("conflictCreated", 2_000);
    await socket.next("conflictCreated", 2_000);
    const ids = socket.events.filter((e) => e.event.event.case !== "ready").map((e) => Number(e.event.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    abort.abort();
    await stream;
  });
});

/**
 * Over-limit Subscribe calls are refused before Connect's pipeline (src/realtime/gate.ts), so a
 * flood costs the server microseconds per call, and the answer is the same as the hub's:
 * ResourceExhausted TOO_MANY_SUBSCRIPTIONS with ErrorInfo naming REALTIME_MAX_SUBSCRIPTIONS_PER_USER,
 * in every protocol the server speaks (gRPC with connect-node and @grpc/grpc-js, gRPC-Web, Connect
 * over HTTP/1.1 and HTTP/2). The early path is seen in the metrics: the refusal is counted in
 * limit_hits_total but never reaches the RPC metrics.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RealtimeService, SubscribeRequestSchema, SubscribeResponseSchema } from "../../gen/sqlstudio/realtime/v1/realtime_pb.js";
import { errorInfoOf, login, registerAndLogin, startAuthServer, type AuthTestServer } from "../support/auth.js";
import { grpcFrame, h2Request } from "../support/clients/raw.js";
import { until } from "../support/realtime.js";
import { expectRpcError } from "../support/rpc.js";

const PER_USER = 3;
let server: AuthTestServer;
beforeAll(async () => {
  server = await startAuthServer({ env: { REALTIME_MAX_SUBSCRIPTIONS_PER_USER: String(PER_USER) } });
});
afterAll(async () => {
  await server?.stop();
});

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const m = await server.metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

const TRANSPORTS: { name: string; make: (url: string) => Transport }[] = [
  { name: "gRPC (connect-node, HTTP/2)", make: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "gRPC-Web (connect-node, HTTP/1.1)", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "Connect JSON (HTTP/1.1)", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "Connect binary (HTTP/2)", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }) },
];

describe("Subscribe refused before Connect's pipeline", () => {
  it("a token holding the limit in open Subscribe calls gets the hub's answer at once, in every protocol", async () => {
    const { session, id: userId } = await registerAndLogin(server, "gate");
    const headers = { authorization: `Bearer ${session.accessToken}` };
    const abort = new AbortController();
    const holder = createClient(RealtimeService, createGrpcTransport({ baseUrl: server.url }));
    const held = Array.from({ length: PER_USER }, async () => {
      try {
        for await (const _ of holder.subscribe({}, { headers, signal: abort.signal }));
      } catch {
        /* cancelled at the end */
      }
    });
    try {
      await until(() => server.features.hub.subscriptionsOf(userId) === PER_USER, 5_000, "the held subscriptions");
      for (const t of TRANSPORTS) {
        const rpcBefore = await counter("rpc_requests_total", { method: "Subscribe", code: "resource_exhausted" });
        const hitsBefore = await counter("limit_hits_total", { limit: "REALTIME_MAX_SUBSCRIPTIONS_PER_USER" });
        const client = createClient(RealtimeService, t.make(server.url));
        const err = await (async () => {
          for await (const _ of client.subscribe({}, { headers })) return undefined;
        })().then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(err?.code, t.name).toBe(Code.ResourceExhausted);
        const info = errorInfoOf(err);
        expect(info?.reason, t.name).toBe("TOO_MANY_SUBSCRIPTIONS");
        expect(info?.metadata, t.name).toEqual({ limit: "REALTIME_MAX_SUBSCRIPTIONS_PER_USER", max: String(PER_USER) });
        expect(err?.rawMessage, t.name).toContain("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
        expect(await counter("limit_hits_total", { limit: "REALTIME_MAX_SUBSCRIPTIONS_PER_USER" }), t.name).toBe(hitsBefore + 1);
        // Answered before Connect: no RPC was counted.
        expect(await counter("rpc_requests_total", { method: "Subscribe", code: "resource_exhausted" }), t.name).toBe(rpcBefore);
      }

      // The early answer keeps the headers every response carries (CORS, request id, security).
      const raw = await h2Request(server.url, {
        ":path": "/sqlstudio.realtime.v1.RealtimeService/Subscribe",
        "content-type": "application/grpc",
        te: "trailers",
        origin: "http://localhost:5173",
        "x-request-id": "gate-check",
        ...headers,
      }, grpcFrame(new Uint8Array()));
      expect(raw.headers["grpc-status"]).toBe("8");
      expect(raw.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
      expect(raw.headers["x-request-id"]).toBe("gate-check");
      expect(raw.headers["x-content-type-options"]).toBe("nosniff");

      // @grpc/grpc-js reads the trailers-only answer too.
      const def = {
        subscribe: {
          path: "/sqlstudio.realtime.v1.RealtimeService/Subscribe",
          requestStream: false,
          responseStream: true,
          requestSerialize: (m: object) => Buffer.from(toBinary(SubscribeRequestSchema, m as never)),
          requestDeserialize: (b: Buffer) => fromBinary(SubscribeRequestSchema, b),
          responseSerialize: (m: object) => Buffer.from(toBinary(SubscribeResponseSchema, m as never)),
          responseDeserialize: (b: Buffer) => fromBinary(SubscribeResponseSchema, b),
        },
      };
      const Ctor = grpc.makeGenericClientConstructor(def, "Realtime");
      const gc = new Ctor(`127.0.0.1:${server.ports.api}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
        subscribe(req: object, md: grpc.Metadata): grpc.ClientReadableStream<unknown>;
      };
      const md = new grpc.Metadata();
      md.set("authorization", headers.authorization);
      const status = await new Promise<grpc.ServiceError>((resolve) => {
        const call = gc.subscribe({}, md);
        call.on("data", () => undefined);
        call.on("error", (e: grpc.ServiceError) => resolve(e));
      });
      gc.close();
      expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const details = status.metadata.get("grpc-status-details-bin")[0] as Buffer;
      expect(details).toBeDefined();
      expect(status.details).toContain("REALTIME_MAX_SUBSCRIPTIONS_PER_USER");
    } finally {
      abort.abort();
      await Promise.all(held);
    }
    await until(() => server.features.gate.tokens === 0, 5_000, "the gate to forget the token once its calls ended");
  });

  it("another token of the same user is not refused early, but by the hub (the same answer)", async () => {
    const { session, id: userId, user } = await registerAndLogin(server, "gate2");
    const other = await login(server, user, { device: "second" });
    const abort = new AbortController();
    const client = createClient(RealtimeService, createGrpcTransport({ baseUrl: server.url }));
    const held = Array.from({ length: PER_USER }, async () => {
      try {
        for await (const _ of client.subscribe({}, { headers: { authorization: `Bearer ${session.accessToken}` }, signal: abort.signal }));
      } catch {
        /* cancelled */
      }
    });
    try {
      await until(() => server.features.hub.subscriptionsOf(userId) === PER_USER, 5_000, "the held subscriptions");
      const rpcBefore = await counter("rpc_requests_total", { method: "Subscribe", code: "resource_exhausted" });
      await expectRpcError(
        (async () => {
          for await (const _ of client.subscribe({}, { headers: { authorization: `Bearer ${other.accessToken}` } })) return undefined;
        })(),
        Code.ResourceExhausted,
        "TOO_MANY_SUBSCRIPTIONS",
      );
      expect(await counter("rpc_requests_total", { method: "Subscribe", code: "resource_exhausted" })).toBe(rpcBefore + 1);
    } finally {
      abort.abort();
      await Promise.all(held);
    }
  });
});

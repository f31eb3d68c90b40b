/**
 * @connectrpc/connect-node: Connect (JSON, binary, GET), gRPC and gRPC-Web transports over
 * HTTP/1.1 and h2c, driven generically through Transport.unary/stream so every case runs on
 * every transport. Reflection runs on the HTTP/2 transports (bidi streams need HTTP/2).
 */
import { fromJson, toBinary, toJson, type DescMessage, type DescMethodBiDiStreaming, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import {
  Code,
  expectOutcome,
  expectReflectionAnswers,
  expectRpcLogged,
  noSideEffects,
  reflectionResponseFromBinary,
  REFLECTION_REQUESTS,
  STREAM_CASES,
  UNARY_CASES,
  type Detail,
  type Outcome,
} from "../../support/clients/expect.js";
import { startTestServer, type TestServer } from "../../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

interface Variant {
  name: string;
  /** What the server's RPC log calls the protocol. */
  protocol: "connect" | "grpc" | "grpc-web";
  http2: boolean;
  make(baseUrl: string): Transport;
  getOnly?: boolean;
}

const VARIANTS: Variant[] = [
  { name: "Connect JSON, HTTP/1.1", protocol: "connect", http2: false, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
  { name: "Connect binary, HTTP/1.1", protocol: "connect", http2: false, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }) },
  {
    name: "Connect JSON GET, HTTP/1.1",
    protocol: "connect",
    http2: false,
    getOnly: true,
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true }),
  },
  { name: "Connect JSON, h2c", protocol: "connect", http2: true, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }) },
  { name: "Connect binary, h2c", protocol: "connect", http2: true, make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }) },
  {
    name: "Connect binary GET, h2c",
    protocol: "connect",
    http2: true,
    getOnly: true,
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, useHttpGet: true }),
  },
  { name: "gRPC, h2c", protocol: "grpc", http2: true, make: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { name: "gRPC JSON codec, h2c", protocol: "grpc", http2: true, make: (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: false }) },
  { name: "gRPC-Web, HTTP/1.1", protocol: "grpc-web", http2: false, make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
  {
    name: "gRPC-Web JSON codec, HTTP/1.1",
    protocol: "grpc-web",
    http2: false,
    make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
  },
  { name: "gRPC-Web, h2c", protocol: "grpc-web", http2: true, make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }) },
];

function detailsOf(err: ConnectError): Detail[] {
  return err.details.flatMap((d) => ("desc" in d ? [] : [{ type: d.type, value: d.value }]));
}

for (const v of VARIANTS) {
  describe(`connect-node ${v.name}`, () => {
    let transport: Transport;
    beforeAll(() => {
      transport = v.make(server.url);
    });

    for (const c of UNARY_CASES) {
      if (v.getOnly && !noSideEffects(c.method)) continue;
      it(c.name, async () => {
        const since = server.logs.length;
        let outcome: Outcome;
        try {
          const res = await transport.unary(c.method, undefined, 5000, undefined, fromJson(c.method.input, c.request));
          outcome = { ok: true, response: toJsonOf(c.method.output, res.message) };
        } catch (e) {
          const err = ConnectError.from(e);
          outcome = { ok: false, code: err.code, message: err.rawMessage, details: detailsOf(err) };
        }
        expectOutcome(c, outcome);
        await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: v.protocol });
      });
    }

    if (v.getOnly) return;

    for (const c of STREAM_CASES) {
      it(`${c.name}; aborting cancels it on the server`, async () => {
        const since = server.logs.length;
        const ac = new AbortController();
        const res = await transport.stream(c.method, ac.signal, undefined, undefined, once(fromJson(c.method.input, c.request)));
        const it = res.message[Symbol.asyncIterator]();
        const first = await it.next();
        expect(first.done).toBe(false);
        expect(toJsonOf(c.method.output, first.value)).toEqual(c.first);
        ac.abort();
        const after = await it.next().then(
          () => undefined,
          (e) => ConnectError.from(e),
        );
        expect(after?.code).toBe(Code.Canceled);
        await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: v.protocol, code: "canceled" });
      });
    }

    for (const service of [ReflectionV1, ReflectionV1alpha]) {
      if (!v.http2) continue;
      it(`reflection ${service.typeName}: list services, file_containing_symbol with imports`, async () => {
        const method = service.method.serverReflectionInfo as DescMethodBiDiStreaming;
        const res = await transport.stream(method, undefined, 5000, undefined, fromAll(REFLECTION_REQUESTS.map((r) => fromJson(method.input, r))));
        const answers = [];
        for await (const m of res.message) answers.push(reflectionResponseFromBinary(toBinary(method.output, m)));
        expectReflectionAnswers(answers);
      });
    }
  });
}

function toJsonOf<D extends DescMessage>(schema: D, m: MessageShape<D>) {
  return toJson(schema, m);
}

async function* once<T>(v: T) {
  yield v;
}

async function* fromAll<T>(vs: T[]) {
  yield* vs;
}
